#pragma once
// Tenant settings (API.md PATCH /v1/tenants/{id}): defaults, validation and merging.
#include <vector>

#include "common/error.hpp"
#include "json/json.hpp"

namespace neruba::services::settings {

inline constexpr std::int64_t ingest_events_per_second_default = 50'000;
inline constexpr std::int64_t ingest_burst_default = 100'000;
// How long the invoices of a closed period stay drafts that still pick up late events (issue 17).
inline constexpr std::int64_t invoice_grace_period_days_max = 365;

json::Value defaults();
// Applies a partial settings object onto `current`; every unknown or invalid field is reported.
Result<json::Value> merge(const json::Value& current, const json::Value& patch,
                          const std::string& path);

}  // namespace neruba::services::settings
