// Priced lines (domain/pricing/lines.hpp): rounded once to the currency's minor unit, fees
// prorated by an exact factor, the minimum commitment's true-up. Hand-computed.
#include "domain/pricing/lines.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pricing_test_support.hpp"

namespace neruba::domain::pricing {
namespace {

using test::dec;

const Currency usd = *Currency::of("USD");

Ratio factor(std::int64_t numerator, std::int64_t denominator) {
  return *Ratio::of(numerator, denominator);
}
const Currency jpy = *Currency::of("JPY");
const Currency kwd = *Currency::of("KWD");

template <typename T>
std::string slug_of(const Result<T, PricingError>& result) {
  return result.ok() ? "ok" : std::string(reason_of(result.error()).slug);
}

TEST(RoundLine, OnceToTheCurrencysMinorUnitInThePlansMode) {
  EXPECT_TRUE(
      round_line(dec("2.345"), usd, RoundingMode::half_even)->same_representation(dec("2.34")));
  EXPECT_TRUE(
      round_line(dec("2.345"), usd, RoundingMode::half_up)->same_representation(dec("2.35")));
  EXPECT_TRUE(round_line(dec("2.5"), jpy, RoundingMode::half_even)->same_representation(dec("2")));
  EXPECT_TRUE(round_line(dec("3.5"), jpy, RoundingMode::half_even)->same_representation(dec("4")));
  EXPECT_TRUE(
      round_line(dec("0.0045"), kwd, RoundingMode::half_even)->same_representation(dec("0.004")));
  EXPECT_TRUE(round_line(dec("7"), kwd, RoundingMode::down)->same_representation(dec("7.000")));
  // 35 integer digits gain two fraction digits: 37 digits do not fit.
  EXPECT_EQ(slug_of(round_line(dec(std::string(35, '9')), usd, RoundingMode::half_even)),
            "amount_out_of_range");
}

TEST(FeeLines, ProratedByAnExactFactorAndRoundedOnce) {
  // 49.00 for 17 of 31 days: 49 × 17 / 31 = 833 / 31 = 26.870967… → 26.87.
  const auto fee =
      recurring_line(RecurringCharge{dec("49.00")}, factor(17, 31), usd, RoundingMode::half_even);
  ASSERT_TRUE(fee.ok());
  EXPECT_TRUE(fee->amount.same_representation(dec("26.87")));
  EXPECT_EQ(fee->full_amount, dec("49"));
  EXPECT_EQ(fee->quantity, 1);
  EXPECT_EQ(fee->factor, factor(17, 31));
  // 3 seats at 10.00 for one third of a period: 30 × 1 / 3 = 10 exactly, never 9.99 (a factor
  // rounded first to 0.33 would give 9.90).
  const auto seats =
      seat_line(SeatCharge{dec("10.00")}, 3, factor(1, 3), usd, RoundingMode::half_even);
  EXPECT_TRUE(seats->amount.same_representation(dec("10.00")));
  EXPECT_EQ(seats->full_amount, dec("30"));
  // 5 seats at 1,000 JPY for 10 of 30 days: 5,000 × 10 / 30 = 1,666.67 → 1,667.
  EXPECT_TRUE(seat_line(SeatCharge{dec("1000")}, 5, factor(10, 30), jpy, RoundingMode::half_even)
                  ->amount.same_representation(dec("1667")));
  // Down rounds toward zero: 1,666.
  EXPECT_TRUE(seat_line(SeatCharge{dec("1000")}, 5, factor(10, 30), jpy, RoundingMode::down)
                  ->amount.same_representation(dec("1666")));
  EXPECT_TRUE(seat_line(SeatCharge{dec("10.00")}, 0, factor(1, 1), usd, RoundingMode::half_even)
                  ->amount.is_zero());
}

TEST(FeeLines, FactorsAndSeatCountsOutsideTheirRangeAreRefused) {
  const RecurringCharge fee{dec("49.00")};
  for (const auto& [numerator, denominator] :
       {std::pair{1, 0}, std::pair{-1, 2}, std::pair{3, 2}, std::pair{1, -2}}) {
    EXPECT_EQ(slug_of(proration_factor_of(numerator, denominator)), "proration_factor_invalid");
  }
  // A Ratio above 1 is a ratio, but no share of a period.
  for (const Ratio& factor : {*Ratio::of(3, 2), *Ratio::of(32, 31)}) {
    EXPECT_EQ(slug_of(recurring_line(fee, factor, usd, RoundingMode::half_even)),
              "proration_factor_invalid");
  }
  EXPECT_EQ(
      slug_of(seat_line(SeatCharge{dec("1")}, -1, factor(1, 1), usd, RoundingMode::half_even)),
      "negative_usage");
  EXPECT_EQ(slug_of(seat_line(SeatCharge{dec(std::string(20, '9'))}, 1'000'000'000'000'000'000,
                              factor(1, 1), usd, RoundingMode::half_even)),
            "amount_out_of_range");
}

TEST(UsageLines, TheExactAmountIsRoundedOnceAtTheLine) {
  // 1,234,567 calls at 0.0000015: 1.8518505 exact → 1.85. Rounding per unit first would have
  // made each call 0.00 and the line 0.
  const auto line =
      usage_line(test::per_unit("0.0000015"), test::usage("1234567"), usd, RoundingMode::half_even);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->priced.amount, dec("1.8518505"));
  EXPECT_TRUE(line->amount.same_representation(dec("1.85")));
  EXPECT_EQ(
      slug_of(usage_line(test::per_unit("1"), test::usage("-1"), usd, RoundingMode::half_even)),
      "negative_usage");
}

TEST(CommitmentLines, TrueUpToTheMinimumNeverBelowZero) {
  // Minimum 100.00, lines 49.00 + 26.87 + 1.85 = 77.72: true-up 22.28.
  const std::vector<Decimal> lines = {dec("49.00"), dec("26.87"), dec("1.85")};
  const auto line =
      commitment_line(dec("100.00"), factor(1, 1), lines, usd, RoundingMode::half_even);
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line->amount.same_representation(dec("22.28")));
  EXPECT_EQ(line->period_total, dec("77.72"));
  EXPECT_TRUE(line->minimum.same_representation(dec("100.00")));
  // Above the minimum: nothing, in cents ("0.00": a data file caught "0").
  EXPECT_TRUE(commitment_line(dec("50"), factor(1, 1), lines, usd, RoundingMode::half_even)
                  ->amount.same_representation(dec("0.00")));
  // A credit of a change counts with its sign: 77.72 − 30.00 = 47.72, true-up 52.28.
  const std::vector<Decimal> with_credit = {dec("49.00"), dec("26.87"), dec("1.85"), dec("-30.00")};
  EXPECT_EQ(commitment_line(dec("100.00"), factor(1, 1), with_credit, usd, RoundingMode::half_even)
                ->amount,
            dec("52.28"));
  // Prorated minimum: 100 × 10 / 31 = 32.258… → 32.26; lines 20.00: true-up 12.26.
  const std::vector<Decimal> short_period = {dec("20.00")};
  const auto prorated =
      commitment_line(dec("100"), factor(10, 31), short_period, usd, RoundingMode::half_even);
  EXPECT_TRUE(prorated->minimum.same_representation(dec("32.26")));
  EXPECT_EQ(prorated->amount, dec("12.26"));
  // A line not rounded to cents would be rounded a second time: refused.
  const std::vector<Decimal> unrounded = {dec("1.005")};
  EXPECT_EQ(
      slug_of(commitment_line(dec("100"), factor(1, 1), unrounded, usd, RoundingMode::half_even)),
      "usage_inconsistent");
}

}  // namespace
}  // namespace neruba::domain::pricing
