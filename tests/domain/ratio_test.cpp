// Unit tests for domain::Ratio and apply: the exact proration factor and the one rounding of a
// prorated line. Expected values are worked out by hand, the arithmetic in the comments.
#include "domain/ratio.hpp"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include "decimal_test_support.hpp"

namespace neruba::domain {
namespace {

using test::dec;
using test::result_text;

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

Ratio ratio(std::int64_t numerator, std::int64_t denominator) {
  return Ratio::of(numerator, denominator).value();
}

TEST(Ratio, IsNormalizedToLowestTerms) {
  // gcd(1339200, 2678400) = 1339200: half of a 31-day month in seconds
  EXPECT_EQ(ratio(1'339'200, 2'678'400).to_string(), "1/2");
  EXPECT_EQ(ratio(82'800, 2'674'800).to_string(), "23/743");  // both / 3600; 743 is prime
  EXPECT_EQ(ratio(0, 7).to_string(), "0/1");
  EXPECT_EQ(ratio(31, 31), Ratio::one());
  EXPECT_EQ(Ratio(), ratio(0, 5));
  EXPECT_EQ(ratio(2, 4), ratio(1, 2));  // equal values have equal members
  EXPECT_NE(ratio(1, 3), ratio(1, 2));
}

TEST(Ratio, RefusesAZeroDenominatorAndNegativeMembers) {
  EXPECT_EQ(Ratio::of(1, 0).error(), RatioError::zero_denominator);
  EXPECT_EQ(Ratio::of(0, 0).error(), RatioError::zero_denominator);
  EXPECT_EQ(Ratio::of(-1, 2).error(), RatioError::negative);
  EXPECT_EQ(Ratio::of(1, -2).error(), RatioError::negative);
  EXPECT_EQ(reason_of(RatioError::zero_denominator).slug, "ratio_zero_denominator");
  EXPECT_EQ(reason_of(RatioError::negative).slug, "ratio_negative");
  EXPECT_EQ(reason_of(RatioError::overflow).slug, "ratio_overflow");
  EXPECT_EQ(reason_of(RatioError::overflow).code, ErrorCode::out_of_range);
}

TEST(Ratio, AddsExactly) {
  // 15/31 + 16/31 = 31/31 = 1
  EXPECT_EQ(ratio(15, 31).add(ratio(16, 31)).value(), Ratio::one());
  // 1/6 + 1/3 = 1/6 + 2/6 = 3/6 = 1/2
  EXPECT_EQ(ratio(1, 6).add(ratio(1, 3)).value(), ratio(1, 2));
  // 23/743 + 1/2 = (46 + 743) / 1486 = 789/1486 (789 = 3 × 263, 1486 = 2 × 743: coprime)
  EXPECT_EQ(ratio(23, 743).add(ratio(1, 2)).value().to_string(), "789/1486");
}

TEST(Ratio, AnAdditionThatDoesNotFitIsOverflowNeverAWrap) {
  // 1/(2^63 - 1) + 1/(2^63 - 2): coprime denominators (consecutive), so the sum's denominator is
  // their product, about 2^126: no int64 holds it. The 128-bit intermediate holds it exactly.
  EXPECT_EQ(ratio(1, int64_max).add(ratio(1, int64_max - 1)).error(), RatioError::overflow);
  // (2^63 - 1)/1 + (2^63 - 1)/1 = 2^64 - 2: the numerator does not fit.
  EXPECT_EQ(ratio(int64_max, 1).add(ratio(int64_max, 1)).error(), RatioError::overflow);
  // A sum whose intermediate is beyond int64 but normalizes back into it is fine:
  // 1/(2^63 - 1) + (2^63 - 2)/(2^63 - 1) = (2^63 - 1)/(2^63 - 1) = 1/1
  EXPECT_EQ(ratio(1, int64_max).add(ratio(int64_max - 1, int64_max)).value(), Ratio::one());
  // 2^62/(2^63 - 1) twice = 2^63/(2^63 - 1), coprime (2^63 - 1 is odd): 2^63 > int64 max.
  const std::int64_t half = std::int64_t{1} << 62;
  EXPECT_EQ(ratio(half, int64_max).add(ratio(half, int64_max)).error(), RatioError::overflow);
}

TEST(Ratio, ParsesWhatItWrites) {
  EXPECT_EQ(Ratio::parse("13/31"), ratio(13, 31));
  EXPECT_EQ(Ratio::parse("2/4"), ratio(1, 2));
  EXPECT_EQ(Ratio::parse("0/1"), Ratio());
  for (const char* bad : {"1", "1/0", "-1/2", "1/-2", "+1/2", " 1/2", "1/2 ", "1//2", "/2", "1/",
                          "a/b", "1.5/2", "99999999999999999999/1"}) {
    EXPECT_FALSE(Ratio::parse(bad).has_value()) << bad;
  }
}

TEST(RatioApply, MultipliesExactlyAndRoundsOnceAtTheLine) {
  // 49.00 × 16/31 = 784/31 = 25.290322… → 25.29 (31 × 25 = 775, 9/31 = 0.2903…)
  EXPECT_EQ(result_text(apply(dec("49.00"), ratio(16, 31), 2, RoundingMode::half_even)), "25.29");
  // 49.00 × 15/31 = 735/31 = 23.709677… → 23.71
  EXPECT_EQ(result_text(apply(dec("49.00"), ratio(15, 31), 2, RoundingMode::half_even)), "23.71");
  // Rounded once: 100.00 × 2/3 = 66.666… → 66.67; a factor rounded first to 0.67 would give
  // 67.00, to 0.6667 would give 66.67 only by luck.
  EXPECT_EQ(result_text(apply(dec("100.00"), ratio(2, 3), 2, RoundingMode::half_even)), "66.67");
  // Ties follow the mode: 0.05 × 1/2 = 0.025 → half_even 0.02, half_up 0.03, down 0.02, up 0.03
  EXPECT_EQ(result_text(apply(dec("0.05"), ratio(1, 2), 2, RoundingMode::half_even)), "0.02");
  EXPECT_EQ(result_text(apply(dec("0.05"), ratio(1, 2), 2, RoundingMode::half_up)), "0.03");
  EXPECT_EQ(result_text(apply(dec("0.05"), ratio(1, 2), 2, RoundingMode::down)), "0.02");
  EXPECT_EQ(result_text(apply(dec("0.05"), ratio(1, 2), 2, RoundingMode::up)), "0.03");
  // JPY (0 digits): 1000 × 23/743 = 23000/743 = 30.955… → 31 (743 × 30 = 22290, 710/743 > 1/2)
  EXPECT_EQ(result_text(apply(dec("1000"), ratio(23, 743), 0, RoundingMode::half_even)), "31");
  // KWD (3 digits): 10.000 × 1/3 = 3.3333… → 3.333
  EXPECT_EQ(result_text(apply(dec("10.000"), ratio(1, 3), 3, RoundingMode::half_even)), "3.333");
  // The whole factor changes nothing but the scale; zero is zero.
  EXPECT_EQ(result_text(apply(dec("12.5"), Ratio::one(), 2, RoundingMode::half_even)), "12.50");
  EXPECT_EQ(result_text(apply(dec("12.50"), Ratio(), 2, RoundingMode::half_even)), "0.00");
  // A credit (negative amount) rounds symmetrically: -0.05 × 1/2 = -0.025 → half_up -0.03
  EXPECT_EQ(result_text(apply(dec("-0.05"), ratio(1, 2), 2, RoundingMode::half_up)), "-0.03");
}

TEST(RatioApply, ReportsTheDecimalErrors) {
  // A scale outside 0..36 is reported first, whatever the product.
  EXPECT_EQ(result_text(apply(dec("1"), ratio(1, 2), 37, RoundingMode::half_even)),
            "error:scale_out_of_range");
  EXPECT_EQ(result_text(apply(dec("1"), ratio(1, 2), -1, RoundingMode::half_even)),
            "error:scale_out_of_range");
  // 10^30 × 2678400 has 37 digits: the exact product does not fit a Decimal.
  EXPECT_EQ(result_text(apply(dec("1000000000000000000000000000000"), ratio(2'678'400, 2'678'401),
                              2, RoundingMode::half_even)),
            "error:overflow");
  // 10^28 × 31536000 (a 365-day year's seconds, 8 digits) = 3.1536 × 10^35 < 10^36: it fits.
  EXPECT_TRUE(apply(dec("10000000000000000000000000000"), ratio(31'536'000, 31'536'001), 0,
                    RoundingMode::half_even)
                  .ok());
}

}  // namespace
}  // namespace neruba::domain
