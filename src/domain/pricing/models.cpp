#include "domain/pricing/models.hpp"

#include <algorithm>

#include "domain/pricing/exact.hpp"
#include "domain/pricing/validation.hpp"

namespace neruba::domain::pricing {
namespace {

bool any_negative(const UsagePart& part) {
  return part.quantity.sign() < 0 || part.already_used.sign() < 0 || part.events < 0 ||
         (part.period_quantity && part.period_quantity->sign() < 0) ||
         std::any_of(part.event_amounts.begin(), part.event_amounts.end(),
                     [](const Decimal& amount) { return amount.sign() < 0; });
}

// The percentage's inputs agree with one another: a sum above zero has events behind it, the
// event amounts (when given) are `events` many and add up to `quantity`, and a clamp has them.
std::optional<PricingError> percentage_input_problem(const UsageCharge& charge,
                                                     const UsagePart& part, Exact& exact) {
  if (part.quantity.sign() > 0 && part.events == 0) return PricingError::usage_inconsistent;
  if (!part.event_amounts.empty()) {
    if (part.event_amounts.size() != static_cast<std::size_t>(part.events)) {
      return PricingError::usage_inconsistent;
    }
    Decimal sum;
    for (const Decimal& amount : part.event_amounts) exact.accumulate(sum, amount);
    if (!exact.failed() && sum != part.quantity) return PricingError::usage_inconsistent;
  } else if ((charge.min_per_event || charge.max_per_event) && part.quantity.sign() > 0) {
    return PricingError::event_amounts_missing;
  }
  return std::nullopt;
}

// What must hold before anything is priced; sets the explanation's period position.
std::optional<PricingError> input_problem(const UsageCharge& charge, const UsagePart& part,
                                          UsageExplanation& explanation, Exact& exact,
                                          bool charge_validated) {
  if (!charge_validated) {
    std::vector<PlanProblem> problems;
    add_charge_problems(charge, "", problems);
    if (!problems.empty()) return PricingError::charge_invalid;
  }
  if (any_negative(part)) return PricingError::negative_usage;
  const Decimal used_after = exact.add(part.already_used, part.quantity);
  if (exact.failed()) return exact.error();
  explanation.period_quantity = part.period_quantity.value_or(used_after);
  if (explanation.period_quantity < used_after) return PricingError::usage_inconsistent;
  if (charge.model == UsageModel::percentage) {
    if (auto problem = percentage_input_problem(charge, part, exact)) return problem;
  }
  if (exact.failed()) return exact.error();
  return std::nullopt;
}

Decimal per_unit(const UsageCharge& charge, const UsagePart& part, UsageExplanation& explanation,
                 Exact& exact) {
  const Decimal free_left = max_of(Decimal(), exact.sub(charge.free_units, part.already_used));
  explanation.free_units_applied = min_of(part.quantity, free_left);
  explanation.billable_units = exact.sub(part.quantity, explanation.free_units_applied);
  explanation.unit_price = charge.unit_price;
  return exact.mul(explanation.billable_units, charge.unit_price);
}

// Every tier the part (already_used, already_used + quantity] reaches into, with its share.
Decimal graduated(const UsageCharge& charge, const UsagePart& part, UsageExplanation& explanation,
                  Exact& exact) {
  const Decimal& start = part.already_used;
  const Decimal end = exact.add(start, part.quantity);
  Decimal total;
  Decimal lower;  // the tier's lower bound, exclusive
  explanation.tiers.reserve(charge.tiers.size());
  for (std::size_t index = 0; index < charge.tiers.size() && lower < end; ++index) {
    const Tier& tier = charge.tiers[index];
    if (tier.up_to && *tier.up_to <= start) {
      lower = *tier.up_to;
      continue;  // wholly before the part: earlier parts priced it
    }
    TierUsage usage{index, lower, tier.up_to, {}, tier.unit_price, {}, {}};
    const Decimal upper = tier.up_to ? min_of(end, *tier.up_to) : end;
    usage.units = exact.sub(upper, max_of(start, lower));
    // The period's usage exceeds this tier's lower bound within this part.
    if (start <= lower && tier.flat_fee) usage.flat_fee = *tier.flat_fee;
    usage.amount = exact.add(exact.mul(usage.units, tier.unit_price), usage.flat_fee);
    exact.accumulate(total, usage.amount);
    explanation.tiers.push_back(std::move(usage));
    if (tier.up_to) lower = *tier.up_to;
  }
  // Units above a closed last tier would go unpriced: a charge validation refuses.
  if (!charge.tiers.empty() && charge.tiers.back().up_to && lower < end) {
    exact.fail(PricingError::charge_invalid);
  }
  return total;
}

// The tier holding the period's total prices every unit of the part; at a tier edge (a total
// equal to up_to) that is the tier whose up_to it is, as tiers are (previous up_to, up_to].
Decimal volume(const UsageCharge& charge, const UsagePart& part, UsageExplanation& explanation,
               Exact& exact) {
  Decimal lower;
  std::size_t index = 0;
  while (index < charge.tiers.size() && charge.tiers[index].up_to &&
         *charge.tiers[index].up_to < explanation.period_quantity) {
    lower = *charge.tiers[index].up_to;
    ++index;  // a validated charge's last tier is open, so this stops there at the latest
  }
  if (index == charge.tiers.size()) {
    // No tier holds the total: a charge validation refuses (price_validated_usage's caller
    // promised otherwise). Refused, never read past the tiers.
    exact.fail(PricingError::charge_invalid);
    return Decimal();
  }
  const Tier& tier = charge.tiers[index];
  TierUsage usage{index, lower, tier.up_to, part.quantity, tier.unit_price, {}, {}};
  if (part.already_used.is_zero() && tier.flat_fee) usage.flat_fee = *tier.flat_fee;
  usage.amount = exact.add(exact.mul(part.quantity, tier.unit_price), usage.flat_fee);
  explanation.unit_price = tier.unit_price;
  explanation.tiers.push_back(usage);
  return usage.amount;
}

// Whole packages started by the period's billable units up to `used`.
Decimal packages_started(const UsageCharge& charge, const Decimal& used, Exact& exact) {
  const Decimal billable = max_of(Decimal(), exact.sub(used, charge.free_units));
  return exact.div(billable, charge.package_size, 0, RoundingMode::up);
}

Decimal package(const UsageCharge& charge, const UsagePart& part, UsageExplanation& explanation,
                Exact& exact) {
  const Decimal end = exact.add(part.already_used, part.quantity);
  const Decimal billable_before =
      max_of(Decimal(), exact.sub(part.already_used, charge.free_units));
  const Decimal billable_after = max_of(Decimal(), exact.sub(end, charge.free_units));
  explanation.billable_units = exact.sub(billable_after, billable_before);
  explanation.free_units_applied = exact.sub(part.quantity, explanation.billable_units);
  explanation.packages = exact.sub(packages_started(charge, end, exact),
                                   packages_started(charge, part.already_used, exact));
  explanation.unit_price = charge.package_price;
  return exact.mul(explanation.packages, charge.package_price);
}

// One event's fee: rate × amount + fixed_fee, clamped to [min_per_event, max_per_event].
Decimal event_fee(const UsageCharge& charge, const Decimal& amount, UsageExplanation& explanation,
                  Exact& exact) {
  Decimal fee = exact.mul(charge.rate, amount);
  if (charge.fixed_fee) fee = exact.add(fee, *charge.fixed_fee);
  if (charge.min_per_event && fee < *charge.min_per_event) {
    ++explanation.events_at_minimum;
    return *charge.min_per_event;
  }
  if (charge.max_per_event && fee > *charge.max_per_event) {
    ++explanation.events_at_maximum;
    return *charge.max_per_event;
  }
  return fee;
}

Decimal percentage(const UsageCharge& charge, const UsagePart& part, UsageExplanation& explanation,
                   Exact& exact) {
  if (part.event_amounts.empty()) {
    // No clamp (checked): the sum of per-event fees is rate × sum + fixed_fee × events exactly.
    Decimal total = exact.mul(charge.rate, part.quantity);
    if (charge.fixed_fee) {
      exact.accumulate(total, exact.mul(*charge.fixed_fee, Decimal::from_integer(part.events)));
    }
    return total;
  }
  Decimal total;
  for (const Decimal& amount : part.event_amounts) {
    exact.accumulate(total, event_fee(charge, amount, explanation, exact));
  }
  return total;
}

Decimal amount_of(const UsageCharge& charge, const UsagePart& part, UsageExplanation& explanation,
                  Exact& exact) {
  switch (charge.model) {
    case UsageModel::per_unit:
      return per_unit(charge, part, explanation, exact);
    case UsageModel::graduated:
      return graduated(charge, part, explanation, exact);
    case UsageModel::volume:
      return volume(charge, part, explanation, exact);
    case UsageModel::package:
      return package(charge, part, explanation, exact);
    case UsageModel::percentage:
      return percentage(charge, part, explanation, exact);
  }
  return Decimal();
}

Result<UsageAmount, PricingError> price(const UsageCharge& charge, const UsagePart& part,
                                        bool charge_validated) {
  UsageAmount priced;
  UsageExplanation& explanation = priced.explanation;
  explanation.model = charge.model;
  explanation.quantity = part.quantity;
  explanation.already_used = part.already_used;
  explanation.events = part.events;
  Exact exact;
  if (auto problem = input_problem(charge, part, explanation, exact, charge_validated)) {
    return *problem;
  }
  // Zero usage charges nothing under any model: no flat fee, no fixed fee, no minimum per event.
  // Zero is the period's: a percentage part whose events are all of amount 0, in a period with
  // payments, pays their fixed fees (clamped) as the period priced whole would.
  const bool period_has_usage = charge.model == UsageModel::percentage &&
                                explanation.period_quantity.sign() > 0 && part.events > 0;
  if (part.quantity.is_zero() && !period_has_usage) return priced;
  priced.amount = amount_of(charge, part, explanation, exact);
  if (exact.failed()) return exact.error();
  return priced;
}

}  // namespace

Result<UsageAmount, PricingError> price_usage(const UsageCharge& charge, const UsagePart& part) {
  return price(charge, part, false);
}

Result<UsageAmount, PricingError> price_validated_usage(const UsageCharge& charge,
                                                        const UsagePart& part) {
  return price(charge, part, true);
}

}  // namespace neruba::domain::pricing
