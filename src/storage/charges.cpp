#include "storage/charges.hpp"

#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::charges {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view charge_columns =
    "tenant_id, charge_id, customer_id, charge_key, kind, amount, currency, description, "
    "created_at, invoice_id";

std::vector<ChargeRecord> charges_from(const Rows& rows) {
  std::vector<ChargeRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back(ChargeRecord{TenantId(row.text(0)), row.text(1), CustomerId(row.text(2)),
                               row.text(3), row.text(4), row.integer(5), row.text(6), row.text(7),
                               from_unix_micros(row.integer(8)), row.optional_text(9)});
  }
  return out;
}

}  // namespace

bool insert(Tx& tx, const ChargeRecord& c) {
  return tx.exec(
             "INSERT INTO charges (tenant_id, charge_id, customer_id, charge_key, kind, amount, "
             "currency, description, created_at, invoice_id) VALUES ($1, $2, $3, $4, $5, $6, $7, "
             "$8, $9, $10) ON CONFLICT DO NOTHING",
             {c.tenant.str(), c.id, c.customer.str(), c.charge_key, c.kind, c.amount_minor,
              c.currency, c.description, to_unix_micros(c.created_at),
              columns::optional_text(c.invoice)}) == 1;
}

std::optional<ChargeRecord> find_by_key(Tx& tx, const TenantId& tenant, const CustomerId& customer,
                                        const std::string& charge_key) {
  auto rows = charges_from(
      tx.query(sql::select_from(
                   charge_columns,
                   "FROM charges WHERE tenant_id = $1 AND customer_id = $2 AND charge_key = $3"),
               {tenant.str(), customer.str(), charge_key}));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<ChargeRecord> pending(Tx& tx, const TenantId& tenant, const CustomerId& customer,
                                  Instant until) {
  return charges_from(tx.query(
      sql::select_from(charge_columns,
                       "FROM charges WHERE tenant_id = $1 AND customer_id = $2 AND invoice_id IS "
                       "NULL AND created_at <= $3 ORDER BY created_at, charge_id"),
      {tenant.str(), customer.str(), to_unix_micros(until)}));
}

std::set<CustomerId> pending_between(Tx& tx, const TenantId& tenant, const CustomerId& first,
                                     const CustomerId& last, Instant until) {
  std::set<CustomerId> out;
  for (const auto& row :
       tx.query("SELECT DISTINCT customer_id FROM charges WHERE tenant_id = $1 AND customer_id >= "
                "$2 AND customer_id <= $3 AND invoice_id IS NULL AND created_at <= $4",
                {tenant.str(), first.str(), last.str(), to_unix_micros(until)})) {
    out.insert(CustomerId(row.text(0)));
  }
  return out;
}

std::vector<ChargeRecord> on_invoice(Tx& tx, const TenantId& tenant, const std::string& invoice) {
  return charges_from(
      tx.query(sql::select_from(charge_columns,
                                "FROM charges WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY "
                                "created_at, charge_id"),
               {tenant.str(), invoice}));
}

bool attach(Tx& tx, const TenantId& tenant, const std::string& id, const std::string& invoice) {
  return tx.exec(
             "UPDATE charges SET invoice_id = $3 WHERE tenant_id = $1 AND charge_id = $2 AND "
             "invoice_id IS NULL",
             {tenant.str(), id, invoice}) == 1;
}

}  // namespace neruba::storage::charges
