#include "services/audit_log.hpp"

#include "common/assert.hpp"
#include "common/crypto.hpp"
#include "domain/time.hpp"
#include "storage/tenants.hpp"

namespace neruba::services::audit {
namespace {

constexpr std::size_t verify_page_size = 1000;

json::Value actor_json(const storage::AuditRecord& record) {
  json::Value actor = json::Value::object();
  actor.set("type", json::Value::string(record.actor_type));
  actor.set("id", json::Value::string(record.actor_id));
  actor.set("name", json::Value::string(record.actor_name));
  return actor;
}

// Everything a record says, except its own hash: the hashed content.
json::Value content_json(const storage::AuditRecord& record) {
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(record.id.str()));
  out.set("tenant", json::Value::string(record.tenant.str()));
  out.set("seq", json::Value::number(record.seq));
  out.set("time", json::Value::string(domain::format_rfc3339(record.time)));
  out.set("actor", actor_json(record));
  out.set("action", json::Value::string(record.action));
  out.set("target", json::Value::string(record.target));
  if (record.reason_code) out.set("reason_code", json::Value::string(*record.reason_code));
  if (record.justification) out.set("justification", json::Value::string(*record.justification));
  out.set("request_id", json::Value::string(record.request_id));
  if (record.before) out.set("before", *record.before);
  if (record.after) out.set("after", *record.after);
  out.set("prev_hash", json::Value::string(record.prev_hash));
  return out;
}

}  // namespace

std::string record_hash(const storage::AuditRecord& record) {
  return crypto::sha256_hex(json::serialize_canonical(content_json(record)));
}

json::Value to_json(const storage::AuditRecord& record) {
  json::Value out = content_json(record);
  out.set("hash", json::Value::string(record.hash));
  return out;
}

void append(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant, Entry entry) {
  std::vector<Entry> entries;
  entries.push_back(std::move(entry));
  append_many(tx, ctx, tenant, std::move(entries));
}

void append_many(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant,
                 std::vector<Entry> entries) {
  if (entries.empty()) return;
  const auto head = storage::tenants::lock_audit_head(tx, tenant);
  if (!head)
    throw storage::StorageError(storage::StorageError::Kind::other,
                                "audit append for unknown tenant");
  const Principal& who = ctx.principal;
  std::vector<storage::AuditRecord> records;
  records.reserve(entries.size());
  std::int64_t seq = head->seq;
  std::string prev = head->seq == 0 ? std::string(genesis_hash) : head->hash;
  for (auto& entry : entries) {
    storage::AuditRecord record;
    record.tenant = tenant;
    record.seq = ++seq;
    record.id =
        entry.id ? std::move(*entry.id) : AuditRecordId(ctx.new_id(id_prefix::audit_record));
    record.time = ctx.now;
    record.actor_type = who.is_admin() ? "admin" : "api_key";
    record.actor_id = who.is_admin() ? "admin" : who.key_id.str();
    record.actor_name =
        who.is_admin() ? (who.key_name.empty() ? "platform admin" : who.key_name) : who.key_name;
    record.action = std::move(entry.action);
    record.target = std::move(entry.target);
    record.reason_code = std::move(entry.reason_code);
    record.justification = entry.justification ? std::move(entry.justification) : who.justification;
    record.request_id = ctx.request_id;
    record.before = std::move(entry.before);
    record.after = std::move(entry.after);
    record.prev_hash = std::move(prev);
    record.hash = record_hash(record);
    prev = record.hash;
    records.push_back(std::move(record));
  }
  storage::audit::insert_many(tx, records);
  NERUBA_ASSERT_MSG(storage::tenants::set_audit_head(tx, tenant, storage::AuditHead{seq, prev}),
                    "the audit chain head of a locked tenant did not move");
}

VerifyReport verify(storage::Tx& tx, const TenantId& tenant) {
  VerifyReport report;
  std::string prev(genesis_hash);
  std::int64_t expected_seq = 1;
  const auto fail = [&](std::int64_t seq, std::string problem) {
    report.ok = false;
    report.first_broken_seq = seq;
    report.problem = std::move(problem);
    return report;
  };
  while (true) {
    const auto page = storage::audit::page(tx, tenant, expected_seq - 1, verify_page_size);
    for (const auto& record : page) {
      if (record.seq != expected_seq) {
        return fail(expected_seq, "record " + std::to_string(expected_seq) + " is missing");
      }
      const bool self_consistent = record_hash(record) == record.hash;
      if (record.prev_hash != prev) {
        // An intact record still names its predecessor's original hash: then the predecessor was
        // altered and re-hashed. Otherwise this record's own link was altered.
        if (self_consistent && record.seq > 1) {
          return fail(record.seq - 1,
                      "the record was altered and re-hashed: the next record's link disagrees");
        }
        return fail(record.seq, "prev_hash does not match the hash of the record before it");
      }
      if (!self_consistent) {
        return fail(record.seq, "content does not match its hash (the record was altered)");
      }
      prev = record.hash;
      report.head = record.hash;
      ++report.records;
      ++expected_seq;
    }
    if (page.size() < verify_page_size) break;
  }
  // The chain head kept on the tenant row catches deletion of the newest records.
  const auto head = storage::tenants::audit_head(tx, tenant);
  if (head.seq > report.records) {
    return fail(report.records + 1, "record " + std::to_string(report.records + 1) +
                                        " is missing (the chain head is at " +
                                        std::to_string(head.seq) + ")");
  }
  if (head.seq < report.records) {
    return fail(head.seq + 1, "record " + std::to_string(head.seq + 1) +
                                  " lies beyond the recorded chain head (it was inserted)");
  }
  if (head.seq == report.records && head.seq > 0 && head.hash != report.head) {
    return fail(head.seq, "the newest record does not match the recorded chain head");
  }
  return report;
}

Page<storage::AuditRecord> list(storage::Tx& tx, const RequestContext& ctx,
                                storage::AuditFilter filter) {
  const std::size_t limit = filter.limit;
  filter.limit = limit + 1;  // one more tells whether another page exists
  return page_of(storage::audit::list(tx, ctx.principal.tenant, filter), limit,
                 [](const storage::AuditRecord& record) { return std::to_string(record.seq); });
}

}  // namespace neruba::services::audit
