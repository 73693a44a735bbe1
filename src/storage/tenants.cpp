#include "storage/tenants.hpp"

#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::tenants {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view tenant_columns =
    "tenant_id, name, currency, timezone, settings, created_at";

TenantRecord tenant_from_row(const Row& row) {
  return TenantRecord{TenantId(row.text(0)),
                      row.text(1),
                      columns::stored_currency(row.text(2)),
                      row.text(3),
                      sql::parse_stored_json(row.text(4)),
                      from_unix_micros(row.integer(5))};
}

std::optional<TenantRecord> find_with(Tx& tx, const TenantId& id, std::string_view suffix) {
  const auto rows = tx.query(
      sql::select_from(tenant_columns, "FROM tenants WHERE tenant_id = $1" + std::string(suffix)),
      {id.str()});
  if (rows.empty()) return std::nullopt;
  return tenant_from_row(rows.front());
}

}  // namespace

bool insert(Tx& tx, const TenantRecord& t) {
  return tx.exec(
             "INSERT INTO tenants (tenant_id, name, currency, timezone, settings, created_at) "
             "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
             {t.id.str(), t.name, t.currency.code(), t.timezone, json::serialize(t.settings),
              to_unix_micros(t.created_at)}) == 1;
}

std::optional<TenantRecord> find(Tx& tx, const TenantId& id) { return find_with(tx, id, ""); }

std::optional<TenantRecord> find_for_update(Tx& tx, const TenantId& id) {
  return find_with(tx, id, tx.dialect() == Dialect::postgres ? " FOR UPDATE" : "");
}

std::vector<TenantRecord> list(Tx& tx, const std::string& after_id, std::size_t limit) {
  const auto rows =
      tx.query(sql::select_from(tenant_columns,
                                "FROM tenants WHERE tenant_id > $1 ORDER BY tenant_id LIMIT $2"),
               {after_id, static_cast<std::int64_t>(limit)});
  std::vector<TenantRecord> out;
  for (const auto& row : rows) out.push_back(tenant_from_row(row));
  return out;
}

bool update(Tx& tx, const TenantRecord& t) {
  return tx.exec(
             "UPDATE tenants SET name = $2, currency = $3, timezone = $4, settings = $5 WHERE "
             "tenant_id = $1",
             {t.id.str(), t.name, t.currency.code(), t.timezone, json::serialize(t.settings)}) == 1;
}

std::optional<AuditHead> lock_audit_head(Tx& tx, const TenantId& id) {
  const char* statement =
      tx.dialect() == Dialect::postgres
          ? "SELECT audit_seq, audit_head FROM tenants WHERE tenant_id = $1 FOR UPDATE"
          : "SELECT audit_seq, audit_head FROM tenants WHERE tenant_id = $1";
  const auto rows = tx.query(statement, {id.str()});
  if (rows.empty()) return std::nullopt;
  return AuditHead{rows.front().integer(0), rows.front().text(1)};
}

AuditHead audit_head(Tx& tx, const TenantId& id) {
  const auto rows =
      tx.query("SELECT audit_seq, audit_head FROM tenants WHERE tenant_id = $1", {id.str()});
  if (rows.empty()) return AuditHead{};
  return AuditHead{rows.front().integer(0), rows.front().text(1)};
}

bool set_audit_head(Tx& tx, const TenantId& id, const AuditHead& head) {
  return tx.exec("UPDATE tenants SET audit_seq = $2, audit_head = $3 WHERE tenant_id = $1",
                 {id.str(), head.seq, head.hash}) == 1;
}

}  // namespace neruba::storage::tenants
