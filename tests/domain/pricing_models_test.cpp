// The usage models (domain/pricing/models.hpp) on hand-computed cases, the arithmetic beside each;
// the data files (tests/data/pricing) hold many more, these check the explanations in full.
#include "domain/pricing/models.hpp"

#include <string>

#include <gtest/gtest.h>

#include "pricing_test_support.hpp"

namespace neruba::domain::pricing {
namespace {

using test::dec;
using test::tier;
using test::tiered;
using test::usage;

UsageAmount priced(const UsageCharge& charge, const UsagePart& part) {
  auto result = price_usage(charge, part);
  EXPECT_TRUE(result.ok()) << reason_of(result.error()).slug;
  return result.ok() ? *result : UsageAmount{};
}

std::string failure(const UsageCharge& charge, const UsagePart& part) {
  auto result = price_usage(charge, part);
  return result.ok() ? "ok " + result->amount.to_string()
                     : std::string(reason_of(result.error()).slug);
}

// "index:units×price+fee=amount" for each tier line.
std::string tiers_of(const UsageExplanation& explanation) {
  std::string out;
  for (const TierUsage& line : explanation.tiers) {
    if (!out.empty()) out += " ";
    out += std::to_string(line.tier) + ":(" + line.from.to_string() + "," +
           (line.to ? line.to->to_string() : "inf") + "]" + line.units.to_string() + "x" +
           line.unit_price.to_string() + "+" + line.flat_fee.to_string() + "=" +
           line.amount.to_string();
  }
  return out;
}

// Lago's graduated example: $1 for the first 100 units, $0.50 for the next 100, $0.10 above;
// here with flat fees 10, 20 and 30 on the tiers.
UsageCharge lago_graduated() {
  return tiered(UsageModel::graduated,
                {tier("100", "1", "10"), tier("200", "0.50", "20"), tier({}, "0.10", "30")});
}

TEST(GraduatedModel, EachTierPricesItsUnitsAndChargesItsFeeOnceEntered) {
  // 250 units: 100 × 1 + 10, 100 × 0.50 + 20, 50 × 0.10 + 30 = 110 + 70 + 35 = 215.
  const UsageAmount amount = priced(lago_graduated(), usage("250"));
  EXPECT_EQ(amount.amount, dec("215"));
  EXPECT_EQ(tiers_of(amount.explanation),
            "0:(0,100]100x1+10=110 1:(100,200]100x0.50+20=70.00 2:(200,inf]50x0.10+30=35.00");
  EXPECT_EQ(amount.explanation.period_quantity, dec("250"));
}

TEST(GraduatedModel, AtATierEdgeTheNextTierIsNotEntered) {
  // 200 units end tier 1 exactly: tier 2's fee is charged only once usage exceeds 200.
  // 100 × 1 + 10 + 100 × 0.50 + 20 = 180.
  const UsageAmount amount = priced(lago_graduated(), usage("200"));
  EXPECT_EQ(amount.amount, dec("180"));
  EXPECT_EQ(amount.explanation.tiers.size(), 2u);
  // One more thousandth enters it: 180 + 0.001 × 0.10 + 30 = 210.0001.
  EXPECT_EQ(priced(lago_graduated(), usage("200.001")).amount, dec("210.0001"));
}

TEST(GraduatedModel, ZeroUsageChargesNothingNotEvenTheFirstFlatFee) {
  const UsageAmount amount = priced(lago_graduated(), usage("0"));
  EXPECT_EQ(amount.amount, dec("0"));
  EXPECT_TRUE(amount.explanation.tiers.empty());
}

TEST(GraduatedModel, APartIsPricedFromWhereTheEarlierPartsLeftOff) {
  // The period has 250 units: 150 before a plan change, 100 after. The second part covers
  // (150, 250]: 50 in tier 1 at 0.50 (fee already charged by the first part, which crossed 100),
  // and 50 in tier 2 at 0.10 plus its fee 30: 25 + 5 + 30 = 60. The first part (0, 150]:
  // 100 × 1 + 10 + 50 × 0.50 + 20 = 155. 155 + 60 = 215, the whole period's amount.
  const UsageAmount second = priced(lago_graduated(), usage("100", "150"));
  EXPECT_EQ(second.amount, dec("60"));
  EXPECT_EQ(tiers_of(second.explanation), "1:(100,200]50x0.50+0=25.00 2:(200,inf]50x0.10+30=35.00");
  EXPECT_EQ(priced(lago_graduated(), usage("150")).amount, dec("155"));
  // A part starting exactly at a tier edge enters the next tier and charges its fee:
  // (200, 210]: 10 × 0.10 + 30 = 31.
  EXPECT_EQ(priced(lago_graduated(), usage("10", "200")).amount, dec("31"));
}

TEST(VolumeModel, TheTierHoldingTheTotalPricesEveryUnit) {
  // Lago's volume example: tiers to 10,000 at 0.0010, to 50,000 at 0.0008, to 100,000 at
  // 0.0006, above at 0.0004, each with a $10 fee. 65,000 units: 65,000 × 0.0006 + 10 = 49.
  const UsageCharge charge =
      tiered(UsageModel::volume, {tier("10000", "0.0010", "10"), tier("50000", "0.0008", "10"),
                                  tier("100000", "0.0006", "10"), tier({}, "0.0004", "10")});
  const UsageAmount amount = priced(charge, usage("65000"));
  EXPECT_EQ(amount.amount, dec("49"));
  EXPECT_EQ(tiers_of(amount.explanation), "2:(50000,100000]65000x0.0006+10=49.0000");
  EXPECT_EQ(amount.explanation.unit_price, dec("0.0006"));
  // At the edge, the tier whose up_to it is: 50,000 × 0.0008 + 10 = 50.
  EXPECT_EQ(priced(charge, usage("50000")).amount, dec("50"));
  EXPECT_EQ(priced(charge, usage("50000")).explanation.tiers[0].tier, 1u);
}

TEST(VolumeModel, APartIsPricedAtTheTierOfThePeriodsTotal) {
  const UsageCharge charge =
      tiered(UsageModel::volume, {tier("100", "1", "5"), tier({}, "0.5", "7")});
  // 80 then 40 units: the period's 120 fall in tier 1, so both parts pay 0.5 a unit; the fee is
  // charged by the part holding the first unit. 80 × 0.5 + 7 = 47; 40 × 0.5 = 20; whole:
  // 120 × 0.5 + 7 = 67 = 47 + 20.
  UsagePart first = usage("80");
  first.period_quantity = dec("120");
  EXPECT_EQ(priced(charge, first).amount, dec("47"));
  EXPECT_EQ(priced(charge, usage("40", "80")).amount, dec("20"));
  EXPECT_EQ(priced(charge, usage("120")).amount, dec("67"));
  // A total below what the parts hold is a caller's bug, not a price.
  first.period_quantity = dec("79");
  EXPECT_EQ(failure(charge, first), "usage_inconsistent");
}

TEST(PerUnitModel, FreeUnitsFirstAndNeverBelowZero) {
  const UsageCharge charge = test::per_unit("0.002", "1000");
  // 1,500 calls, 1,000 free: 500 × 0.002 = 1.
  const UsageAmount amount = priced(charge, usage("1500"));
  EXPECT_EQ(amount.amount, dec("1"));
  EXPECT_EQ(amount.explanation.free_units_applied, dec("1000"));
  EXPECT_EQ(amount.explanation.billable_units, dec("500"));
  EXPECT_EQ(priced(charge, usage("999")).amount, dec("0"));
  // The free units are the period's: a part after 800 units has 200 left. 500 − 200 = 300
  // billable, 300 × 0.002 = 0.6.
  const UsageAmount part = priced(charge, usage("500", "800"));
  EXPECT_EQ(part.amount, dec("0.6"));
  EXPECT_EQ(part.explanation.free_units_applied, dec("200"));
}

TEST(PackageModel, FreeUnitsFirstThenWholePackagesRoundedUp) {
  // Lago's package example: $5 per 100 units, the first 100 free. 201 units: 101 billable,
  // ceil(101 / 100) = 2 packages, 2 × 5 = 10.
  const UsageCharge charge = test::package("100", "5", "100");
  const UsageAmount amount = priced(charge, usage("201"));
  EXPECT_EQ(amount.amount, dec("10"));
  EXPECT_EQ(amount.explanation.packages, dec("2"));
  EXPECT_EQ(amount.explanation.free_units_applied, dec("100"));
  EXPECT_EQ(amount.explanation.billable_units, dec("101"));
  EXPECT_EQ(amount.explanation.unit_price, dec("5"));
  // A part after 150 units pays only for packages it starts: billable before 50 (1 package
  // started), after 150 + 60 − 100 = 110 (2 packages): 1 package, 5.
  const UsageAmount part = priced(charge, usage("60", "150"));
  EXPECT_EQ(part.amount, dec("5"));
  EXPECT_EQ(part.explanation.packages, dec("1"));
  // A part that only fills a package begun earlier pays nothing: (150, 190] billable (50, 90].
  EXPECT_EQ(priced(charge, usage("40", "150")).amount, dec("0"));
}

TEST(PercentageModel, RatePlusFixedFeePerEvent) {
  // Lago's percentage example: 1.2% and $0.10 a transaction; a $50 transaction costs
  // 50 × 0.012 + 0.10 = 0.70.
  EXPECT_EQ(priced(test::percentage("0.012", "0.10"), test::events({"50"})).amount, dec("0.7"));
  // Without clamps the sum and the count suffice: 3 events of 300 in all,
  // 300 × 0.029 + 3 × 0.30 = 8.7 + 0.9 = 9.6.
  UsagePart summed = usage("300");
  summed.events = 3;
  EXPECT_EQ(priced(test::percentage("0.029", "0.30"), summed).amount, dec("9.6"));
}

TEST(PercentageModel, EachEventIsClampedToItsMinimumAndMaximum) {
  // 2% + 0.10, at least 0.50 and at most 5.00 an event. Events 10, 100, 1000:
  // 0.30 → 0.50 (raised), 2.10, 20.10 → 5.00 (lowered). 0.50 + 2.10 + 5.00 = 7.60.
  const UsageAmount amount =
      priced(test::percentage("0.02", "0.10", "0.50", "5.00"), test::events({"10", "100", "1000"}));
  EXPECT_EQ(amount.amount, dec("7.6"));
  EXPECT_EQ(amount.explanation.events, 3);
  EXPECT_EQ(amount.explanation.events_at_minimum, 1);
  EXPECT_EQ(amount.explanation.events_at_maximum, 1);
  // A clamp cannot be applied to a sum: each event's amount is needed.
  UsagePart summed = usage("1110");
  summed.events = 3;
  EXPECT_EQ(failure(test::percentage("0.02", "0.10", "0.50", "5.00"), summed),
            "event_amounts_missing");
}

TEST(PercentageModel, ZeroUsageChargesNoFixedFeeAndNoMinimum) {
  UsagePart none = usage("0");
  EXPECT_EQ(priced(test::percentage("0.02", "0.10", "0.50"), none).amount, dec("0"));
  // Events that sum to zero are zero usage too (API.md: no minimum per event).
  EXPECT_EQ(priced(test::percentage("0.02", "0.10", "0.50"), test::events({"0", "0"})).amount,
            dec("0"));
}

TEST(UsageInput, InconsistentOrNegativeUsageIsRefused) {
  const UsageCharge percent = test::percentage("0.02");
  UsagePart part = test::events({"10", "20"});
  part.quantity = dec("31");
  EXPECT_EQ(failure(percent, part), "usage_inconsistent");
  part = test::events({"10", "20"});
  part.events = 3;
  EXPECT_EQ(failure(percent, part), "usage_inconsistent");
  EXPECT_EQ(failure(percent, usage("10")), "usage_inconsistent");  // a sum without events
  EXPECT_EQ(failure(percent, test::events({"10", "-5"})), "negative_usage");
  EXPECT_EQ(failure(test::per_unit("1"), usage("-1")), "negative_usage");
  EXPECT_EQ(failure(test::per_unit("1"), usage("1", "-1")), "negative_usage");
  // A charge validation refuses is never priced.
  EXPECT_EQ(failure(test::package("0", "5"), usage("10")), "charge_invalid");
  EXPECT_EQ(failure(tiered(UsageModel::graduated, {tier("10", "1")}), usage("20")),
            "charge_invalid");
}

// The period engine prices stored (validated) charges without checking them again; a charge that
// validation would refuse still never reads past its tiers nor leaves units unpriced.
TEST(UsageInput, AValidatedChargesPricingRefusesTiersThatHoldNoTierForTheUsage) {
  const auto validated_failure = [](const UsageCharge& charge, const UsagePart& part) {
    const auto priced = price_validated_usage(charge, part);
    return priced ? std::string("ok ") + priced->amount.to_string()
                  : std::string(reason_of(priced.error()).slug);
  };
  EXPECT_EQ(validated_failure(tiered(UsageModel::volume, {tier("10", "1")}), usage("20")),
            "charge_invalid");
  EXPECT_EQ(validated_failure(tiered(UsageModel::volume, {}), usage("20")), "charge_invalid");
  EXPECT_EQ(validated_failure(tiered(UsageModel::graduated, {tier("10", "1")}), usage("20")),
            "charge_invalid");
  // Inside the closed tier it prices as the charge says: 5 × 1.
  EXPECT_EQ(validated_failure(tiered(UsageModel::graduated, {tier("10", "1")}), usage("5")),
            "ok 5");
}

TEST(UsageInput, BeyondThirtySixDigitsIsAPreciseErrorNeverAWrongNumber) {
  const std::string nines(36, '9');  // the largest quantity a Decimal holds
  EXPECT_EQ(failure(test::per_unit("2"), usage(nines)), "amount_out_of_range");
  EXPECT_EQ(failure(test::per_unit("1"), usage(nines)), "ok " + nines);
  // already_used + quantity beyond the range.
  EXPECT_EQ(failure(test::per_unit("1"), usage("1", nines)), "amount_out_of_range");
  // 25 fraction digits × a price with 12 would need 37.
  EXPECT_EQ(failure(test::per_unit("0.000000000001"), usage("0.0000000000000000000000001")),
            "amount_too_precise");
}

}  // namespace
}  // namespace neruba::domain::pricing
