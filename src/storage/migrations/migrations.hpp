#pragma once
// Versioned schema migrations, one file each, shared by both dialects. Every tenant-owned table
// leads its primary key and unique keys with tenant_id, so the schema can be distributed by tenant
// (DESIGN.md). Instants are BIGINT microseconds since the Unix epoch (UTC); JSON documents are
// TEXT. A migration is never edited once released: a change is a new migration.
#include <functional>
#include <string_view>
#include <vector>

#include "storage/db.hpp"

namespace neruba::storage::migrations {

struct Migration {
  int version;
  std::string_view name;
  std::vector<std::string_view> statements;
  // Runs after the statements, in the same transaction: data that SQL alone cannot move (exact
  // decimal arithmetic the same on both backends). Self-contained apart from the column
  // encodings (storage/columns.hpp): it must keep working however the repositories change later.
  std::function<void(Tx&)> data = nullptr;
};

Migration v001_foundation();
Migration v002_usage_events_meters();
Migration v003_usage_buckets();
Migration v004_events_by_customer_time();
Migration v005_usage_buckets_fillfactor();
Migration v006_events_by_customer_hour();
Migration v007_bytewise_identifiers();
Migration v008_decimal_merge_functions();
Migration v009_idempotency_claim_token();
Migration v010_usage_keys_every_index_takes();
Migration v011_plans();
Migration v012_subscriptions();
Migration v013_ledger();
Migration v014_billing();
Migration v015_usage_daily_rollups();
Migration v016_customer_grace_period();

// Every migration, in version order.
const std::vector<Migration>& all();

}  // namespace neruba::storage::migrations
