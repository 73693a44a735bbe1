#include "support/billing_checks.hpp"

#include "services/audit_log.hpp"
#include "services/billing/billing.hpp"
#include "services/billing/ledger.hpp"

namespace neruba::test {

std::optional<std::string> first_billing_violation(storage::Tx& tx, const TenantId& tenant) {
  if (auto violation = services::ledger::verify(tx, tenant)) return "ledger verify: " + *violation;
  if (auto violation = services::billing::first_invoice_violation(tx, tenant)) {
    return "ledger verify (invoices): " + *violation;
  }
  const auto audit = services::audit::verify(tx, tenant);
  if (!audit.ok) {
    return "audit verify, record " + std::to_string(audit.first_broken_seq.value_or(0)) + ": " +
           audit.problem;
  }
  return std::nullopt;
}

}  // namespace neruba::test
