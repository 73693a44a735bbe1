// Plan validation (domain/pricing/validation.hpp): each rule on its field with its slug, every
// problem of a plan at once, and the stable slugs of PricingError.
#include "domain/pricing/validation.hpp"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/limits.hpp"
#include "pricing_test_support.hpp"

namespace neruba::domain::pricing {
namespace {

using test::dec;
using test::tier;
using test::tiered;

std::optional<Aggregation> tenant_meters(std::string_view code) {
  if (code == "calls") return Aggregation::count;
  if (code == "payments" || code == "tokens") return Aggregation::sum;
  if (code == "seats_peak") return Aggregation::max;
  return std::nullopt;
}

PlanVersion plan_of(std::vector<Charge> charges) {
  return PlanVersion{.plan_code = "pro", .currency = *Currency::of("USD"), .charges = charges};
}

// "slug@field" for each problem, in order: one string shows the whole answer on failure.
std::vector<std::string> problems_of(const PlanVersion& plan) {
  std::vector<std::string> out;
  for (const PlanProblem& problem : validate(plan, tenant_meters)) {
    out.push_back(std::string(reason_of(problem.reason).slug) + "@" + problem.field);
  }
  return out;
}

using Problems = std::vector<std::string>;

TEST(PlanValidation, AValidPlanWithEveryKindOfChargeHasNoProblem) {
  UsageCharge tokens = tiered(UsageModel::graduated, {tier("1000", "0.01", "5.00"),
                                                      tier("10000", "0.008"), tier({}, "0.005")});
  tokens.meter = "tokens";
  PlanVersion plan = plan_of({RecurringCharge{dec("49.00"), FeeTiming::advance},
                              RecurringCharge{dec("10.00"), FeeTiming::arrears},
                              SeatCharge{dec("10.00")}, test::per_unit("0.002", "1000"), tokens,
                              test::percentage("0.029", "0.30", "0.50", "10.00")});
  plan.minimum_commitment = dec("100.00");
  EXPECT_EQ(problems_of(plan), Problems{});
}

TEST(PlanValidation, TiersAscendStrictlyAndEndOpen) {
  // Equal bounds would make the second tier empty; a descending one would overlap the first.
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::graduated,
                                        {tier("100", "1"), tier("100", "0.5"), tier({}, "0.1")})})),
            Problems{"tier_not_ascending@charges[0].tiers[1].up_to"});
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::volume,
                                        {tier("100", "1"), tier("50", "0.5"), tier({}, "0.1")})})),
            Problems{"tier_not_ascending@charges[0].tiers[1].up_to"});
  // Against the highest bound so far: 70 is above 50 but inside the first tier.
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::graduated, {tier("100", "1"), tier("50", "1"),
                                                                tier("70", "1"), tier({}, "1")})})),
            (Problems{"tier_not_ascending@charges[0].tiers[1].up_to",
                      "tier_not_ascending@charges[0].tiers[2].up_to"}));
  EXPECT_EQ(
      problems_of(plan_of({tiered(UsageModel::graduated, {tier("100", "1"), tier("200", "1")})})),
      Problems{"tier_last_not_open@charges[0].tiers[1].up_to"});
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::volume, {tier({}, "1"), tier({}, "0.5")})})),
            Problems{"tier_open_before_last@charges[0].tiers[0].up_to"});
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::graduated, {tier("0", "1"), tier({}, "1")})})),
            Problems{"tier_up_to_not_positive@charges[0].tiers[0].up_to"});
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::graduated, {tier("-5", "1"), tier({}, "1")})})),
            Problems{"tier_up_to_not_positive@charges[0].tiers[0].up_to"});
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::graduated, {})})),
            Problems{"tiers_required@charges[0].tiers"});
  // Fractional bounds are fine: quantities are decimals (GB-hours, tokens in thousands).
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::graduated,
                                        {tier("0.5", "1"), tier("1.25", "1"), tier({}, "1")})})),
            Problems{});
}

TEST(PlanValidation, TooManyTiers) {
  std::vector<Tier> tiers;
  for (std::size_t index = 1; index <= neruba::limits::tiers_max; ++index) {
    tiers.push_back(tier(std::to_string(index), "1"));
  }
  tiers.push_back(tier({}, "1"));
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::graduated, tiers)})),
            Problems{"too_many_tiers@charges[0].tiers"});
  tiers.erase(tiers.begin());  // exactly tiers_max
  EXPECT_EQ(problems_of(plan_of({tiered(UsageModel::graduated, tiers)})), Problems{});
}

TEST(PlanValidation, PricesAreNonNegativeAndAtMostTwelveDigitsFine) {
  EXPECT_EQ(problems_of(plan_of({RecurringCharge{dec("-1.00")}, SeatCharge{dec("-0.01")}})),
            (Problems{"negative_price@charges[0].amount", "negative_price@charges[1].unit_price"}));
  EXPECT_EQ(problems_of(plan_of(
                {tiered(UsageModel::graduated, {tier("10", "-1"), tier({}, "1", "-2.00")})})),
            (Problems{"negative_price@charges[0].tiers[0].unit_price",
                      "negative_price@charges[0].tiers[1].flat_fee"}));
  EXPECT_EQ(problems_of(plan_of({test::per_unit("0.0000000000001")})),
            Problems{"price_too_precise@charges[0].unit_price"});
  EXPECT_EQ(problems_of(plan_of({test::per_unit("0.000000000001")})), Problems{});
  EXPECT_EQ(problems_of(plan_of({test::per_unit("1", "-1")})),
            Problems{"negative_free_units@charges[0].free_units"});
  PlanVersion plan = plan_of({});
  plan.minimum_commitment = dec("-100");
  EXPECT_EQ(problems_of(plan), Problems{"negative_price@minimum_commitment"});
}

TEST(PlanValidation, PackagesHoldUnits) {
  EXPECT_EQ(problems_of(plan_of({test::package("0", "5")})),
            Problems{"package_size_not_positive@charges[0].package_size"});
  EXPECT_EQ(problems_of(plan_of({test::package("-100", "5", "-1")})),
            (Problems{"package_size_not_positive@charges[0].package_size",
                      "negative_free_units@charges[0].free_units"}));
  EXPECT_EQ(problems_of(plan_of({test::package("0.5", "-5")})),
            Problems{"negative_price@charges[0].package_price"});
}

TEST(PlanValidation, PercentageChargesNeedASumMeterAndAnOrderedClamp) {
  EXPECT_EQ(problems_of(plan_of({test::percentage("0.029", "0.30", "5.00", "1.00")})),
            Problems{"percentage_min_above_max@charges[0].min_per_event"});
  // Equal bounds make every event's fee that one amount: odd, but a price.
  EXPECT_EQ(problems_of(plan_of({test::percentage("0.029", {}, "1.00", "1.00")})), Problems{});
  EXPECT_EQ(problems_of(plan_of({test::percentage("-0.01", "-0.30", "-1", "-2")})),
            (Problems{"negative_price@charges[0].rate", "negative_price@charges[0].fixed_fee",
                      "negative_price@charges[0].min_per_event",
                      "negative_price@charges[0].max_per_event",
                      "percentage_min_above_max@charges[0].min_per_event"}));
  UsageCharge on_count = test::percentage("0.01");
  on_count.meter = "calls";
  EXPECT_EQ(problems_of(plan_of({on_count})), Problems{"meter_not_summable@charges[0].meter"});
  on_count.meter = "seats_peak";
  EXPECT_EQ(problems_of(plan_of({on_count})), Problems{"meter_not_summable@charges[0].meter"});
}

TEST(PlanValidation, MetersAreKnownAndPricedOnce) {
  UsageCharge unknown = test::per_unit("1");
  unknown.meter = "nope";
  EXPECT_EQ(problems_of(plan_of({unknown})), Problems{"unknown_meter@charges[0].meter"});
  EXPECT_EQ(problems_of(plan_of({test::per_unit("1"), RecurringCharge{dec("5")},
                                 tiered(UsageModel::volume, {tier({}, "1")})})),
            Problems{"meter_priced_twice@charges[2].meter"});
  EXPECT_EQ(problems_of(plan_of({SeatCharge{dec("10")}, SeatCharge{dec("12")}})),
            Problems{"seat_priced_twice@charges[1]"});
}

TEST(PlanValidation, EveryProblemIsReportedInFieldOrder) {
  UsageCharge unknown = tiered(UsageModel::graduated, {tier("10", "1"), tier("5", "-1")});
  unknown.meter = "nope";
  PlanVersion plan = plan_of({RecurringCharge{dec("-1")}, unknown, test::package("0", "1")});
  plan.minimum_commitment = dec("-1");
  EXPECT_EQ(problems_of(plan), (Problems{
                                   "negative_price@minimum_commitment",
                                   "negative_price@charges[0].amount",
                                   "tier_last_not_open@charges[1].tiers[1].up_to",
                                   "tier_not_ascending@charges[1].tiers[1].up_to",
                                   "negative_price@charges[1].tiers[1].unit_price",
                                   "unknown_meter@charges[1].meter",
                                   "package_size_not_positive@charges[2].package_size",
                               }));
  const Error error = plan_error(validate(plan, tenant_meters));
  EXPECT_EQ(error.code, ErrorCode::validation_failed);
  ASSERT_EQ(error.errors.size(), 7u);
  EXPECT_EQ(error.errors[3].field, "charges[1].tiers[1].up_to");
  EXPECT_EQ(error.errors[3].type, "tier_not_ascending");
  EXPECT_EQ(error.errors[3].detail, "up_to 5 is not above the previous tier's 10");
}

TEST(PricingError, SlugsAreStableDistinctAndSnakeCase) {
  const std::vector<std::pair<PricingError, std::string_view>> expected = {
      {PricingError::negative_price, "negative_price"},
      {PricingError::negative_free_units, "negative_free_units"},
      {PricingError::price_too_precise, "price_too_precise"},
      {PricingError::tiers_required, "tiers_required"},
      {PricingError::too_many_tiers, "too_many_tiers"},
      {PricingError::tier_up_to_not_positive, "tier_up_to_not_positive"},
      {PricingError::tier_not_ascending, "tier_not_ascending"},
      {PricingError::tier_last_not_open, "tier_last_not_open"},
      {PricingError::tier_open_before_last, "tier_open_before_last"},
      {PricingError::package_size_not_positive, "package_size_not_positive"},
      {PricingError::percentage_min_above_max, "percentage_min_above_max"},
      {PricingError::unknown_meter, "unknown_meter"},
      {PricingError::meter_not_summable, "meter_not_summable"},
      {PricingError::meter_priced_twice, "meter_priced_twice"},
      {PricingError::seat_priced_twice, "seat_priced_twice"},
      {PricingError::charge_invalid, "charge_invalid"},
      {PricingError::negative_usage, "negative_usage"},
      {PricingError::usage_inconsistent, "usage_inconsistent"},
      {PricingError::event_amounts_missing, "event_amounts_missing"},
      {PricingError::proration_factor_invalid, "proration_factor_invalid"},
      {PricingError::amount_out_of_range, "amount_out_of_range"},
      {PricingError::amount_too_precise, "amount_too_precise"},
      {PricingError::not_a_billing_instant, "not_a_billing_instant"},
      {PricingError::plan_version_missing, "plan_version_missing"},
      {PricingError::currency_mismatch, "currency_mismatch"},
      {PricingError::calendar_invalid, "calendar_invalid"},
      {PricingError::timeline_invalid, "timeline_invalid"},
  };
  std::set<std::string_view> seen;
  for (const auto& [error, slug] : expected) {
    EXPECT_EQ(reason_of(error).slug, slug);
    EXPECT_TRUE(seen.insert(slug).second) << slug;
  }
  // A plan's problems are 422s; a result beyond Decimal is out_of_range; a caller's bug internal.
  EXPECT_EQ(reason_of(PricingError::tier_not_ascending).code, ErrorCode::validation_failed);
  EXPECT_EQ(reason_of(PricingError::negative_usage).code, ErrorCode::validation_failed);
  EXPECT_EQ(reason_of(PricingError::amount_out_of_range).code, ErrorCode::out_of_range);
  EXPECT_EQ(reason_of(PricingError::amount_too_precise).code, ErrorCode::out_of_range);
  EXPECT_EQ(reason_of(PricingError::usage_inconsistent).code, ErrorCode::internal);
  EXPECT_EQ(reason_of(PricingError::proration_factor_invalid).code, ErrorCode::internal);
}

}  // namespace
}  // namespace neruba::domain::pricing
