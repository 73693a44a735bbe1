#include "domain/pricing/errors.hpp"

namespace neruba::domain::pricing {

ErrorReason reason_of(PricingError error) {
  constexpr ErrorCode invalid = ErrorCode::validation_failed;
  switch (error) {
    case PricingError::negative_price:
      return {invalid, "negative_price"};
    case PricingError::negative_free_units:
      return {invalid, "negative_free_units"};
    case PricingError::price_too_precise:
      return {invalid, "price_too_precise"};
    case PricingError::tiers_required:
      return {invalid, "tiers_required"};
    case PricingError::too_many_tiers:
      return {invalid, "too_many_tiers"};
    case PricingError::tier_up_to_not_positive:
      return {invalid, "tier_up_to_not_positive"};
    case PricingError::tier_not_ascending:
      return {invalid, "tier_not_ascending"};
    case PricingError::tier_last_not_open:
      return {invalid, "tier_last_not_open"};
    case PricingError::tier_open_before_last:
      return {invalid, "tier_open_before_last"};
    case PricingError::package_size_not_positive:
      return {invalid, "package_size_not_positive"};
    case PricingError::percentage_min_above_max:
      return {invalid, "percentage_min_above_max"};
    case PricingError::unknown_meter:
      return {invalid, "unknown_meter"};
    case PricingError::meter_not_summable:
      return {invalid, "meter_not_summable"};
    case PricingError::meter_priced_twice:
      return {invalid, "meter_priced_twice"};
    case PricingError::seat_priced_twice:
      return {invalid, "seat_priced_twice"};
    case PricingError::charge_invalid:
      return {ErrorCode::internal, "charge_invalid"};
    case PricingError::negative_usage:
      // Sum meters accept negative values; a period whose usage nets below zero has no price.
      return {invalid, "negative_usage"};
    case PricingError::usage_inconsistent:
      return {ErrorCode::internal, "usage_inconsistent"};
    case PricingError::event_amounts_missing:
      return {ErrorCode::internal, "event_amounts_missing"};
    case PricingError::proration_factor_invalid:
      return {ErrorCode::internal, "proration_factor_invalid"};
    case PricingError::amount_out_of_range:
      return {ErrorCode::out_of_range, "amount_out_of_range"};
    case PricingError::amount_too_precise:
      return {ErrorCode::out_of_range, "amount_too_precise"};
    case PricingError::not_a_billing_instant:
      return {ErrorCode::internal, "not_a_billing_instant"};
    case PricingError::plan_version_missing:
      return {invalid, "plan_version_missing"};
    case PricingError::currency_mismatch:
      return {invalid, "currency_mismatch"};
    case PricingError::calendar_invalid:
      return {ErrorCode::out_of_range, "calendar_invalid"};
    case PricingError::timeline_invalid:
      return {ErrorCode::internal, "timeline_invalid"};
  }
  return {ErrorCode::internal, "internal"};
}

}  // namespace neruba::domain::pricing
