#include "services/usage.hpp"

#include "storage/customers.hpp"
#include "storage/events.hpp"
#include "storage/usage.hpp"

namespace neruba::services::usage {
namespace {

void add_raw_events(storage::Tx& tx, const TenantId& tenant, const domain::MeterDefinition& meter,
                    const std::string& customer_id, Instant from, Instant to, MeterUsage& usage) {
  if (from >= to) return;
  for (const auto& event :
       storage::events::range(tx, tenant, customer_id, meter.event_type, from, to)) {
    const auto properties = json::parse(event.properties);
    if (!properties) continue;
    const auto result = domain::contribute(meter, event.event_type, *properties);
    if (result.error != domain::ContributionError::none) continue;
    usage.total.add(result.contribution, event.occurred_at, event.event_id);
    usage.groups[result.contribution.group_key].add(result.contribution, event.occurred_at,
                                                    event.event_id);
  }
}

}  // namespace

MeterUsage meter_usage(storage::Tx& tx, const TenantId& tenant, const storage::MeterRecord& meter,
                       const std::string& customer_id, Instant from, Instant to) {
  MeterUsage usage{meter, {}, {}};
  if (from >= to) return usage;
  const auto& d = meter.definition;
  const Instant from_bucket = domain::usage_bucket_start(from);
  const Instant first_whole =
      from_bucket == from ? from : from_bucket + domain::usage_bucket_length;
  const Instant last_whole_end = domain::usage_bucket_start(to);
  if (first_whole >= last_whole_end) {
    add_raw_events(tx, tenant, d, customer_id, from, to, usage);
    return usage;
  }
  add_raw_events(tx, tenant, d, customer_id, from, first_whole, usage);
  for (const auto& bucket :
       storage::usage::buckets(tx, tenant, d.id, customer_id, first_whole, last_whole_end)) {
    usage.total.add(bucket.aggregate);
    usage.groups[bucket.group_key].add(bucket.aggregate);
  }
  if (d.aggregation == domain::Aggregation::unique_count) {
    for (const auto& value :
         storage::usage::distinct(tx, tenant, d.id, customer_id, first_whole, last_whole_end)) {
      usage.total.distinct.insert(value.value);
      usage.groups[value.group_key].distinct.insert(value.value);
    }
  }
  add_raw_events(tx, tenant, d, customer_id, last_whole_end, to, usage);
  return usage;
}

Result<CustomerUsage> customer_usage(storage::Tx& tx, const RequestContext& ctx,
                                     const std::string& external_id, Instant from, Instant to) {
  const TenantId& tenant = ctx.principal.tenant;
  const auto customer = storage::customers::find_by_external_id(tx, tenant, external_id);
  if (!customer) return Error::not_found("The customer");
  CustomerUsage out{external_id, from, to, {}};
  for (const auto& meter : storage::meters::list(tx, tenant)) {
    out.meters.push_back(meter_usage(tx, tenant, meter, customer->id.str(), from, to));
  }
  return out;
}

}  // namespace neruba::services::usage
