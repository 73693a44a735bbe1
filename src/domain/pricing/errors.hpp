#pragma once
// Why pricing refused: one enum for the whole of domain/pricing, so a plan's validation problems
// and a computation's failure share one list of stable slugs (tests/domain/pricing_test.cpp checks
// every one). `reason_of` gives each its slug and the ErrorCode category the HTTP edge answers it
// with; the plan problems are all 422s, a result beyond the Decimal type is out_of_range, and a
// caller that breaks a precondition (inconsistent usage, a bad proration factor) is internal.
#include <string_view>

#include "common/error.hpp"

namespace neruba::domain::pricing {

enum class PricingError {
  // A plan's problems (validation.hpp): the FieldError types of a refused plan.
  negative_price,             // a price, rate, fee, amount or minimum below zero
  negative_free_units,        // free units below zero
  price_too_precise,          // more than limits::unit_price_scale_max fraction digits
  tiers_required,             // graduated or volume without any tier
  too_many_tiers,             // more than limits::tiers_max tiers
  tier_up_to_not_positive,    // a tier ending at zero or below: it could hold no usage
  tier_not_ascending,         // up_to equal to or below the previous tier's
  tier_last_not_open,         // the last tier has an up_to: usage above it would have no price
  tier_open_before_last,      // an open tier (up_to null) that is not the last
  package_size_not_positive,  // a package of zero or fewer units
  percentage_min_above_max,   // min_per_event above max_per_event
  unknown_meter,              // no meter with this code
  meter_not_summable,         // percentage on a meter that is not a `sum`
  meter_priced_twice,         // two usage charges on one meter would bill its usage twice
  seat_priced_twice,          // two seat charges would bill the seats twice
  // A computation's failures (models.hpp, lines.hpp).
  charge_invalid,            // asked to price a charge that validation refuses
  negative_usage,            // a quantity, already-used count, event amount or seat count < 0
  usage_inconsistent,        // a usage input's parts disagree (UsagePart), or a line unrounded
  event_amounts_missing,     // percentage with min/max_per_event needs each event's amount
  proration_factor_invalid,  // not 0 <= numerator <= denominator, denominator > 0
  amount_out_of_range,       // a result beyond the 36 digits of Decimal
  amount_too_precise,        // a product needing more than 36 fraction digits
  // A subscription's invoice (period.hpp).
  not_a_billing_instant,  // an invoice asked for at an instant that is no period's edge
  plan_version_missing,   // a phase's plan has no version in force at the phase
  currency_mismatch,      // the plans of one subscription do not share a currency
  calendar_invalid,       // a billing cycle the calendar refuses (an instant beyond year 9999)
  timeline_invalid,       // phases not ascending, not starting at the start, or after the end
};

ErrorReason reason_of(PricingError error);

}  // namespace neruba::domain::pricing
