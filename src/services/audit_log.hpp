#pragma once
// The append-only, hash-chained audit trail. Records are written in the same transaction as the
// change they describe; each record's hash covers its canonical content and the previous hash, so
// an edit, deletion or reordering of rows is detectable and located by verify().
#include <optional>
#include <string>

#include "common/error.hpp"
#include "services/context.hpp"
#include "services/page.hpp"
#include "storage/audit.hpp"
#include "storage/db.hpp"

namespace neruba::services::audit {

inline constexpr std::string_view genesis_hash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct Entry {
  std::string action;  // "customer.created"
  std::string target;  // "cus_…"
  std::optional<json::Value> before;
  std::optional<json::Value> after;
  std::optional<std::string> reason_code;
  std::optional<std::string> justification;
  // The record's id when the caller took it already (a batch appended later keeps the order of
  // the ids it was given); a new one otherwise.
  std::optional<AuditRecordId> id;
};

// Appends one record to `tenant`'s chain inside `tx` (locks the tenant's chain head).
void append(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant, Entry entry);
// Appends the entries, in order, as one batch: one chain-head lock and multi-row inserts.
void append_many(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant,
                 std::vector<Entry> entries);

// The hash of a record given its content and prev_hash (pure; used by append and verify).
std::string record_hash(const storage::AuditRecord& record);
// A record as the API shows it: its canonical content and its hash.
json::Value to_json(const storage::AuditRecord& record);

struct VerifyReport {
  bool ok = true;
  std::int64_t records = 0;
  std::string head;  // hash of the last good record
  std::optional<std::int64_t> first_broken_seq;
  std::string problem;  // why the first broken record is broken
};

VerifyReport verify(storage::Tx& tx, const TenantId& tenant);

// GET /v1/audit with its filters (from, to, actor, action, target, limit, cursor).
Page<storage::AuditRecord> list(storage::Tx& tx, const RequestContext& ctx,
                                storage::AuditFilter filter);

}  // namespace neruba::services::audit
