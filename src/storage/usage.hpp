#pragma once
// Pre-aggregated usage: one bucket per meter, customer, UTC hour and group, and the distinct
// values of unique_count meters.
#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "domain/metering.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

// One usage bucket: the aggregate of one meter, customer, hour and group.
// Group keys are stored as they are up to columns::group_key_length_max bytes; a longer one is
// stored in the key column as a digest, and in full beside it (group_value), so that every index
// takes it on every backend. Callers only ever see the full key.
struct UsageBucket {
  MeterId meter_id;
  std::string customer_id;
  Instant bucket_start;
  std::string group_key;  // canonical JSON of the group's values
  domain::Aggregate aggregate;
};

struct DistinctValue {
  MeterId meter_id;
  std::string customer_id;
  Instant bucket_start;
  std::string group_key;
  std::string value;  // domain::distinct_key() of the value
};

namespace usage {

// Sets each bucket's aggregate (found by its meter, customer, bucket and group) to the stored
// total, or leaves it as it is when none is stored.
void load_stored(Tx& tx, const TenantId& tenant, std::span<UsageBucket* const> buckets);
// store_buckets' conflict clause: a bucket's new total replaces the stored one.
inline constexpr std::string_view set_bucket_totals =
    "ON CONFLICT (tenant_id, meter_id, customer_id, bucket_start, group_key) DO UPDATE SET "
    "group_value = excluded.group_value, event_count = excluded.event_count, sum_value = "
    "excluded.sum_value, max_value = "
    "excluded.max_value, latest_at = excluded.latest_at, latest_event_id = "
    "excluded.latest_event_id, latest_value = excluded.latest_value";
// A tenant's partial aggregates of newly stored events (distinct keys), to add to its buckets.
struct TenantDeltas {
  const TenantId* tenant = nullptr;
  const std::vector<UsageBucket>* deltas = nullptr;
};
// Adds each tenant's deltas to their stored buckets, creating the buckets not stored yet — all or
// nothing over every tenant, under one savepoint however many there are: false, and nothing
// written, when a total would no longer fit the exact decimal type. Both backends merge in the
// upsert itself (exact decimal SQL functions: registered on each SQLite connection, created by
// migration v8 on PostgreSQL), so no bucket is read first. Take locks::bucket_merge for each
// tenant first.
[[nodiscard]] bool add_to_buckets(Tx& tx, std::span<const TenantDeltas> tenants);
// Writes each bucket's aggregate as its new total (insert or replace). Keys must be distinct. A
// total that does not fit is not possible here: the caller summed it in the Decimal type.
void store_buckets(Tx& tx, const TenantId& tenant, const std::vector<UsageBucket>& buckets);
void insert_distinct(Tx& tx, const TenantId& tenant, const std::vector<DistinctValue>& rows);
// Buckets of one meter and customer with bucket_start in [from, to).
std::vector<UsageBucket> buckets(Tx& tx, const TenantId& tenant, const MeterId& meter_id,
                                 const std::string& customer_id, Instant from, Instant to);
std::vector<DistinctValue> distinct(Tx& tx, const TenantId& tenant, const MeterId& meter_id,
                                    const std::string& customer_id, Instant from, Instant to);

// --- daily rollups ------------------------------------------------------------------------------
// Closed UTC days roll up into usage_daily (one row per meter, customer, day and group: the
// hourly buckets' aggregates merged), derived state that rebuild_rollups() makes anew from the
// hourly buckets. Per tenant, two instants: hourly bucket writes before `marked_until` mark their
// (meter, customer, day) stale; reads take the days before `rolled_until` from usage_daily, but
// the stale ones from their hours. unique_count meters roll up their counts; their distinct values
// stay hourly (usage_distinct).
inline constexpr std::chrono::microseconds usage_day_length = std::chrono::hours(24);
inline Instant usage_day_start(Instant at) { return std::chrono::floor<std::chrono::days>(at); }

struct RollupState {
  Instant marked_until;
  Instant rolled_until;
};
std::optional<RollupState> rollup_state(Tx& tx, const TenantId& tenant);
// Inserts or replaces the tenant's state. marked_until never moves back while rolled days exist:
// take locks::meters_shared and locks::bucket_merge first, so no bucket write runs meanwhile.
void set_rollup_state(Tx& tx, const TenantId& tenant, const RollupState& state);
// The earliest hourly bucket of the tenant, if any.
std::optional<Instant> first_bucket_start(Tx& tx, const TenantId& tenant);

// One customer's half-open range [from, to) of a set-based read. A customer may have several
// ranges in one read; they must not overlap.
struct UsageRange {
  std::string_view customer_id;
  Instant from;
  Instant to;
};
// Hourly buckets of one meter with bucket_start in one of the ranges: one statement for all of
// them (PostgreSQL: arrays joined to the key; SQLite: a JSON array joined likewise).
std::vector<UsageBucket> buckets_many(Tx& tx, const TenantId& tenant, const MeterId& meter_id,
                                      std::span<const UsageRange> ranges);
std::vector<DistinctValue> distinct_many(Tx& tx, const TenantId& tenant, const MeterId& meter_id,
                                         std::span<const UsageRange> ranges);
// Daily rollups (bucket_start = the UTC day) of one meter with the day in one of the ranges.
std::vector<UsageBucket> daily_many(Tx& tx, const TenantId& tenant, const MeterId& meter_id,
                                    std::span<const UsageRange> ranges);
// Stale days (customer, day start) of one meter within the ranges.
std::vector<std::pair<std::string, Instant>> stale_days_many(Tx& tx, const TenantId& tenant,
                                                             const MeterId& meter_id,
                                                             std::span<const UsageRange> ranges);
// Rolls up the days of each range (whole UTC days) from the hourly buckets: the days' rows are
// replaced, their stale marks removed; a day whose total would not fit the decimal type keeps no
// row and stays stale (read from its hours). Returns the daily rows written.
[[nodiscard]] std::size_t roll_up_days(Tx& tx, const TenantId& tenant, const MeterId& meter_id,
                                       std::span<const UsageRange> days);
// Removes the stale marks of one meter's days within the ranges (under the locks of
// rebuild_rollups, before rolling those days up again).
void clear_stale_days(Tx& tx, const TenantId& tenant, const MeterId& meter_id,
                      std::span<const UsageRange> days);
struct StaleDay {
  MeterId meter_id;
  std::string customer_id;
  Instant day_start;
};
// Up to `limit` stale days of the tenant before `before`, in key order.
std::vector<StaleDay> stale_days(Tx& tx, const TenantId& tenant, Instant before, std::size_t limit);
// Rebuilds every daily rollup of the tenant before its rolled_until from the hourly buckets
// (none when it has no rollup state): the repair for derived state that went wrong. Takes
// locks::meters_shared and locks::bucket_merge itself. Returns the daily rows written.
[[nodiscard]] std::size_t rebuild_rollups(Tx& tx, const TenantId& tenant);

}  // namespace usage

}  // namespace neruba::storage
