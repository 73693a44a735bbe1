#include "storage/billing_runs.hpp"

#include "domain/time.hpp"
#include "storage/columns.hpp"

namespace neruba::storage::billing_runs {

using domain::from_unix_micros;
using domain::to_unix_micros;

bool insert(Tx& tx, const BillingRunRecord& r) {
  return tx.exec(
             "INSERT INTO billing_runs (tenant_id, run_id, as_of, customer_id, finalize, "
             "customers, invoices_created, invoices_updated, invoices_finalized, started_at, "
             "completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO "
             "NOTHING",
             {r.tenant.str(), r.id, to_unix_micros(r.as_of),
              columns::optional_text(r.customer ? std::optional<std::string>(r.customer->str())
                                                : std::nullopt),
              std::int64_t{r.finalize ? 1 : 0}, r.customers, r.invoices_created, r.invoices_updated,
              r.invoices_finalized, to_unix_micros(r.started_at),
              to_unix_micros(r.completed_at)}) == 1;
}

std::optional<BillingRunRecord> find(Tx& tx, const TenantId& tenant, const std::string& id) {
  const auto rows = tx.query(
      "SELECT as_of, customer_id, finalize, customers, invoices_created, invoices_updated, "
      "invoices_finalized, started_at, completed_at FROM billing_runs WHERE tenant_id = $1 AND "
      "run_id = $2",
      {tenant.str(), id});
  if (rows.empty()) return std::nullopt;
  const Row& row = rows.front();
  return BillingRunRecord{
      tenant,
      id,
      from_unix_micros(row.integer(0)),
      row.is_null(1) ? std::nullopt : std::optional<CustomerId>(CustomerId(row.text(1))),
      row.integer(2) != 0,
      row.integer(3),
      row.integer(4),
      row.integer(5),
      row.integer(6),
      from_unix_micros(row.integer(7)),
      from_unix_micros(row.integer(8))};
}

}  // namespace neruba::storage::billing_runs
