#pragma once
// Pre-aggregated usage: one bucket per meter, customer, UTC hour and group, and the distinct
// values of unique_count meters.
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

}  // namespace usage

}  // namespace neruba::storage
