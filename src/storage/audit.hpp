#pragma once
// The audit trail's rows (services/audit_log.hpp keeps the chain).
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "json/json.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct AuditRecord {
  TenantId tenant;
  std::int64_t seq = 0;
  AuditRecordId id;
  Instant time;
  std::string actor_type;  // api_key | admin | member
  std::string actor_id;
  std::string actor_name;
  std::string action;
  std::string target;
  std::optional<std::string> reason_code;
  std::optional<std::string> justification;
  std::string request_id;
  std::optional<json::Value> before;
  std::optional<json::Value> after;
  std::string prev_hash;
  std::string hash;
};

struct AuditFilter {
  std::optional<Instant> from;  // inclusive
  std::optional<Instant> to;    // exclusive
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<std::string> target;
  std::int64_t after_seq = 0;  // cursor
  std::size_t limit = 100;
};

namespace audit {
// Appends a record. The caller holds the tenant's chain head (tenants::lock_audit_head), so the
// seq is free; a taken seq is a broken invariant and throws.
void insert(Tx& tx, const AuditRecord& record);
// The records, in order, by multi-row INSERTs.
void insert_many(Tx& tx, const std::vector<AuditRecord>& records);
std::vector<AuditRecord> list(Tx& tx, const TenantId& tenant, const AuditFilter& filter);
// Records in seq order starting after `after_seq`, for verification in pages.
std::vector<AuditRecord> page(Tx& tx, const TenantId& tenant, std::int64_t after_seq,
                              std::size_t limit);
}  // namespace audit

}  // namespace neruba::storage
