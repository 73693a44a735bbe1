#include "services/billing/ledger.hpp"

#include "services/billing/billing.hpp"

namespace neruba::services::ledger {

std::optional<std::string> verify(storage::Tx& tx, const TenantId& tenant) {
  // The ledger's own invariants first: balanced transactions, totals equal to their entries,
  // balance rules; then every issued invoice's ledger effect against its totals.
  if (auto violation = storage::ledger::first_violation(tx, tenant)) return violation;
  return billing::first_invoice_violation(tx, tenant);
}

storage::ledger::LedgerSize size(storage::Tx& tx, const TenantId& tenant) {
  return storage::ledger::size(tx, tenant);
}

}  // namespace neruba::services::ledger
