#include "storage/repositories.hpp"

#include "domain/time.hpp"
#include "storage/columns.hpp"

namespace neruba::storage {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

using columns::optional_text;

Param optional_json(const std::optional<json::Value>& value) {
  if (value) return json::serialize(*value);
  return std::monostate{};
}

json::Value parse_stored_json(const std::string& text) {
  auto parsed = json::parse(text);
  if (!parsed)
    throw StorageError(StorageError::Kind::other,
                       "stored JSON is corrupt: " + parsed.error().detail);
  return std::move(parsed).value();
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& scope : scopes) {
    if (!out.empty()) out.push_back(' ');
    out += scope;
  }
  return out;
}

std::vector<std::string> split_scopes(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find(' ', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

constexpr std::string_view tenant_columns =
    "tenant_id, name, currency, timezone, settings, created_at";

TenantRecord tenant_from_row(const Row& row) {
  return TenantRecord{TenantId(row.text(0)),
                      row.text(1),
                      row.text(2),
                      row.text(3),
                      parse_stored_json(row.text(4)),
                      from_unix_micros(row.integer(5))};
}

ApiKeyRecord key_from_row(const Row& row) {
  ApiKeyRecord key{TenantId(row.text(0)),
                   ApiKeyId(row.text(1)),
                   row.text(2),
                   split_scopes(row.text(3)),
                   row.text(4),
                   row.text(5),
                   from_unix_micros(row.integer(6)),
                   std::nullopt};
  if (!row.is_null(7)) key.revoked_at = from_unix_micros(row.integer(7));
  return key;
}

constexpr std::string_view key_columns =
    "tenant_id, key_id, name, scopes, key_hash, key_prefix, created_at, revoked_at";

CustomerRecord customer_from_row(const Row& row) {
  return CustomerRecord{TenantId(row.text(0)),
                        CustomerId(row.text(1)),
                        row.text(2),
                        row.text(3),
                        row.text(4),
                        row.text(5),
                        parse_stored_json(row.text(6)),
                        from_unix_micros(row.integer(7))};
}

constexpr std::string_view customer_columns =
    "tenant_id, customer_id, external_id, name, currency, timezone, metadata, created_at";

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
  if (!row.is_null(12)) record.before = parse_stored_json(row.text(12));
  if (!row.is_null(13)) record.after = parse_stored_json(row.text(13));
  record.prev_hash = row.text(14);
  record.hash = row.text(15);
  return record;
}

std::string select_from(std::string_view columns, std::string_view rest) {
  std::string sql = "SELECT ";
  sql += columns;
  sql += ' ';
  sql += rest;
  return sql;
}

}  // namespace

namespace tenants {

bool insert(Tx& tx, const TenantRecord& t) {
  return tx.exec(
             "INSERT INTO tenants (tenant_id, name, currency, timezone, settings, created_at) "
             "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
             {t.id.str(), t.name, t.currency, t.timezone, json::serialize(t.settings),
              to_unix_micros(t.created_at)}) == 1;
}

std::optional<TenantRecord> find(Tx& tx, const TenantId& id) {
  const auto rows =
      tx.query(select_from(tenant_columns, "FROM tenants WHERE tenant_id = $1"), {id.str()});
  if (rows.empty()) return std::nullopt;
  return tenant_from_row(rows.front());
}

std::vector<TenantRecord> list(Tx& tx, const std::string& after_id, std::size_t limit) {
  const auto rows = tx.query(
      select_from(tenant_columns, "FROM tenants WHERE tenant_id > $1 ORDER BY tenant_id LIMIT $2"),
      {after_id, static_cast<std::int64_t>(limit)});
  std::vector<TenantRecord> out;
  for (const auto& row : rows) out.push_back(tenant_from_row(row));
  return out;
}

void update(Tx& tx, const TenantRecord& t) {
  tx.exec(
      "UPDATE tenants SET name = $2, currency = $3, timezone = $4, settings = $5 WHERE tenant_id = "
      "$1",
      {t.id.str(), t.name, t.currency, t.timezone, json::serialize(t.settings)});
}

std::optional<AuditHead> lock_audit_head(Tx& tx, const TenantId& id) {
  const char* sql =
      tx.dialect() == Dialect::postgres
          ? "SELECT audit_seq, audit_head FROM tenants WHERE tenant_id = $1 FOR UPDATE"
          : "SELECT audit_seq, audit_head FROM tenants WHERE tenant_id = $1";
  const auto rows = tx.query(sql, {id.str()});
  if (rows.empty()) return std::nullopt;
  return AuditHead{rows.front().integer(0), rows.front().text(1)};
}

AuditHead audit_head(Tx& tx, const TenantId& id) {
  const auto rows =
      tx.query("SELECT audit_seq, audit_head FROM tenants WHERE tenant_id = $1", {id.str()});
  if (rows.empty()) return AuditHead{};
  return AuditHead{rows.front().integer(0), rows.front().text(1)};
}

void set_audit_head(Tx& tx, const TenantId& id, const AuditHead& head) {
  tx.exec("UPDATE tenants SET audit_seq = $2, audit_head = $3 WHERE tenant_id = $1",
          {id.str(), head.seq, head.hash});
}

}  // namespace tenants

namespace api_keys {

void insert(Tx& tx, const ApiKeyRecord& k) {
  tx.exec(
      "INSERT INTO api_keys (tenant_id, key_id, name, scopes, key_hash, key_prefix, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {k.tenant.str(), k.id.str(), k.name, join_scopes(k.scopes), k.key_hash, k.key_prefix,
       to_unix_micros(k.created_at)});
}

std::optional<ApiKeyRecord> find_by_hash(Tx& tx, const TenantId& tenant,
                                         const std::string& key_hash) {
  const auto rows =
      tx.query(select_from(key_columns, "FROM api_keys WHERE tenant_id = $1 AND key_hash = $2"),
               {tenant.str(), key_hash});
  if (rows.empty()) return std::nullopt;
  return key_from_row(rows.front());
}

std::optional<ApiKeyRecord> find(Tx& tx, const TenantId& tenant, const ApiKeyId& id) {
  const auto rows =
      tx.query(select_from(key_columns, "FROM api_keys WHERE tenant_id = $1 AND key_id = $2"),
               {tenant.str(), id.str()});
  if (rows.empty()) return std::nullopt;
  return key_from_row(rows.front());
}

std::vector<ApiKeyRecord> list(Tx& tx, const TenantId& tenant, const std::string& after_id,
                               std::size_t limit) {
  const auto rows = tx.query(
      select_from(key_columns,
                  "FROM api_keys WHERE tenant_id = $1 AND key_id > $2 ORDER BY key_id LIMIT $3"),
      {tenant.str(), after_id, static_cast<std::int64_t>(limit)});
  std::vector<ApiKeyRecord> out;
  for (const auto& row : rows) out.push_back(key_from_row(row));
  return out;
}

void revoke(Tx& tx, const TenantId& tenant, const ApiKeyId& id, Instant at) {
  tx.exec(
      "UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND key_id = $2 AND revoked_at IS "
      "NULL",
      {tenant.str(), id.str(), to_unix_micros(at)});
}

}  // namespace api_keys

namespace customers {

bool insert(Tx& tx, const CustomerRecord& c) {
  return tx.exec(
             "INSERT INTO customers (tenant_id, customer_id, external_id, name, currency, "
             "timezone, "
             "metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
             {c.tenant.str(), c.id.str(), c.external_id, c.name, c.currency, c.timezone,
              json::serialize(c.metadata), to_unix_micros(c.created_at)}) == 1;
}

std::optional<CustomerRecord> find_by_external_id(Tx& tx, const TenantId& tenant,
                                                  const std::string& external_id) {
  const auto rows = tx.query(
      select_from(customer_columns, "FROM customers WHERE tenant_id = $1 AND external_id = $2"),
      {tenant.str(), external_id});
  if (rows.empty()) return std::nullopt;
  return customer_from_row(rows.front());
}

std::vector<CustomerRecord> list(Tx& tx, const TenantId& tenant,
                                 const std::string& after_external_id, std::size_t limit) {
  const auto rows = tx.query(
      select_from(
          customer_columns,
          "FROM customers WHERE tenant_id = $1 AND external_id > $2 ORDER BY external_id LIMIT $3"),
      {tenant.str(), after_external_id, static_cast<std::int64_t>(limit)});
  std::vector<CustomerRecord> out;
  for (const auto& row : rows) out.push_back(customer_from_row(row));
  return out;
}

}  // namespace customers

namespace audit {

void insert(Tx& tx, const AuditRecord& r) {
  tx.exec(
      "INSERT INTO audit_records (tenant_id, seq, record_id, occurred_at, actor_type, actor_id, "
      "actor_name, action, target, reason_code, justification, request_id, before_json, "
      "after_json, "
      "prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
      "$16)",
      {r.tenant.str(), r.seq, r.id.str(), to_unix_micros(r.time), r.actor_type, r.actor_id,
       r.actor_name, r.action, r.target, optional_text(r.reason_code),
       optional_text(r.justification), r.request_id, optional_json(r.before),
       optional_json(r.after), r.prev_hash, r.hash});
}

std::vector<AuditRecord> list(Tx& tx, const TenantId& tenant, const AuditFilter& f) {
  // Absent filters bind NULL and the `$n IS NULL OR …` arm keeps one statement for all shapes.
  const auto rows = tx.query(
      select_from(audit_columns,
                  "FROM audit_records WHERE tenant_id = $1 AND seq > $2 "
                  "AND (CAST($3 AS BIGINT) IS NULL OR occurred_at >= $3) "
                  "AND (CAST($4 AS BIGINT) IS NULL OR occurred_at < $4) "
                  "AND (CAST($5 AS TEXT) IS NULL OR actor_id = $5) "
                  "AND (CAST($6 AS TEXT) IS NULL OR action = $6) "
                  "AND (CAST($7 AS TEXT) IS NULL OR target = $7) ORDER BY seq LIMIT $8"),
      {tenant.str(), f.after_seq, f.from ? Param{to_unix_micros(*f.from)} : Param{},
       f.to ? Param{to_unix_micros(*f.to)} : Param{}, optional_text(f.actor),
       optional_text(f.action), optional_text(f.target), static_cast<std::int64_t>(f.limit)});
  std::vector<AuditRecord> out;
  for (const auto& row : rows) out.push_back(audit_from_row(row));
  return out;
}

std::vector<AuditRecord> page(Tx& tx, const TenantId& tenant, std::int64_t after_seq,
                              std::size_t limit) {
  const auto rows = tx.query(
      select_from(audit_columns,
                  "FROM audit_records WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
      {tenant.str(), after_seq, static_cast<std::int64_t>(limit)});
  std::vector<AuditRecord> out;
  for (const auto& row : rows) out.push_back(audit_from_row(row));
  return out;
}

}  // namespace audit

namespace idempotency {

std::optional<IdempotencyRecord> find(Tx& tx, const TenantId& scope, const std::string& key) {
  const char* sql =
      tx.dialect() == Dialect::postgres
          ? "SELECT request_hash, state, response_status, response_body, created_at, locked_until "
            "FROM "
            "idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 FOR UPDATE"
          : "SELECT request_hash, state, response_status, response_body, created_at, locked_until "
            "FROM "
            "idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2";
  const auto rows = tx.query(sql, {scope.str(), key});
  if (rows.empty()) return std::nullopt;
  const Row& row = rows.front();
  IdempotencyRecord record;
  record.request_hash = row.text(0);
  record.state = row.text(1) == "done" ? IdempotencyState::done : IdempotencyState::in_flight;
  if (!row.is_null(2)) record.response_status = static_cast<int>(row.integer(2));
  record.response_body = row.optional_text(3).value_or("");
  record.created_at = from_unix_micros(row.integer(4));
  record.locked_until = from_unix_micros(row.integer(5));
  return record;
}

bool insert_in_flight(Tx& tx, const TenantId& scope, const std::string& key,
                      const std::string& request_hash, Instant now, Instant locked_until) {
  return tx.exec(
             "INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_hash, state, "
             "created_at, "
             "locked_until) VALUES ($1, $2, $3, 'in_flight', $4, $5) ON CONFLICT DO NOTHING",
             {scope.str(), key, request_hash, to_unix_micros(now), to_unix_micros(locked_until)}) ==
         1;
}

void take_over(Tx& tx, const TenantId& scope, const std::string& key, Instant locked_until) {
  tx.exec(
      "UPDATE idempotency_keys SET locked_until = $3 WHERE tenant_id = $1 AND idempotency_key = $2",
      {scope.str(), key, to_unix_micros(locked_until)});
}

void complete(Tx& tx, const TenantId& scope, const std::string& key, int status,
              const std::string& body) {
  tx.exec(
      "UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4 "
      "WHERE tenant_id = $1 AND idempotency_key = $2",
      {scope.str(), key, std::int64_t{status}, body});
}

void release(Tx& tx, const TenantId& scope, const std::string& key) {
  tx.exec(
      "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 AND state = "
      "'in_flight'",
      {scope.str(), key});
}

std::int64_t purge_older_than(Tx& tx, Instant cutoff) {
  return tx.exec("DELETE FROM idempotency_keys WHERE created_at < $1 AND state = 'done'",
                 {to_unix_micros(cutoff)});
}

}  // namespace idempotency

}  // namespace neruba::storage
