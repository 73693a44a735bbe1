#include "services/billing/ledger.hpp"

namespace neruba::services::ledger {

std::optional<std::string> verify(storage::Tx& tx, const TenantId& tenant) {
  // The ledger's own invariants: balanced transactions, totals equal to their entries, balance
  // rules. (The invoice checks — every invoice's ledger effect equals its totals — come here.)
  return storage::ledger::first_violation(tx, tenant);
}

storage::ledger::LedgerSize size(storage::Tx& tx, const TenantId& tenant) {
  return storage::ledger::size(tx, tenant);
}

}  // namespace neruba::services::ledger
