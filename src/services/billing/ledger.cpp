#include "services/billing/ledger.hpp"

#include "storage/ledger.hpp"

namespace neruba::services::ledger {

std::optional<std::string> verify(storage::Tx& tx, const TenantId& tenant) {
  // The ledger's own invariants: balanced transactions, totals equal to their entries, balance
  // rules. (The invoice checks — every invoice's ledger effect equals its totals — come here.)
  return storage::ledger::first_violation(tx, tenant);
}

}  // namespace neruba::services::ledger
