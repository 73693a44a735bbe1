#pragma once
// Plan validation (API.md "Catalog", issue 16): every problem of a plan version at once, each with
// the field at fault as a path into the API's JSON ("charges[2].tiers[1].up_to") and a stable slug
// (PricingError), so one 422 lists them all and nothing is stored.
//
// Rules beyond API.md's text, and why:
// - Tiers are (previous up_to, up_to]: each starts where the previous ended by construction, so a
//   gap or an overlap can only come from up_to values that do not strictly ascend, a closed last
//   tier, an open tier before the last, or an up_to of zero or below — each its own slug.
// - Several recurring charges are allowed (a platform fee and a support fee), as Stripe lets a
//   subscription hold several flat prices and Lago a plan hold several fixed charges: each is a
//   line of its own. At most one seat charge: a subscription has one seat count, and a second seat
//   price would bill the same seats twice — the reason one meter may not be priced twice either.
// - Prices, rates, fees, amounts and minimums are non-negative and keep at most
//   limits::unit_price_scale_max fraction digits; free units are non-negative; a package holds
//   more than zero units; min_per_event <= max_per_event when both are set.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "domain/metering.hpp"
#include "domain/pricing/errors.hpp"
#include "domain/pricing/plan.hpp"

namespace neruba::domain::pricing {

struct PlanProblem {
  PricingError reason = PricingError::negative_price;
  std::string field;  // "charges[2].tiers[1].up_to"; "charges[1]" for a charge as a whole
  std::string detail;
};

// The aggregation of the tenant's meter with this code, or nullopt when there is none.
using MeterLookup = std::function<std::optional<Aggregation>(std::string_view code)>;

// Every problem of the plan version, in the order of its fields; empty when it is valid.
std::vector<PlanProblem> validate(const PlanVersion& plan, const MeterLookup& meters);

// The problems of one charge on its own, without what needs the plan (the other charges) or the
// tenant (its meters); `path` prefixes every field ("charges[2]"). The pricing functions refuse a
// charge that has any (PricingError::charge_invalid) instead of computing a wrong number.
void add_charge_problems(const Charge& charge, const std::string& path,
                         std::vector<PlanProblem>& problems);
void add_charge_problems(const UsageCharge& charge, const std::string& path,
                         std::vector<PlanProblem>& problems);

// The 422 a refused plan is answered with: one FieldError per problem, typed by its slug.
Error plan_error(const std::vector<PlanProblem>& problems);

}  // namespace neruba::domain::pricing
