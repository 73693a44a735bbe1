// ExactSum: what a read adds up never overflows and is exact. Expected values are worked out by
// hand; the property checks it against Decimal::add wherever Decimal can hold the result.
#include "domain/exact_sum.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace neruba::domain {
namespace {

Decimal dec(std::string_view text) {
  const auto value = Decimal::parse(text);
  if (!value) throw std::runtime_error("bad decimal in test: " + std::string(text));
  return *value;
}

TEST(ExactSum, EmptyIsZeroAtScaleZero) {
  const ExactSum sum;
  EXPECT_TRUE(sum.is_zero());
  EXPECT_EQ(sum.to_string(), "0");
  EXPECT_EQ(sum.to_decimal()->to_string(), "0");
}

TEST(ExactSum, KeepsTheLargestScaleAsDecimalAddDoes) {
  ExactSum sum;
  sum.add(dec("1.5"));
  sum.add(dec("2.25"));
  sum.add(dec("-0.750"));
  EXPECT_EQ(sum.to_string(), "3.000");  // 1.5 + 2.25 − 0.750
  EXPECT_EQ(sum.scale(), 3);
}

TEST(ExactSum, NegativeTotalsAndZeroCrossing) {
  ExactSum sum;
  sum.add(dec("-12.5"));
  EXPECT_EQ(sum.to_string(), "-12.5");
  sum.add(dec("2"));
  EXPECT_EQ(sum.to_string(), "-10.5");
  sum.add(dec("10.5"));
  EXPECT_EQ(sum.to_string(), "0.0");
  EXPECT_TRUE(sum.is_zero());
}

// Issue 15, defect 3: two groups of one hour, each within the type, add up beyond it. A read still
// answers, exactly: 999…9 (36 nines) + 0.1 = 999…9.1 (37 significant digits).
TEST(ExactSum, SumsBeyondTheDecimalTypeAreExact) {
  const std::string nines(36, '9');
  ExactSum sum;
  sum.add(dec(nines));
  sum.add(dec("0.1"));
  EXPECT_EQ(sum.to_string(), nines + ".1");
  EXPECT_FALSE(sum.to_decimal());
  // The smallest and largest magnitudes the type holds, together: 36 nines + 10^-36.
  ExactSum widest;
  widest.add(dec(nines));
  widest.add(dec("0." + std::string(35, '0') + "1"));
  EXPECT_EQ(widest.to_string(), nines + "." + std::string(35, '0') + "1");
  // A year of hourly totals, each the largest the type holds: 8,784 × (10^36 − 1).
  ExactSum year;
  for (int hour = 0; hour < 8'784; ++hour) year.add(dec(nines));
  EXPECT_EQ(year.to_string(), "8783" + std::string(32, '9') + "1216");
  ExactSum negative_year;
  for (int hour = 0; hour < 8'784; ++hour) negative_year.add(dec("-" + nines));
  EXPECT_EQ(negative_year.to_string(), "-8783" + std::string(32, '9') + "1216");
}

TEST(ExactSum, MergingSumsIsAddingTheirTerms) {
  ExactSum a;
  a.add(dec("0.1"));
  a.add(dec("7"));
  ExactSum b;
  b.add(dec("-0.05"));
  ExactSum merged = a;
  merged.add(b);
  EXPECT_EQ(merged.to_string(), "7.05");
  ExactSum terms;
  terms.add(dec("0.1"));
  terms.add(dec("7"));
  terms.add(dec("-0.05"));
  EXPECT_EQ(merged, terms);
}

// Where Decimal::add holds the result, ExactSum says the same — value and text.
RC_GTEST_PROP(ExactSumProperty, AgreesWithDecimalWhereDecimalFits, ()) {
  const auto terms = *rc::gen::container<std::vector<std::pair<std::int64_t, int>>>(
      rc::gen::pair(rc::gen::arbitrary<std::int64_t>(), rc::gen::inRange(0, 19)));
  ExactSum sum;
  std::optional<Decimal> reference = Decimal{};
  for (const auto& [coefficient, scale] : terms) {
    const auto term = Decimal::from_parts(coefficient, scale);
    RC_ASSERT(term.ok());
    sum.add(*term);
    if (reference) {
      const auto next = reference->add(*term);
      reference = next ? std::optional(*next) : std::nullopt;
    }
  }
  if (reference) {
    RC_ASSERT(sum.to_string() == reference->to_string());
    RC_ASSERT(sum.to_decimal()->same_representation(*reference));
  }
}

}  // namespace
}  // namespace neruba::domain
