// Properties of the usage models (domain/pricing/models.hpp), checked with RapidCheck on
// generated charges and usage. RC_PARAMS="max_success=10000" runs more cases; a failure prints a
// seed to replay.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "domain/pricing/models.hpp"
#include "pricing_test_support.hpp"

namespace neruba::domain::pricing {
namespace {

// Non-negative decimals below max_coefficient × 10^-scale, scale 0..max_scale: quantities with
// fractions (GB-hours), prices with up to six fraction digits.
rc::Gen<Decimal> non_negative(std::int64_t max_coefficient, int max_scale) {
  return rc::gen::apply([](std::int64_t coefficient,
                           int scale) { return *Decimal::from_parts(coefficient, scale).value; },
                        rc::gen::inRange<std::int64_t>(0, max_coefficient + 1),
                        rc::gen::inRange(0, max_scale + 1));
}

rc::Gen<Decimal> positive(std::int64_t max_coefficient, int max_scale) {
  return rc::gen::suchThat(non_negative(max_coefficient, max_scale),
                           [](const Decimal& value) { return value.sign() > 0; });
}

// Absent half the time: an optional fee or bound.
rc::Gen<std::optional<Decimal>> sometimes(rc::Gen<Decimal> values) {
  return rc::gen::oneOf(rc::gen::just(std::optional<Decimal>()),
                        rc::gen::map(values, [](Decimal value) { return std::optional(value); }));
}

rc::Gen<Decimal> quantities() { return non_negative(10'000'000, 3); }
rc::Gen<Decimal> prices() { return non_negative(1'000'000, 6); }

Decimal sum(const Decimal& a, const Decimal& b) { return *a.add(b); }

// 1 to 5 tiers with strictly ascending bounds (each a positive step above the last), the last
// open; each with a price and, half the time, a flat fee.
rc::Gen<std::vector<Tier>> tier_lists() {
  return rc::gen::mapcat(rc::gen::inRange(1, 6), [](int count) {
    return rc::gen::apply(
        [](const std::vector<Decimal>& steps, const std::vector<Decimal>& unit_prices,
           const std::vector<std::optional<Decimal>>& flat_fees) {
          std::vector<Tier> tiers;
          Decimal bound;
          for (std::size_t index = 0; index < unit_prices.size(); ++index) {
            std::optional<Decimal> up_to;
            if (index < steps.size()) up_to = bound = sum(bound, steps[index]);
            tiers.push_back(Tier{up_to, unit_prices[index], flat_fees[index]});
          }
          return tiers;
        },
        rc::gen::container<std::vector<Decimal>>(count - 1, positive(100'000, 2)),
        rc::gen::container<std::vector<Decimal>>(count, prices()),
        rc::gen::container<std::vector<std::optional<Decimal>>>(
            count, sometimes(non_negative(10'000, 2))));
  });
}

UsageCharge tiered(UsageModel model, std::vector<Tier> tiers) {
  return test::tiered(model, std::move(tiers));
}

// A charge of any model with generated non-negative values; valid by construction.
rc::Gen<UsageCharge> charges() {
  return rc::gen::apply(
      [](UsageModel model, std::vector<Tier> tiers, Decimal price, Decimal free_units,
         Decimal size) {
        UsageCharge charge = tiered(model, std::move(tiers));
        charge.unit_price = charge.package_price = price;
        charge.free_units = free_units;
        charge.package_size = size;
        return charge;
      },
      rc::gen::element(UsageModel::per_unit, UsageModel::graduated, UsageModel::volume,
                       UsageModel::package),
      tier_lists(), prices(), quantities(), positive(100'000, 2));
}

Decimal price(const UsageCharge& charge, const UsagePart& part) {
  const auto priced = price_usage(charge, part);
  RC_ASSERT(priced.ok());
  return priced->amount;
}

Decimal price_whole(const UsageCharge& charge, const Decimal& quantity) {
  UsagePart part;
  part.quantity = quantity;
  return price(charge, part);
}

RC_GTEST_PROP(PricingProperty, GraduatedEqualsPerUnitPricesTierByTier, ()) {
  const auto tiers = *tier_lists();
  const Decimal quantity = *quantities();
  // Tier i alone is per-unit pricing of the usage up to its bound with its lower bound free,
  // plus its flat fee once usage exceeds that lower bound.
  Decimal expected;
  Decimal lower;
  for (const Tier& tier : tiers) {
    const Decimal reach = tier.up_to && *tier.up_to < quantity ? *tier.up_to : quantity;
    UsageCharge alone = test::per_unit("0");
    alone.unit_price = tier.unit_price;
    alone.free_units = lower;
    expected = sum(expected, price_whole(alone, reach));
    if (tier.flat_fee && quantity > lower) expected = sum(expected, *tier.flat_fee);
    if (tier.up_to) lower = *tier.up_to;
  }
  RC_ASSERT(price_whole(tiered(UsageModel::graduated, tiers), quantity) == expected);
}

RC_GTEST_PROP(PricingProperty, VolumeAndGraduatedAgreeWithOneTier, ()) {
  const Tier open{std::nullopt, *prices(), *sometimes(non_negative(10'000, 2))};
  const Decimal quantity = *quantities();
  const Decimal volume = price_whole(tiered(UsageModel::volume, {open}), quantity);
  RC_ASSERT(volume == price_whole(tiered(UsageModel::graduated, {open}), quantity));
  // And both are quantity × price, plus the fee when there is usage.
  Decimal expected = *quantity.mul(open.unit_price);
  if (open.flat_fee && quantity.sign() > 0) expected = sum(expected, *open.flat_fee);
  RC_ASSERT(volume == expected);
}

// A period's usage split into 1 to 4 parts, priced each from where the previous left off, costs
// what the period costs whole — in every model but percentage, which has no period-wide state.
RC_GTEST_PROP(PricingProperty, PricingAPeriodInPartsEqualsPricingItWhole, ()) {
  const UsageCharge charge = *charges();
  const auto parts =
      *rc::gen::container<std::vector<Decimal>>(*rc::gen::inRange<std::size_t>(1, 5), quantities());
  Decimal total;
  for (const Decimal& quantity : parts) total = sum(total, quantity);
  Decimal by_parts;
  Decimal already_used;
  for (const Decimal& quantity : parts) {
    UsagePart part;
    part.quantity = quantity;
    part.already_used = already_used;
    part.period_quantity = total;  // volume's tier is the period's
    by_parts = sum(by_parts, price(charge, part));
    already_used = sum(already_used, quantity);
  }
  RC_CLASSIFY(charge.model == UsageModel::per_unit, "per_unit");
  RC_CLASSIFY(charge.model == UsageModel::graduated, "graduated");
  RC_CLASSIFY(charge.model == UsageModel::volume, "volume");
  RC_CLASSIFY(charge.model == UsageModel::package, "package");
  RC_ASSERT(by_parts == price_whole(charge, total));
}

RC_GTEST_PROP(PricingProperty, AmountsAreNeverNegativeAndZeroUsageIsFree, ()) {
  const UsageCharge charge = *charges();
  UsagePart part;
  part.quantity = *quantities();
  part.already_used = *quantities();
  RC_ASSERT(price(charge, part).sign() >= 0);
  part.quantity = Decimal();
  RC_ASSERT(price(charge, part).is_zero());
}

RC_GTEST_PROP(PricingProperty, GraduatedNeverFallsAsUsageGrows, ()) {
  const UsageCharge charge = tiered(UsageModel::graduated, *tier_lists());
  const Decimal smaller = *quantities();
  const Decimal larger = sum(smaller, *quantities());
  RC_ASSERT(price_whole(charge, smaller) <= price_whole(charge, larger));
}

RC_GTEST_PROP(PercentageProperty, EventByEventEqualsTheSumWithoutAClamp, ()) {
  UsageCharge charge = test::percentage("0");
  charge.rate = *non_negative(1000, 4);
  charge.fixed_fee = *sometimes(non_negative(100, 2));
  const auto amounts = *rc::gen::nonEmpty(rc::gen::container<std::vector<Decimal>>(quantities()));
  UsagePart each;
  for (const Decimal& amount : amounts) each.quantity = sum(each.quantity, amount);
  each.events = static_cast<std::int64_t>(amounts.size());
  UsagePart summed = each;
  each.event_amounts = amounts;
  RC_ASSERT(price(charge, each) == price(charge, summed));
}

// Events split into parts (a plan change) price as the period whole — also a part whose events
// are all of amount 0 beside parts with payments: zero usage is the period's, not the part's.
RC_GTEST_PROP(PercentageProperty, PartsPriceAsThePeriodWholeWhateverTheirAmounts, ()) {
  UsageCharge charge = test::percentage("0");
  charge.rate = *non_negative(1000, 4);
  charge.fixed_fee = *sometimes(non_negative(100, 2));
  if (*rc::gen::arbitrary<bool>()) {
    const Decimal minimum = *non_negative(1000, 2);
    charge.min_per_event = minimum;
    charge.max_per_event = sum(minimum, *non_negative(1000, 2));
  }
  const auto zero_or_amount = rc::gen::oneOf(rc::gen::just(Decimal()), quantities());
  const auto parts = *rc::gen::container<std::vector<std::vector<Decimal>>>(
      *rc::gen::inRange<std::size_t>(1, 4),
      rc::gen::container<std::vector<Decimal>>(zero_or_amount));
  UsagePart whole;
  for (const auto& amounts : parts) {
    for (const Decimal& amount : amounts) {
      whole.quantity = sum(whole.quantity, amount);
      whole.event_amounts.push_back(amount);
    }
  }
  whole.events = static_cast<std::int64_t>(whole.event_amounts.size());
  Decimal by_parts;
  Decimal already_used;
  for (const auto& amounts : parts) {
    UsagePart part;
    for (const Decimal& amount : amounts) part.quantity = sum(part.quantity, amount);
    part.events = static_cast<std::int64_t>(amounts.size());
    part.event_amounts = amounts;
    part.already_used = already_used;
    part.period_quantity = whole.quantity;
    by_parts = sum(by_parts, price(charge, part));
    already_used = sum(already_used, part.quantity);
  }
  RC_CLASSIFY(whole.quantity.is_zero(), "a period of zero usage");
  RC_ASSERT(by_parts == price(charge, whole));
}

RC_GTEST_PROP(PercentageProperty, EachEventsFeeStaysWithinItsClamp, ()) {
  UsageCharge charge = test::percentage("0");
  charge.rate = *non_negative(1000, 4);
  charge.fixed_fee = *sometimes(non_negative(100, 2));
  const Decimal minimum = *non_negative(1000, 2);
  charge.min_per_event = minimum;
  charge.max_per_event = sum(minimum, *non_negative(1000, 2));
  const auto amounts = *rc::gen::nonEmpty(rc::gen::container<std::vector<Decimal>>(quantities()));
  UsagePart part;
  for (const Decimal& amount : amounts) part.quantity = sum(part.quantity, amount);
  RC_PRE(part.quantity.sign() > 0);
  part.events = static_cast<std::int64_t>(amounts.size());
  part.event_amounts = amounts;
  const Decimal events = Decimal::from_integer(part.events);
  const Decimal amount = price(charge, part);
  RC_ASSERT(*events.mul(*charge.min_per_event) <= amount);
  RC_ASSERT(amount <= *events.mul(*charge.max_per_event));
}

}  // namespace
}  // namespace neruba::domain::pricing
