#pragma once
// The usage models (API.md "Billing semantics"): a usage charge and the usage of a period, or of a
// part of one, in; the exact, unrounded amount and its explanation out. Pure: no storage, clock or
// I/O. Rounding happens once, later, at the line (lines.hpp).
//
// Parts of a period. A plan change mid-period splits a period's usage into parts, each priced by
// the charge in force for it, with tiers and free units counted across the whole period (issue 16:
// no tier reset at a change). A part says where its units sit: after `already_used` units of the
// same period, in a period of `period_quantity` units. Pricing the parts of a period with one
// charge gives exactly the amount of pricing the period whole (tests/domain/pricing_property_test):
// - per_unit: free units are the period's, consumed by the earlier parts first.
// - graduated: the part's units fall in the tiers from `already_used` on; a tier's flat fee is
//   charged by the part in which the period's usage first exceeds the tier's lower bound.
// - volume: the tier holding the period's total (`period_quantity`) prices the part's units, as
//   it would price them if the period were priced whole; its flat fee is charged once, by the part
//   holding the period's first unit (already_used = 0). A part priced before the period ends (an
//   upcoming invoice) passes the usage so far as the total.
// - package: packages are counted over the period, after its free units: a part pays for the
//   packages its units start (ceil(after / size) − ceil(before / size)), so a package begun by an
//   earlier part is not paid twice.
// - percentage: priced event by event, it has nothing that spans the period; the offset changes
//   nothing, except that zero usage is the period's (below).
// Zero usage charges nothing under every model: no flat fee, no fixed fee, no minimum. It is the
// period's usage that is zero: a percentage part holding only events of amount 0, in a period
// whose payments sum above 0 (period_quantity), pays their fixed fees, clamped, as the period
// priced whole would; a part of quantity 0 charges nothing under the other models.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "domain/decimal.hpp"
#include "domain/pricing/errors.hpp"
#include "domain/pricing/plan.hpp"

namespace neruba::domain::pricing {

// The usage a charge prices: the meter's aggregate over a period, or over a part of one.
struct UsagePart {
  Decimal quantity;  // the units of this part (for percentage: the summed amount); >= 0
  // The events behind `quantity`: a percentage's fixed fee is charged per event.
  std::int64_t events = 0;
  // Percentage: each event's amount, in any order; required when min_per_event or max_per_event
  // is set (a clamp is per event, so a sum cannot say it). When given, its size is `events` and
  // its sum `quantity`. Other models ignore it.
  std::vector<Decimal> event_amounts;
  // Units of the same period before this part (priced by earlier parts); 0 for a whole period.
  Decimal already_used;
  // The period's total, for volume; absent: already_used + quantity (the last or only part).
  std::optional<Decimal> period_quantity;
};

// One tier a part's units fall in.
struct TierUsage {
  std::size_t tier = 0;       // index in the charge's tiers
  Decimal from;               // the tier's lower bound (exclusive): the previous tier's up_to, or 0
  std::optional<Decimal> to;  // the tier's up_to; absent for the open last tier
  Decimal units;              // the part's units inside the tier
  Decimal unit_price;
  Decimal flat_fee;  // the tier's flat fee if this part charges it, else 0
  Decimal amount;    // units × unit_price + flat_fee, exact
};

// How an amount came about: what an invoice line shows and what lets it be recomputed offline
// from the charge (which the line's plan version names) and these inputs.
struct UsageExplanation {
  UsageModel model = UsageModel::per_unit;
  Decimal quantity;         // the part's units (percentage: the summed amount)
  Decimal already_used;     // the period's units before the part
  Decimal period_quantity;  // the period's units (volume's tier is chosen by it)
  std::int64_t events = 0;
  // per_unit and package: free units this part consumed, and the units left to price.
  Decimal free_units_applied;
  Decimal billable_units;
  // per_unit: unit_price; volume: the price of the tier holding the total; package: the price of
  // one package. Absent for graduated (see tiers) and percentage.
  std::optional<Decimal> unit_price;
  std::vector<TierUsage> tiers;  // graduated: each tier the part touches; volume: the one tier
  Decimal packages;              // package: packages this part pays for (a whole number)
  // percentage: events whose fee was raised to min_per_event, lowered to max_per_event.
  std::int64_t events_at_minimum = 0;
  std::int64_t events_at_maximum = 0;
};

struct UsageAmount {
  Decimal amount;  // exact, unrounded; never negative
  UsageExplanation explanation;
};

// Prices `part` under `charge`. Fails with charge_invalid for a charge validation refuses,
// negative_usage, usage_inconsistent, event_amounts_missing (see UsagePart), or
// amount_out_of_range / amount_too_precise when a quantity, an amount or an intermediate does not
// fit the 36 digits of Decimal — never with a wrong number.
Result<UsageAmount, PricingError> price_usage(const UsageCharge& charge, const UsagePart& part);
// price_usage for a charge of a plan version validation accepted (what the catalog stores and the
// period engine prices): the charge is not checked again on every call. The part still is. A
// charge validation would refuse is never read out of bounds: tiers that hold no tier for the
// usage are charge_invalid; other defects (a zero package size) fail as arithmetic does.
Result<UsageAmount, PricingError> price_validated_usage(const UsageCharge& charge,
                                                        const UsagePart& part);

}  // namespace neruba::domain::pricing
