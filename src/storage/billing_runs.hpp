#pragma once
// Billing runs (API.md POST /v1/billing-runs): what each run was asked and what it did. The
// invoices themselves carry exactly-once (storage/invoices.hpp); a run's row is its receipt.
#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct BillingRunRecord {
  TenantId tenant;
  std::string id;  // run_…
  Instant as_of;
  std::optional<CustomerId> customer;
  bool finalize = true;
  std::int64_t customers = 0;
  std::int64_t invoices_created = 0;
  std::int64_t invoices_updated = 0;
  std::int64_t invoices_finalized = 0;
  Instant started_at;
  Instant completed_at;
};

namespace billing_runs {
[[nodiscard]] bool insert(Tx& tx, const BillingRunRecord& run);
[[nodiscard]] std::optional<BillingRunRecord> find(Tx& tx, const TenantId& tenant,
                                                   const std::string& id);
}  // namespace billing_runs

}  // namespace neruba::storage
