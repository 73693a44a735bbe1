#include "storage/credit_grants.hpp"

#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::credit_grants {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view grant_columns =
    "tenant_id, grant_id, customer_id, kind, currency, amount, remaining, priority, expires_at, "
    "expired_at, reason_code, source, source_id, created_at";

std::optional<Instant> optional_instant(const Row& row, std::size_t i) {
  if (row.is_null(i)) return std::nullopt;
  return from_unix_micros(row.integer(i));
}

Param optional_micros(const std::optional<Instant>& at) {
  if (at) return to_unix_micros(*at);
  return std::monostate{};
}

std::vector<CreditGrantRecord> grants_from(const Rows& rows) {
  std::vector<CreditGrantRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back(CreditGrantRecord{TenantId(row.text(0)), row.text(1), CustomerId(row.text(2)),
                                    row.text(3), row.text(4), row.integer(5), row.integer(6),
                                    row.integer(7), optional_instant(row, 8),
                                    optional_instant(row, 9), row.optional_text(10), row.text(11),
                                    row.optional_text(12), from_unix_micros(row.integer(13))});
  }
  return out;
}

}  // namespace

bool insert(Tx& tx, const CreditGrantRecord& g) {
  return tx.exec(
             "INSERT INTO credit_grants (tenant_id, grant_id, customer_id, kind, currency, amount, "
             "remaining, priority, expires_at, expired_at, reason_code, source, source_id, "
             "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON "
             "CONFLICT DO NOTHING",
             {g.tenant.str(), g.id, g.customer.str(), g.kind, g.currency, g.amount_minor,
              g.remaining_minor, g.priority, optional_micros(g.expires_at),
              optional_micros(g.expired_at), columns::optional_text(g.reason_code), g.source,
              columns::optional_text(g.source_id), to_unix_micros(g.created_at)}) == 1;
}

std::vector<CreditGrantRecord> drawable(Tx& tx, const TenantId& tenant, const CustomerId& customer,
                                        const std::string& currency) {
  // Draw order (issue 17): priority, then earliest expiry (a grant that never expires last), then
  // the oldest grant; the id settles grants created in the same microsecond.
  return grants_from(tx.query(
      sql::select_from(grant_columns,
                       "FROM credit_grants WHERE tenant_id = $1 AND customer_id = $2 AND currency "
                       "= $3 AND remaining > 0 AND expired_at IS NULL ORDER BY priority, CASE "
                       "WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, created_at, "
                       "grant_id"),
      {tenant.str(), customer.str(), currency}));
}

std::set<CustomerId> holders_between(Tx& tx, const TenantId& tenant, const CustomerId& first,
                                     const CustomerId& last) {
  std::set<CustomerId> out;
  for (const auto& row :
       tx.query("SELECT DISTINCT customer_id FROM credit_grants WHERE tenant_id = $1 AND "
                "customer_id >= $2 AND customer_id <= $3 AND expired_at IS NULL",
                {tenant.str(), first.str(), last.str()})) {
    out.insert(CustomerId(row.text(0)));
  }
  return out;
}

std::vector<CreditGrantRecord> due_to_expire(Tx& tx, const TenantId& tenant,
                                             const CustomerId& customer, Instant at) {
  return grants_from(tx.query(
      sql::select_from(grant_columns,
                       "FROM credit_grants WHERE tenant_id = $1 AND customer_id = $2 AND "
                       "expired_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $3 ORDER "
                       "BY expires_at, grant_id"),
      {tenant.str(), customer.str(), to_unix_micros(at)}));
}

std::vector<CreditGrantRecord> of_customer(Tx& tx, const TenantId& tenant,
                                           const CustomerId& customer) {
  return grants_from(tx.query(
      sql::select_from(grant_columns,
                       "FROM credit_grants WHERE tenant_id = $1 AND customer_id = $2 ORDER BY "
                       "created_at, grant_id"),
      {tenant.str(), customer.str()}));
}

bool draw(Tx& tx, const TenantId& tenant, const std::string& id, std::int64_t amount_minor) {
  return tx.exec(
             "UPDATE credit_grants SET remaining = remaining - $3 WHERE tenant_id = $1 AND "
             "grant_id = $2 AND expired_at IS NULL AND $3 > 0 AND remaining >= $3",
             {tenant.str(), id, amount_minor}) == 1;
}

bool restore(Tx& tx, const TenantId& tenant, const std::string& id, std::int64_t amount_minor) {
  return tx.exec(
             "UPDATE credit_grants SET remaining = remaining + $3 WHERE tenant_id = $1 AND "
             "grant_id = $2 AND $3 > 0 AND remaining + $3 <= amount",
             {tenant.str(), id, amount_minor}) == 1;
}

bool expire(Tx& tx, const TenantId& tenant, const std::string& id, Instant at) {
  return tx.exec(
             "UPDATE credit_grants SET remaining = 0, expired_at = $3 WHERE tenant_id = $1 AND "
             "grant_id = $2 AND expired_at IS NULL",
             {tenant.str(), id, to_unix_micros(at)}) == 1;
}

bool insert_draw(Tx& tx, const TenantId& tenant, const CreditDrawRecord& d) {
  return tx.exec(
             "INSERT INTO credit_draws (tenant_id, invoice_id, grant_id, draw_index, amount) "
             "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
             {tenant.str(), d.invoice, d.grant, d.index, d.amount_minor}) == 1;
}

std::vector<CreditDrawRecord> draws_of(Tx& tx, const TenantId& tenant, const std::string& invoice) {
  auto many = draws_of_many(tx, tenant, std::span(&invoice, 1));
  if (many.empty()) return {};
  return std::move(many.begin()->second);
}

std::map<std::string, std::vector<CreditDrawRecord>, std::less<>> draws_of_many(
    Tx& tx, const TenantId& tenant, std::span<const std::string> invoices) {
  std::map<std::string, std::vector<CreditDrawRecord>, std::less<>> out;
  sql::query_in(tx,
                "SELECT invoice_id, grant_id, draw_index, amount FROM credit_draws WHERE "
                "tenant_id = $1 AND invoice_id",
                " ORDER BY invoice_id, draw_index", {tenant.str()}, invoices,
                [&](const Rows& rows) {
                  for (const auto& row : rows) {
                    out[row.text(0)].push_back(
                        CreditDrawRecord{row.text(0), row.text(1), row.integer(2), row.integer(3)});
                  }
                });
  return out;
}

}  // namespace neruba::storage::credit_grants
