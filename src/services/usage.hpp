#pragma once
// Meters and usage reads (API.md "Usage").
#include "common/error.hpp"
#include "domain/metering.hpp"
#include "services/context.hpp"
#include "storage/db.hpp"
#include "storage/usage_repository.hpp"

namespace neruba::services::usage {

// POST /v1/meters. Counts the events of its type that arrived before it (backfill in the same
// transaction), so a meter created late still sees all usage.
Result<Reply> create_meter(storage::Tx& tx, const RequestContext& ctx, const json::Value& body,
                           std::string id);
Result<Reply> list_meters(storage::Tx& tx, const RequestContext& ctx, const std::string& cursor,
                          std::size_t limit);
Result<Reply> get_meter(storage::Tx& tx, const RequestContext& ctx, const std::string& code);

struct MeterUsage {
  domain::Aggregate total;
  std::map<std::string, domain::Aggregate> groups;  // by group key
};

// Exact usage of one meter for one customer over [from, to): whole hours from the pre-aggregated
// buckets, partial hours at either edge from the raw events.
// An out_of_range error when a total exceeds the exact decimal type (never a wrong number).
Result<MeterUsage> meter_usage(storage::Tx& tx, const TenantId& tenant,
                               const domain::MeterDefinition& meter, const std::string& customer_id,
                               std::int64_t from, std::int64_t to);

// GET /v1/customers/{external_id}/usage?from=&to=
Result<Reply> customer_usage(storage::Tx& tx, const RequestContext& ctx,
                             const std::string& external_id, Instant from, Instant to);

}  // namespace neruba::services::usage
