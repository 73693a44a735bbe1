#include "storage/payments.hpp"

#include "domain/time.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::payments {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view payment_columns =
    "tenant_id, payment_id, invoice_id, customer_id, provider, provider_payment_id, currency, "
    "amount, applied, excess, created_at";

std::vector<PaymentRecord> payments_from(const Rows& rows) {
  std::vector<PaymentRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back(PaymentRecord{TenantId(row.text(0)), row.text(1), row.text(2),
                                CustomerId(row.text(3)), row.text(4), row.text(5), row.text(6),
                                row.integer(7), row.integer(8), row.integer(9),
                                from_unix_micros(row.integer(10))});
  }
  return out;
}

}  // namespace

bool insert(Tx& tx, const PaymentRecord& p) {
  return tx.exec(
             "INSERT INTO payments (tenant_id, payment_id, invoice_id, customer_id, provider, "
             "provider_payment_id, currency, amount, applied, excess, created_at) VALUES ($1, $2, "
             "$3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
             {p.tenant.str(), p.id, p.invoice, p.customer.str(), p.provider, p.provider_payment_id,
              p.currency, p.amount_minor, p.applied_minor, p.excess_minor,
              to_unix_micros(p.created_at)}) == 1;
}

std::optional<PaymentRecord> find_by_provider_id(Tx& tx, const TenantId& tenant,
                                                 const std::string& provider,
                                                 const std::string& provider_payment_id) {
  auto rows = payments_from(
      tx.query(sql::select_from(payment_columns,
                                "FROM payments WHERE tenant_id = $1 AND provider = $2 AND "
                                "provider_payment_id = $3"),
               {tenant.str(), provider, provider_payment_id}));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<PaymentRecord> of_invoice(Tx& tx, const TenantId& tenant, const std::string& invoice) {
  auto many = of_invoices(tx, tenant, std::span(&invoice, 1));
  if (many.empty()) return {};
  return std::move(many.begin()->second);
}

std::map<std::string, std::vector<PaymentRecord>, std::less<>> of_invoices(
    Tx& tx, const TenantId& tenant, std::span<const std::string> invoices) {
  std::map<std::string, std::vector<PaymentRecord>, std::less<>> out;
  sql::query_in(
      tx, sql::select_from(payment_columns, "FROM payments WHERE tenant_id = $1 AND invoice_id"),
      " ORDER BY invoice_id, created_at, payment_id", {tenant.str()}, invoices,
      [&](const Rows& rows) {
        for (auto& payment : payments_from(rows)) {
          auto& of = out[payment.invoice];
          of.push_back(std::move(payment));
        }
      });
  return out;
}

}  // namespace neruba::storage::payments
