#pragma once
// The ledger's use cases that the CLI (`neruba ledger verify`) and the HTTP API share (issue 17).
#include <optional>
#include <string>

#include "common/ids.hpp"
#include "storage/db.hpp"
#include "storage/ledger.hpp"

namespace neruba::services::ledger {

// The first violation of the tenant's ledger, in words that name the transaction or account it
// is about; none when every rule holds. Run it in a read transaction: it reads the ledger a page
// at a time and wants one snapshot of it.
std::optional<std::string> verify(storage::Tx& tx, const TenantId& tenant);

// How many transactions and accounts the tenant's ledger holds: what a clean verify vouched for.
storage::ledger::LedgerSize size(storage::Tx& tx, const TenantId& tenant);

}  // namespace neruba::services::ledger
