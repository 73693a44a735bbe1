#include "storage/plans.hpp"

#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::plans {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view plan_columns =
    "tenant_id, plan_code, name, currency, billing_interval, created_at";

PlanRecord plan_from_row(const Row& row) {
  return PlanRecord{TenantId(row.text(0)), row.text(1),
                    row.text(2),           columns::stored_currency(row.text(3)),
                    row.text(4),           from_unix_micros(row.integer(5))};
}

std::optional<PlanRecord> find_with(Tx& tx, const TenantId& tenant, const std::string& code,
                                    std::string_view suffix) {
  const auto rows =
      tx.query(sql::select_from(plan_columns, "FROM plans WHERE tenant_id = $1 AND plan_code = $2" +
                                                  std::string(suffix)),
               {tenant.str(), code});
  if (rows.empty()) return std::nullopt;
  return plan_from_row(rows.front());
}

}  // namespace

bool insert(Tx& tx, const PlanRecord& p) {
  return tx.exec(
             "INSERT INTO plans (tenant_id, plan_code, name, currency, billing_interval, "
             "created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
             {p.tenant.str(), p.code, p.name, p.currency.code(), p.interval,
              to_unix_micros(p.created_at)}) == 1;
}

std::optional<PlanRecord> find(Tx& tx, const TenantId& tenant, const std::string& code) {
  return find_with(tx, tenant, code, "");
}

std::optional<PlanRecord> find_for_update(Tx& tx, const TenantId& tenant, const std::string& code) {
  return find_with(tx, tenant, code, tx.dialect() == Dialect::postgres ? " FOR UPDATE" : "");
}

std::optional<PlanRecord> find_for_key_share(Tx& tx, const TenantId& tenant,
                                             const std::string& code) {
  return find_with(tx, tenant, code, tx.dialect() == Dialect::postgres ? " FOR KEY SHARE" : "");
}

std::vector<PlanRecord> page(Tx& tx, const TenantId& tenant, const std::string& after_code,
                             std::size_t limit) {
  const auto rows = tx.query(
      sql::select_from(
          plan_columns,
          "FROM plans WHERE tenant_id = $1 AND plan_code > $2 ORDER BY plan_code LIMIT $3"),
      {tenant.str(), after_code, static_cast<std::int64_t>(limit)});
  std::vector<PlanRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(plan_from_row(row));
  return out;
}

bool rename(Tx& tx, const TenantId& tenant, const std::string& code, const std::string& name) {
  return tx.exec("UPDATE plans SET name = $3 WHERE tenant_id = $1 AND plan_code = $2",
                 {tenant.str(), code, name}) == 1;
}

bool insert_version(Tx& tx, const PlanVersionRecord& v) {
  return tx.exec(
             "INSERT INTO plan_versions (tenant_id, plan_code, version, effective_from, "
             "definition, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
             {v.tenant.str(), v.plan_code, v.version, to_unix_micros(v.effective_from),
              json::serialize_canonical(v.definition), to_unix_micros(v.created_at)}) == 1;
}

std::vector<PlanVersionRecord> versions(Tx& tx, const TenantId& tenant, const std::string& code) {
  const auto rows = tx.query(
      "SELECT tenant_id, plan_code, version, effective_from, definition, created_at FROM "
      "plan_versions WHERE tenant_id = $1 AND plan_code = $2 ORDER BY version",
      {tenant.str(), code});
  std::vector<PlanVersionRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back(PlanVersionRecord{
        TenantId(row.text(0)), row.text(1), row.integer(2), from_unix_micros(row.integer(3)),
        sql::parse_stored_json(row.text(4)), from_unix_micros(row.integer(5))});
  }
  return out;
}

}  // namespace neruba::storage::plans
