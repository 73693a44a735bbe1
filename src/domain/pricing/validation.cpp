#include "domain/pricing/validation.hpp"

#include <set>
#include <type_traits>

#include "common/limits.hpp"

namespace neruba::domain::pricing {
namespace {

using Problems = std::vector<PlanProblem>;

// A field's path, put together only when a problem names it: the pricing functions validate the
// charge they price, and a valid charge should cost no string.
struct Field {
  const std::string& path;          // the charge: "charges[2]"
  std::string_view leaf;            // ".unit_price"
  std::optional<std::size_t> tier;  // ".tiers[1]" between the two

  std::string text() const {
    std::string out = path;
    if (tier) out += ".tiers[" + std::to_string(*tier) + "]";
    out += leaf;
    return out;
  }
};

void add(Problems& problems, PricingError reason, const Field& field, std::string detail) {
  problems.push_back({reason, field.text(), std::move(detail)});
}

// A price, rate, fee, amount or minimum: not below zero, at most 12 fraction digits.
void check_price(const Decimal& value, const Field& field, Problems& problems) {
  if (value.sign() < 0) {
    add(problems, PricingError::negative_price, field, "negative: " + value.to_string());
  } else if (value.scale() > limits::unit_price_scale_max) {
    add(problems, PricingError::price_too_precise, field,
        std::to_string(value.scale()) + " fraction digits, more than " +
            std::to_string(limits::unit_price_scale_max));
  }
}

void check_optional_price(const std::optional<Decimal>& value, const Field& field,
                          Problems& problems) {
  if (value) check_price(*value, field, problems);
}

void check_free_units(const Decimal& value, const Field& field, Problems& problems) {
  if (value.sign() < 0) {
    add(problems, PricingError::negative_free_units, field, "negative: " + value.to_string());
  }
}

// The bound of tier `index`: open before the last, closed last, at or below zero, or not above
// the highest bound before it (`highest`, updated here).
void check_tier_bound(const std::vector<Tier>& tiers, std::size_t index, const std::string& path,
                      std::optional<Decimal>& highest, Problems& problems) {
  const std::optional<Decimal>& up_to = tiers[index].up_to;
  const bool last = index + 1 == tiers.size();
  const Field field{path, ".up_to", index};
  if (!up_to) {
    if (!last) {
      add(problems, PricingError::tier_open_before_last, field,
          "only the last tier may be open (up_to null)");
    }
    return;
  }
  if (last) {
    add(problems, PricingError::tier_last_not_open, field,
        "the last tier must be open (up_to null): usage above " + up_to->to_string() +
            " would have no price");
  }
  if (up_to->sign() <= 0) {
    add(problems, PricingError::tier_up_to_not_positive, field,
        "up_to must be above zero: " + up_to->to_string());
  } else if (highest && *up_to <= *highest) {
    add(problems, PricingError::tier_not_ascending, field,
        "up_to " + up_to->to_string() + " is not above the previous tier's " +
            highest->to_string());
  }
  if (!highest || *up_to > *highest) highest = *up_to;
}

void check_tiers(const std::vector<Tier>& tiers, const std::string& path, Problems& problems) {
  if (tiers.empty()) {
    add(problems, PricingError::tiers_required, {path, ".tiers"}, "at least one tier is needed");
    return;
  }
  if (tiers.size() > limits::tiers_max) {
    add(problems, PricingError::too_many_tiers, {path, ".tiers"},
        std::to_string(tiers.size()) + " tiers, more than " + std::to_string(limits::tiers_max));
    return;
  }
  std::optional<Decimal> highest;
  for (std::size_t index = 0; index < tiers.size(); ++index) {
    check_tier_bound(tiers, index, path, highest, problems);
    check_price(tiers[index].unit_price, {path, ".unit_price", index}, problems);
    check_optional_price(tiers[index].flat_fee, {path, ".flat_fee", index}, problems);
  }
}

void check_percentage(const UsageCharge& charge, const std::string& path, Problems& problems) {
  check_price(charge.rate, {path, ".rate"}, problems);
  check_optional_price(charge.fixed_fee, {path, ".fixed_fee"}, problems);
  check_optional_price(charge.min_per_event, {path, ".min_per_event"}, problems);
  check_optional_price(charge.max_per_event, {path, ".max_per_event"}, problems);
  if (charge.min_per_event && charge.max_per_event &&
      *charge.min_per_event > *charge.max_per_event) {
    add(problems, PricingError::percentage_min_above_max, {path, ".min_per_event"},
        "min_per_event " + charge.min_per_event->to_string() + " is above max_per_event " +
            charge.max_per_event->to_string());
  }
}

}  // namespace

void add_charge_problems(const UsageCharge& charge, const std::string& path, Problems& problems) {
  switch (charge.model) {
    case UsageModel::per_unit:
      check_price(charge.unit_price, {path, ".unit_price"}, problems);
      check_free_units(charge.free_units, {path, ".free_units"}, problems);
      return;
    case UsageModel::graduated:
    case UsageModel::volume:
      check_tiers(charge.tiers, path, problems);
      return;
    case UsageModel::package:
      if (charge.package_size.sign() <= 0) {
        add(problems, PricingError::package_size_not_positive, {path, ".package_size"},
            "package_size must be above zero: " + charge.package_size.to_string());
      }
      check_price(charge.package_price, {path, ".package_price"}, problems);
      check_free_units(charge.free_units, {path, ".free_units"}, problems);
      return;
    case UsageModel::percentage:
      check_percentage(charge, path, problems);
      return;
  }
}

namespace {

// What needs the tenant's meters and the plan's other charges: the meter exists, a percentage's
// meter sums, and no meter is priced twice.
void check_meter(const UsageCharge& charge, const std::string& path, const MeterLookup& meters,
                 std::set<std::string, std::less<>>& priced, Problems& problems) {
  const Field field{path, ".meter"};
  const std::optional<Aggregation> aggregation = meters(charge.meter);
  if (!aggregation) {
    add(problems, PricingError::unknown_meter, field,
        "no meter has the code `" + charge.meter + "`");
  } else if (charge.model == UsageModel::percentage && *aggregation != Aggregation::sum) {
    add(problems, PricingError::meter_not_summable, field,
        "a percentage is taken of a summed amount; meter `" + charge.meter + "` aggregates by " +
            std::string(aggregation_name(*aggregation)));
  }
  if (!priced.insert(charge.meter).second) {
    add(problems, PricingError::meter_priced_twice, field,
        "meter `" + charge.meter + "` is priced by an earlier charge of this plan");
  }
}

}  // namespace

void add_charge_problems(const Charge& charge, const std::string& path, Problems& problems) {
  std::visit(
      [&](const auto& typed) {
        using Type = std::decay_t<decltype(typed)>;
        if constexpr (std::is_same_v<Type, RecurringCharge>) {
          check_price(typed.amount, {path, ".amount"}, problems);
        } else if constexpr (std::is_same_v<Type, SeatCharge>) {
          check_price(typed.unit_price, {path, ".unit_price"}, problems);
        } else {
          add_charge_problems(typed, path, problems);
        }
      },
      charge);
}

std::vector<PlanProblem> validate(const PlanVersion& plan, const MeterLookup& meters) {
  Problems problems;
  std::set<std::string, std::less<>> priced_meters;
  bool seat_priced = false;
  const std::string top;
  check_optional_price(plan.minimum_commitment, {top, "minimum_commitment"}, problems);
  for (std::size_t index = 0; index < plan.charges.size(); ++index) {
    const Charge& charge = plan.charges[index];
    const std::string path = "charges[" + std::to_string(index) + "]";
    add_charge_problems(charge, path, problems);
    if (const auto* usage = std::get_if<UsageCharge>(&charge)) {
      check_meter(*usage, path, meters, priced_meters, problems);
    } else if (std::holds_alternative<SeatCharge>(charge)) {
      if (seat_priced) {
        add(problems, PricingError::seat_priced_twice, {path, ""},
            "an earlier charge of this plan already prices the seats");
      }
      seat_priced = true;
    }
  }
  return problems;
}

Error plan_error(const std::vector<PlanProblem>& problems) {
  std::vector<FieldError> errors;
  errors.reserve(problems.size());
  for (const PlanProblem& problem : problems) {
    errors.push_back(
        FieldError{problem.field, std::string(reason_of(problem.reason).slug), problem.detail, {}});
  }
  return Error::invalid(std::move(errors), "The plan has invalid values.");
}

}  // namespace neruba::domain::pricing
