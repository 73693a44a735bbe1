#include "storage/audit.hpp"

#include "common/assert.hpp"
#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::audit {
namespace {

using columns::optional_text;
using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view audit_columns =
    "tenant_id, seq, record_id, occurred_at, actor_type, actor_id, actor_name, action, target, "
    "reason_code, justification, request_id, before_json, after_json, prev_hash, hash";

AuditRecord audit_from_row(const Row& row) {
  AuditRecord record;
  record.tenant = TenantId(row.text(0));
  record.seq = row.integer(1);
  record.id = AuditRecordId(row.text(2));
  record.time = from_unix_micros(row.integer(3));
  record.actor_type = row.text(4);
  record.actor_id = row.text(5);
  record.actor_name = row.text(6);
  record.action = row.text(7);
  record.target = row.text(8);
  record.reason_code = row.optional_text(9);
  record.justification = row.optional_text(10);
  record.request_id = row.text(11);
  if (!row.is_null(12)) record.before = sql::parse_stored_json(row.text(12));
  if (!row.is_null(13)) record.after = sql::parse_stored_json(row.text(13));
  record.prev_hash = row.text(14);
  record.hash = row.text(15);
  return record;
}

std::vector<AuditRecord> records_of(const Rows& rows) {
  std::vector<AuditRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(audit_from_row(row));
  return out;
}

}  // namespace

void insert(Tx& tx, const AuditRecord& record) { insert_many(tx, {record}); }

void insert_many(Tx& tx, const std::vector<AuditRecord>& records) {
  const std::int64_t written = sql::insert_rows<AuditRecord>(
      tx,
      "INSERT INTO audit_records (tenant_id, seq, record_id, occurred_at, actor_type, actor_id, "
      "actor_name, action, target, reason_code, justification, request_id, before_json, "
      "after_json, prev_hash, hash)",
      "", 16, records, [](const AuditRecord& r, std::vector<Param>& p) {
        p.emplace_back(r.tenant.str());
        p.emplace_back(r.seq);
        p.emplace_back(r.id.str());
        p.emplace_back(to_unix_micros(r.time));
        p.emplace_back(TextRef{r.actor_type});
        p.emplace_back(TextRef{r.actor_id});
        p.emplace_back(TextRef{r.actor_name});
        p.emplace_back(TextRef{r.action});
        p.emplace_back(TextRef{r.target});
        p.emplace_back(optional_text(r.reason_code));
        p.emplace_back(optional_text(r.justification));
        p.emplace_back(TextRef{r.request_id});
        p.emplace_back(sql::optional_json(r.before));
        p.emplace_back(sql::optional_json(r.after));
        p.emplace_back(TextRef{r.prev_hash});
        p.emplace_back(TextRef{r.hash});
      });
  NERUBA_ASSERT_MSG(written == static_cast<std::int64_t>(records.size()),
                    "an audit record row was not written");
}

std::vector<AuditRecord> list(Tx& tx, const TenantId& tenant, const AuditFilter& f) {
  // Absent filters bind NULL and the `$n IS NULL OR …` arm keeps one statement for all shapes.
  return records_of(tx.query(
      sql::select_from(audit_columns,
                       "FROM audit_records WHERE tenant_id = $1 AND seq > $2 "
                       "AND (CAST($3 AS BIGINT) IS NULL OR occurred_at >= $3) "
                       "AND (CAST($4 AS BIGINT) IS NULL OR occurred_at < $4) "
                       "AND (CAST($5 AS TEXT) IS NULL OR actor_id = $5) "
                       "AND (CAST($6 AS TEXT) IS NULL OR action = $6) "
                       "AND (CAST($7 AS TEXT) IS NULL OR target = $7) ORDER BY seq LIMIT $8"),
      {tenant.str(), f.after_seq, f.from ? Param{to_unix_micros(*f.from)} : Param{},
       f.to ? Param{to_unix_micros(*f.to)} : Param{}, optional_text(f.actor),
       optional_text(f.action), optional_text(f.target), static_cast<std::int64_t>(f.limit)}));
}

std::vector<AuditRecord> page(Tx& tx, const TenantId& tenant, std::int64_t after_seq,
                              std::size_t limit) {
  return records_of(
      tx.query(sql::select_from(
                   audit_columns,
                   "FROM audit_records WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
               {tenant.str(), after_seq, static_cast<std::int64_t>(limit)}));
}

}  // namespace neruba::storage::audit
