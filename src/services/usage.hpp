#pragma once
// Usage reads (API.md "Usage"): exact usage of a customer over any window. Billing reads usage
// through meter_usage, the same function GET /v1/customers/{id}/usage answers with.
#include <map>
#include <span>
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

// Exact usage of one meter for one customer over [from, to): whole UTC days from the daily
// rollups (those rolled up and not stale), the other whole hours from the hourly buckets, partial
// hours at either edge from the raw events; unique_count values from the hourly distinct values.
// Never fails for what was accepted: totals are exact however large (domain::UsageTotal).
MeterUsage meter_usage(storage::Tx& tx, const TenantId& tenant, const storage::MeterRecord& meter,
                       const std::string& customer_id, Instant from, Instant to);

// One customer's window of a set-based read: [from, to).
struct CustomerWindow {
  std::string customer_id;  // the internal id (cus_…), as meter_usage takes it
  Instant from;
  Instant to;
};

// The usage of one meter for many customers, each over its own window: element i is exactly what
// meter_usage(tx, tenant, meter, windows[i].customer_id, windows[i].from, windows[i].to) returns.
// Windows are read sorted by customer, limits::usage_read_windows_per_chunk at a time, with a few
// statements per chunk (stale days, daily rollups, hourly buckets, distinct values, raw events at
// the edges) instead of per customer. A customer may have several windows, overlapping or not.
// For several meters, call it once per meter.
std::vector<MeterUsage> meter_usage_many(storage::Tx& tx, const TenantId& tenant,
                                         const storage::MeterRecord& meter,
                                         std::span<const CustomerWindow> windows);

struct RollupReport {
  Instant rolled_until;        // days before it are rolled up (zero when nothing to roll)
  std::size_t daily_rows = 0;  // rows written by this call
  std::size_t stale_days = 0;  // stale days rolled up again
};
// Rolls the tenant's closed UTC days (ended limits::usage_rollup_lag_minutes before `now`) up into
// the daily rollups, then re-rolls stale days; idempotent, safe to run on several nodes at once and
// to kill at any point. The billing run calls it for its tenant before reading usage; it is cheap
// when there is nothing new. Days roll customer page by customer page without holding the
// tenant's ingest lock; only the short marking and stale steps take it.
RollupReport roll_up(storage::Db& db, const TenantId& tenant, Instant now);

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
