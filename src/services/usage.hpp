#pragma once
// Usage reads (API.md "Usage"): exact usage of a customer over any window. Billing reads usage
// through meter_usage, the same function GET /v1/customers/{id}/usage answers with.
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "domain/metering.hpp"
#include "services/context.hpp"
#include "storage/db.hpp"
#include "storage/meters.hpp"

namespace neruba::services::usage {

struct MeterUsage {
  storage::MeterRecord meter;
  domain::UsageTotal total;
  std::map<std::string, domain::UsageTotal> groups;  // by group key (canonical JSON)
};

// Exact usage of one meter for one customer over [from, to): whole hours from the pre-aggregated
// buckets, partial hours at either edge from the raw events. Never fails for what was accepted:
// totals are exact however large (domain::UsageTotal).
MeterUsage meter_usage(storage::Tx& tx, const TenantId& tenant, const storage::MeterRecord& meter,
                       const std::string& customer_id, Instant from, Instant to);

struct CustomerUsage {
  std::string external_id;
  Instant from;
  Instant to;
  std::vector<MeterUsage> meters;  // every meter of the tenant, in code order
};

// GET /v1/customers/{external_id}/usage?from=&to=
Result<CustomerUsage> customer_usage(storage::Tx& tx, const RequestContext& ctx,
                                     const std::string& external_id, Instant from, Instant to);

}  // namespace neruba::services::usage
