#include "storage/customers.hpp"

#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::customers {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view customer_columns =
    "tenant_id, customer_id, external_id, name, currency, timezone, metadata, created_at, "
    "invoice_grace_period_days";

CustomerRecord customer_from_row(const Row& row) {
  return CustomerRecord{TenantId(row.text(0)),
                        CustomerId(row.text(1)),
                        row.text(2),
                        row.text(3),
                        columns::stored_currency(row.text(4)),
                        row.text(5),
                        sql::parse_stored_json(row.text(6)),
                        from_unix_micros(row.integer(7)),
                        columns::stored_optional_integer(row, 8)};
}

std::optional<CustomerRecord> find_where(Tx& tx, const TenantId& tenant, std::string_view where,
                                         const std::string& key, std::string_view lock = "") {
  const auto rows = tx.query(
      sql::select_from(customer_columns, "FROM customers WHERE tenant_id = $1 AND " +
                                             std::string(where) + " = $2" + std::string(lock)),
      {tenant.str(), key});
  if (rows.empty()) return std::nullopt;
  return customer_from_row(rows.front());
}

}  // namespace

bool insert(Tx& tx, const CustomerRecord& c) {
  return tx.exec(
             "INSERT INTO customers (tenant_id, customer_id, external_id, name, currency, "
             "timezone, metadata, created_at, invoice_grace_period_days) VALUES ($1, $2, $3, $4, "
             "$5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
             {c.tenant.str(), c.id.str(), c.external_id, c.name, c.currency.code(), c.timezone,
              json::serialize(c.metadata), to_unix_micros(c.created_at),
              columns::optional_integer(c.invoice_grace_period_days)}) == 1;
}

std::optional<CustomerRecord> find_by_external_id(Tx& tx, const TenantId& tenant,
                                                  const std::string& external_id) {
  return find_where(tx, tenant, "external_id", external_id);
}

std::optional<CustomerRecord> find_by_external_id_for_update(Tx& tx, const TenantId& tenant,
                                                             const std::string& external_id) {
  return find_where(tx, tenant, "external_id", external_id,
                    tx.dialect() == Dialect::postgres ? " FOR NO KEY UPDATE" : "");
}

std::optional<CustomerRecord> find(Tx& tx, const TenantId& tenant, const CustomerId& id) {
  return find_where(tx, tenant, "customer_id", id.str());
}

std::optional<CustomerRecord> find_for_update(Tx& tx, const TenantId& tenant,
                                              const CustomerId& id) {
  return find_where(tx, tenant, "customer_id", id.str(),
                    tx.dialect() == Dialect::postgres ? " FOR NO KEY UPDATE" : "");
}

std::vector<CustomerRecord> lock_by_id_after(Tx& tx, const TenantId& tenant,
                                             const CustomerId& after_id, std::size_t limit) {
  // Rows are locked in the order the statement returns them, customer id order: two lockers of
  // overlapping chunks wait for each other rather than deadlock.
  const auto rows =
      tx.query(sql::select_from(
                   customer_columns,
                   "FROM customers WHERE tenant_id = $1 AND customer_id > $2 ORDER BY "
                   "customer_id LIMIT $3" +
                       std::string(tx.dialect() == Dialect::postgres ? " FOR NO KEY UPDATE" : "")),
               {tenant.str(), after_id.str(), static_cast<std::int64_t>(limit)});
  std::vector<CustomerRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(customer_from_row(row));
  return out;
}

std::map<CustomerId, CustomerRecord> find_many(Tx& tx, const TenantId& tenant,
                                               std::span<const CustomerId> ids) {
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const auto& id : ids) keys.push_back(id.str());
  std::map<CustomerId, CustomerRecord> out;
  sql::query_in(
      tx, sql::select_from(customer_columns, "FROM customers WHERE tenant_id = $1 AND customer_id"),
      "", {tenant.str()}, keys, [&](const Rows& rows) {
        for (const auto& row : rows) {
          auto customer = customer_from_row(row);
          const CustomerId id = customer.id;
          out.emplace(id, std::move(customer));
        }
      });
  return out;
}

std::vector<CustomerRecord> list(Tx& tx, const TenantId& tenant,
                                 const std::string& after_external_id, std::size_t limit) {
  const auto rows =
      tx.query(sql::select_from(customer_columns,
                                "FROM customers WHERE tenant_id = $1 AND external_id > $2 ORDER BY "
                                "external_id LIMIT $3"),
               {tenant.str(), after_external_id, static_cast<std::int64_t>(limit)});
  std::vector<CustomerRecord> out;
  for (const auto& row : rows) out.push_back(customer_from_row(row));
  return out;
}

bool set_invoice_grace_period_days(Tx& tx, const TenantId& tenant, const CustomerId& id,
                                   std::optional<std::int64_t> days) {
  return tx.exec(
             "UPDATE customers SET invoice_grace_period_days = $3 WHERE tenant_id = $1 AND "
             "customer_id = $2",
             {tenant.str(), id.str(), columns::optional_integer(days)}) == 1;
}

}  // namespace neruba::storage::customers
