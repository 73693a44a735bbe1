#include "support/billing_checks.hpp"

#include "services/audit_log.hpp"
#include "services/billing/ledger.hpp"

namespace neruba::test {

std::optional<std::string> first_billing_violation(storage::Tx& tx, const TenantId& tenant) {
  // services::ledger::verify checks the ledger's own rules, then every issued invoice against it.
  if (auto violation = services::ledger::verify(tx, tenant)) return "ledger verify: " + *violation;
  const auto audit = services::audit::verify(tx, tenant);
  if (!audit.ok) {
    return "audit verify, record " + std::to_string(audit.first_broken_seq.value_or(0)) + ": " +
           audit.problem;
  }
  return std::nullopt;
}

}  // namespace neruba::test
