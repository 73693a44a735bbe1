#pragma once
// The catalog's data model (API.md "Catalog", "Billing semantics"): a plan version and its charges,
// as values. Pure: no storage, clock or I/O; the pricing engine (domain/pricing) prices a period
// from these, the services store and version them.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/instant.hpp"
#include "domain/currency.hpp"
#include "domain/decimal.hpp"

namespace neruba::domain::pricing {

enum class Interval { month, year };
// How a part of a period is weighed against the whole: by seconds (default) or by whole days of
// the customer's calendar.
enum class ProrationBasis { second, day };
enum class FeeTiming { advance, arrears };
enum class UsageModel { per_unit, graduated, volume, package, percentage };

// A tier covers usage in (previous up_to, up_to]; the last tier is open (up_to absent).
struct Tier {
  std::optional<Decimal> up_to;
  Decimal unit_price;
  std::optional<Decimal> flat_fee;
};

// A fixed fee each period, billed in advance (at the period's start) or in arrears (at its end).
struct RecurringCharge {
  Decimal amount;
  FeeTiming timing = FeeTiming::advance;
};

// A price per seat, billed in advance and prorated when the seat count changes mid-period.
struct SeatCharge {
  Decimal unit_price;
};

// A price on one meter's usage over the period. Which members matter depends on the model:
//   per_unit:   unit_price, free_units
//   graduated / volume: tiers
//   package:    package_size, package_price, free_units
//   percentage: rate, fixed_fee, min_per_event, max_per_event (sum meters only)
struct UsageCharge {
  std::string meter;  // the meter's code
  UsageModel model = UsageModel::per_unit;
  Decimal unit_price;
  Decimal free_units;
  std::vector<Tier> tiers;
  Decimal package_size;
  Decimal package_price;
  Decimal rate;
  std::optional<Decimal> fixed_fee;
  std::optional<Decimal> min_per_event;
  std::optional<Decimal> max_per_event;
};

using Charge = std::variant<RecurringCharge, SeatCharge, UsageCharge>;

// One version of a plan: what prices every period that starts while it is in force.
struct PlanVersion {
  std::string plan_code;
  int version = 1;
  Instant effective_from;
  std::string name;
  Currency currency;
  Interval interval = Interval::month;
  ProrationBasis proration = ProrationBasis::second;
  RoundingMode rounding = RoundingMode::half_even;
  std::optional<Decimal> minimum_commitment;
  // Usage during a trial is free unless the plan says otherwise.
  bool usage_billed_during_trial = false;
  std::vector<Charge> charges;
};

}  // namespace neruba::domain::pricing
