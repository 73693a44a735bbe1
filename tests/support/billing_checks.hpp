#pragma once
// What every billing test checks after it (issue 17): the tenant's ledger verify — the ledger's
// own rules and every issued invoice's ledger effect (services::billing::first_invoice_violation)
// — and its audit verify. Shared by the invoice data files (data_billing.cpp) and the model test.
#include <optional>
#include <string>

#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::test {

// The first violation in words, none when every check holds. Run in a read transaction.
std::optional<std::string> first_billing_violation(storage::Tx& tx, const TenantId& tenant);

}  // namespace neruba::test
