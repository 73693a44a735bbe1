#pragma once
// Charges and plan versions read from JSON as API.md's `POST /v1/plans` writes them, for the
// pricing data files (data_pricing.cpp). Strict, as a request reader is: decimals are strings, a
// member a charge's model does not have is an error, every problem is collected. A test helper
// until the catalog's HTTP reader exists; that one belongs in http/, beside the other readers.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "domain/pricing/plan.hpp"
#include "json/json.hpp"

namespace neruba::test {

// A charge: `{ "type": "recurring" | "seat" | "usage", … }`; `path` prefixes the fields of its
// errors ("charges[1].").
Result<domain::pricing::Charge> charge_from_json(const json::Value& value,
                                                 const std::string& path = "");

// A plan version: `{ "code"?, "name"?, "currency", "interval"?, "proration"?, "rounding"?,
// "minimum_commitment"?, "effective_from"? (RFC 3339; absent: the epoch),
// "usage_billed_during_trial"? (false), "charges": [ … ] }`.
Result<domain::pricing::PlanVersion> plan_from_json(const json::Value& value);

}  // namespace neruba::test
