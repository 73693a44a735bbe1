// Unit tests for neruba::domain::Decimal. Expected values are worked out by hand and cross-checked
// with Python's decimal module (scripts/decimal_oracle.py semantics), never taken from this code.
#include "domain/decimal.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "decimal_test_support.hpp"

namespace neruba::domain {
namespace {

using test::dec;
using test::result_text;

const std::string max_integer(36, '9');  // the largest coefficient: 10^36 - 1
const std::string one_unit_at_scale_36 = "0." + std::string(35, '0') + "1";  // 10^-36

struct TextCase {
  std::string input;
  std::string expected;  // the value's text, or "error:<name>"
};

// --- parsing ---------------------------------------------------------------------------------

TEST(DecimalParse, AcceptsPlainAndJsonNumbers) {
  const std::vector<TextCase> cases = {
      {"0", "0"},
      {"-0", "0"},
      {"-0.00", "0.00"},
      {"7", "7"},
      {"-7", "-7"},
      {"0.5", "0.5"},
      {"1.50", "1.50"},
      {"-0.50", "-0.50"},
      {"0.000001", "0.000001"},
      {"123456789012345678901234567890123456", "123456789012345678901234567890123456"},
      {"-" + max_integer, "-" + max_integer},
      {one_unit_at_scale_36, one_unit_at_scale_36},
      {"1000000000000000.000000000000", "1000000000000000.000000000000"},
      // Exponent forms are exact, and normalized to a scale of at least zero.
      {"1e3", "1000"},
      {"-2.5E-4", "-0.00025"},
      {"1.0e+2", "100"},
      {"1.50e1", "15.0"},
      {"12e-1", "1.2"},
      {"1E0", "1"},
      {"1e007", "10000000"},  // JSON allows leading zeros in the exponent
      {"0e5", "0"},
      {"0.000e2", "0.0"},
      {"-0e-2", "0.00"},
      {"9.99e35", "999" + std::string(33, '0')},
      {"1e-36", one_unit_at_scale_36},
      {"1e0000000000000000000000000000000000001", "10"},
  };
  for (const TextCase& c : cases) {
    EXPECT_EQ(result_text(Decimal::parse(c.input)), c.expected) << "input: \"" << c.input << '"';
  }
}

TEST(DecimalParse, RejectsWhatJsonRejects) {
  const std::vector<std::string> inputs = {
      "",    "-",     "+1",    "+0",   " 1",       "1 ",   "\t1",   "1\n",  "- 1",   "--1",
      "1.",  ".5",    "-.5",   "01",   "-01",      "00",   "00.5",  "1..2", "1.2.3", "1,5",
      "NaN", "nan",   "Inf",   "-Inf", "Infinity", "0x10", "1_000", "1e",   "1e+",   "1e-",
      "e5",  "1E+-2", "1e5.5", "1e 5", "0.5e",     "1f",   "1d",    "١",    "１",    "1e٣",
  };
  for (const std::string& input : inputs) {
    EXPECT_EQ(result_text(Decimal::parse(input)), "error:invalid_syntax")
        << "input: \"" << input << '"';
  }
}

TEST(DecimalParse, RejectsValuesOutOfRange) {
  const std::vector<TextCase> cases = {
      {"1" + std::string(36, '0'), "error:overflow"},  // 10^36: 37 digits
      {"-" + max_integer + "9", "error:overflow"},
      {"1e36", "error:overflow"},
      {"1e400", "error:overflow"},
      {"1e99999999999999999999", "error:overflow"},
      {"0." + std::string(36, '0') + "1", "error:scale_out_of_range"},  // 37 fraction digits
      {"1." + std::string(37, '0'), "error:scale_out_of_range"},        // the zeros count: scale 37
      {"1e-37", "error:scale_out_of_range"},
      {"0e-37", "error:scale_out_of_range"},
      {"100e-37", "error:scale_out_of_range"},
      // Too many digits and too large a scale: the scale is reported.
      {max_integer + "9." + max_integer + "9", "error:scale_out_of_range"},
      // 36 digits after the point with a 1 before it: 37 digits at scale 36.
      {"1." + std::string(35, '0') + "1", "error:overflow"},
      {"0.1e-36", "error:scale_out_of_range"},
  };
  for (const TextCase& c : cases) {
    EXPECT_EQ(result_text(Decimal::parse(c.input)), c.expected) << "input: \"" << c.input << '"';
  }
}

TEST(DecimalParse, KeepsTheScaleAsWritten) {
  const Decimal value = dec("1.50");
  EXPECT_EQ(value.scale(), 2);
  EXPECT_TRUE(value.coefficient() == 150);
  EXPECT_EQ(dec("2.5E-4").scale(), 5);
  EXPECT_EQ(dec("1e3").scale(), 0);
}

TEST(DecimalParse, PlainFormHasNoExponent) {
  EXPECT_EQ(result_text(Decimal::parse_plain("12.50")), "12.50");
  EXPECT_EQ(result_text(Decimal::parse_plain("-0.001")), "-0.001");
  EXPECT_EQ(result_text(Decimal::parse_plain("1e3")), "error:invalid_syntax");
  EXPECT_EQ(result_text(Decimal::parse_plain("1.5E-1")), "error:invalid_syntax");
  EXPECT_EQ(result_text(Decimal::parse_plain("01")), "error:invalid_syntax");
}

// The range the billing engine needs: 10^15 with 12 fraction digits survives text round trips.
TEST(DecimalParse, BillingRangeRoundTrips) {
  for (const std::string text : {"1000000000000000.000000000000", "999999999999999.999999999999",
                                 "-999999999999999.999999999999", "0.000000000001"}) {
    const DecimalResult parsed = Decimal::parse(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(parsed->to_string(), text);
    EXPECT_EQ(parsed->scale(), 12);
  }
}

// --- construction and formatting -------------------------------------------------------------

TEST(DecimalFormat, PrintsExactlyScaleDigitsAndNeverMinusZero) {
  EXPECT_EQ(result_text(Decimal::from_parts(-50, 2)), "-0.50");
  EXPECT_EQ(result_text(Decimal::from_parts(0, 2)), "0.00");
  EXPECT_EQ(result_text(Decimal::from_parts(5, 3)), "0.005");
  EXPECT_EQ(result_text(Decimal::from_parts(-5, 0)), "-5");
  EXPECT_EQ(result_text(Decimal::from_parts(123456, 3)), "123.456");
  EXPECT_EQ(Decimal().to_string(), "0");
  EXPECT_EQ(dec("-0.000").neg().to_string(), "0.000");
}

TEST(DecimalFormat, FromIntegerCoversInt64) {
  EXPECT_EQ(Decimal::from_integer(std::numeric_limits<std::int64_t>::min()).to_string(),
            "-9223372036854775808");
  EXPECT_EQ(Decimal::from_integer(std::numeric_limits<std::int64_t>::max()).to_string(),
            "9223372036854775807");
  EXPECT_EQ(Decimal::from_integer(0).scale(), 0);
}

TEST(DecimalFormat, FromPartsChecksBounds) {
  Int128 limit = 1;
  for (int i = 0; i < 36; ++i) {
    limit *= 10;
  }
  EXPECT_EQ(result_text(Decimal::from_parts(limit - 1, 0)), max_integer);
  EXPECT_EQ(result_text(Decimal::from_parts(limit - 1, 36)), "0." + max_integer);
  EXPECT_EQ(result_text(Decimal::from_parts(-(limit - 1), 0)), "-" + max_integer);
  EXPECT_EQ(result_text(Decimal::from_parts(limit, 0)), "error:overflow");
  EXPECT_EQ(result_text(Decimal::from_parts(-limit, 3)), "error:overflow");
  EXPECT_EQ(result_text(Decimal::from_parts(1, 37)), "error:scale_out_of_range");
  EXPECT_EQ(result_text(Decimal::from_parts(1, -1)), "error:scale_out_of_range");
}

// --- comparison ------------------------------------------------------------------------------

TEST(DecimalCompare, ComparesValuesAndIgnoresScale) {
  EXPECT_EQ(dec("1.50"), dec("1.5"));
  EXPECT_FALSE(dec("1.50").same_representation(dec("1.5")));
  EXPECT_TRUE(dec("1.50").same_representation(dec("1.50")));
  EXPECT_EQ(dec("0"), dec("0.000"));
  EXPECT_EQ(dec("-0"), dec("0"));
  EXPECT_LT(dec("-1"), dec("-0.5"));
  EXPECT_LT(dec("-0.5"), dec("0"));
  EXPECT_LT(dec("0"), dec("0.0001"));
  EXPECT_GT(dec("10"), dec("9.999999999999"));
  EXPECT_NE(dec("0.1"), dec("0.10000000000000000000000000000000001"));
  // Across the widest scale gap, where one side cannot even be aligned to the other's scale.
  EXPECT_GT(dec(max_integer), dec("0." + max_integer));
  EXPECT_LT(dec("0." + max_integer), dec(max_integer));
  EXPECT_LT(dec("-" + max_integer), dec("-0." + max_integer));
  EXPECT_GT(dec("-0." + max_integer), dec("-" + max_integer));
  EXPECT_GT(dec("1"), dec("0." + max_integer));
  EXPECT_EQ(dec("1"), dec("1." + std::string(35, '0')));
}

TEST(DecimalCompare, SignAndZero) {
  EXPECT_EQ(dec("-0.01").sign(), -1);
  EXPECT_EQ(dec("0.00").sign(), 0);
  EXPECT_EQ(dec("3").sign(), 1);
  EXPECT_TRUE(dec("0.000").is_zero());
  EXPECT_FALSE(dec(one_unit_at_scale_36).is_zero());
  EXPECT_EQ(dec("-1.50").abs().to_string(), "1.50");
  EXPECT_EQ(dec("1.50").neg().to_string(), "-1.50");
  EXPECT_EQ(dec("-" + max_integer).neg().to_string(), max_integer);
}

// --- rounding --------------------------------------------------------------------------------

struct RoundingCase {
  std::string value;
  int scale;
  std::string half_even, half_up, down, up;
};

TEST(DecimalRound, EachModeMatchesPythonDecimal) {
  const std::vector<RoundingCase> cases = {
      {"2.5", 0, "2", "3", "2", "3"},
      {"3.5", 0, "4", "4", "3", "4"},
      {"-2.5", 0, "-2", "-3", "-2", "-3"},
      {"-3.5", 0, "-4", "-4", "-3", "-4"},
      {"0.5", 0, "0", "1", "0", "1"},
      {"-0.5", 0, "0", "-1", "0", "-1"},
      {"2.4999", 0, "2", "2", "2", "3"},
      {"2.5001", 0, "3", "3", "2", "3"},
      {"-2.5001", 0, "-3", "-3", "-2", "-3"},
      {"0.125", 2, "0.12", "0.13", "0.12", "0.13"},
      {"0.135", 2, "0.14", "0.14", "0.13", "0.14"},
      {"-0.125", 2, "-0.12", "-0.13", "-0.12", "-0.13"},
      {"0.001", 0, "0", "0", "0", "1"},
      {"-0.001", 0, "0", "0", "0", "-1"},
      {"-0.4", 0, "0", "0", "0", "-1"},
      {"9.999", 2, "10.00", "10.00", "9.99", "10.00"},
      {"-9.995", 2, "-10.00", "-10.00", "-9.99", "-10.00"},
      {"1.0", 0, "1", "1", "1", "1"},
      {"1.5", 3, "1.500", "1.500", "1.500", "1.500"},  // more digits: zero padding, exact
      {"12.345678901234", 12, "12.345678901234", "12.345678901234", "12.345678901234",
       "12.345678901234"},
      {"0." + max_integer, 35, "1." + std::string(35, '0'), "1." + std::string(35, '0'),
       "0." + std::string(35, '9'), "1." + std::string(35, '0')},
  };
  for (const RoundingCase& c : cases) {
    const Decimal value = dec(c.value);
    EXPECT_EQ(result_text(value.round(c.scale, RoundingMode::half_even)), c.half_even) << c.value;
    EXPECT_EQ(result_text(value.round(c.scale, RoundingMode::half_up)), c.half_up) << c.value;
    EXPECT_EQ(result_text(value.round(c.scale, RoundingMode::down)), c.down) << c.value;
    EXPECT_EQ(result_text(value.round(c.scale, RoundingMode::up)), c.up) << c.value;
  }
}

TEST(DecimalRound, ReportsErrors) {
  EXPECT_EQ(result_text(dec("1.5").round(-1, RoundingMode::half_even)), "error:scale_out_of_range");
  EXPECT_EQ(result_text(dec("1.5").round(37, RoundingMode::half_even)), "error:scale_out_of_range");
  // Padding a 36-digit integer with one zero needs 37 digits.
  EXPECT_EQ(result_text(dec(max_integer).round(1, RoundingMode::down)), "error:overflow");
  EXPECT_EQ(result_text(dec("1").round(36, RoundingMode::down)), "error:overflow");
  EXPECT_EQ(result_text(dec("0.5").round(36, RoundingMode::down)), "0.5" + std::string(35, '0'));
}

TEST(DecimalRound, ModeNames) {
  for (const RoundingMode mode :
       {RoundingMode::half_even, RoundingMode::half_up, RoundingMode::down, RoundingMode::up}) {
    EXPECT_EQ(parse_rounding_mode(rounding_mode_name(mode)), mode);
  }
  EXPECT_EQ(rounding_mode_name(RoundingMode::half_even), "half_even");
  EXPECT_EQ(parse_rounding_mode("HALF_EVEN"), std::nullopt);
  EXPECT_EQ(parse_rounding_mode("half_down"), std::nullopt);
  EXPECT_EQ(decimal_error_name(DecimalError::division_by_zero), "division_by_zero");
}

// --- arithmetic ------------------------------------------------------------------------------

struct BinaryCase {
  std::string a, b, expected;
};

TEST(DecimalArithmetic, AddAndSubAreExactAtTheLargerScale) {
  const std::vector<BinaryCase> sums = {
      {"0.1", "0.2", "0.3"},
      {"1.50", "2.5", "4.00"},
      {"-1.5", "1.5", "0.0"},
      {"-0.01", "0.001", "-0.009"},
      {"999999999999999.999999999999", "0.000000000001", "1000000000000000.000000000000"},
      {max_integer, "-1", std::string(35, '9') + "8"},
      {max_integer, "1", "error:overflow"},
      {"-" + max_integer, "-1", "error:overflow"},
      // The sum is about 10^36 but is needed at scale 1: 37 digits.
      {max_integer, "0.1", "error:overflow"},
      {"5" + std::string(35, '0'), "5" + std::string(35, '0'), "error:overflow"},
      // Large operands cancel: 1 aligned to scale 36 has 37 digits, the result has one.
      {"1", "-0." + max_integer, one_unit_at_scale_36},
      {"-0." + max_integer, "1", one_unit_at_scale_36},
      {"0." + max_integer, "-0." + max_integer, "0." + std::string(36, '0')},
  };
  for (const BinaryCase& c : sums) {
    EXPECT_EQ(result_text(dec(c.a).add(dec(c.b))), c.expected) << c.a << " + " << c.b;
  }
  const std::vector<BinaryCase> differences = {
      {"1", "0.001", "0.999"},
      {"-5", "5", "-10"},
      {"0.30", "0.1", "0.20"},
      {"-" + max_integer, "1", "error:overflow"},
      {"-" + max_integer, "-1", "-" + std::string(35, '9') + "8"},
  };
  for (const BinaryCase& c : differences) {
    EXPECT_EQ(result_text(dec(c.a).sub(dec(c.b))), c.expected) << c.a << " - " << c.b;
  }
}

TEST(DecimalArithmetic, MulIsExactAtTheSumOfScales) {
  const std::vector<BinaryCase> cases = {
      {"1.5", "1.5", "2.25"},
      {"-0.5", "0.2", "-0.10"},
      {"1.00", "2.0", "2.000"},
      {"-3", "-4", "12"},
      {"0.000123456789", "123456789012", "15241578.751672002468"},
      {"999999999999999999", "1000000000000000000", std::string(18, '9') + std::string(18, '0')},
      {"1000000000000000000", "1000000000000000000", "error:overflow"},         // 10^36
      {"1000000000000000", "1000000.000000", "1000000000000000000000.000000"},  // 28 digits
      {"1000000000000000.000000000000", "1000000.000000", "error:overflow"},    // 40 digits
      // Scale 37: the trailing zero of 10.0 × 10^-36 is dropped, down to scale 36.
      {one_unit_at_scale_36, "10.0", "0." + std::string(34, '0') + "10"},
      {"0.5", "0." + std::string(35, '0') + "2", one_unit_at_scale_36},
      // Scale 37 with a non-zero last digit: mul never rounds.
      {one_unit_at_scale_36, "0.1", "error:scale_out_of_range"},
      {"0." + std::string(30, '0'), "0." + std::string(30, '0'), "0." + std::string(36, '0')},
  };
  for (const BinaryCase& c : cases) {
    EXPECT_EQ(result_text(dec(c.a).mul(dec(c.b))), c.expected) << c.a << " * " << c.b;
  }
}

struct DivisionCase {
  std::string a, b;
  int scale;
  std::string half_even, half_up, down, up;
};

TEST(DecimalArithmetic, DivRoundsOnceToTheRequestedScale) {
  const std::vector<DivisionCase> cases = {
      {"1", "3", 2, "0.33", "0.33", "0.33", "0.34"},
      {"2", "3", 2, "0.67", "0.67", "0.66", "0.67"},
      {"-2", "3", 2, "-0.67", "-0.67", "-0.66", "-0.67"},
      {"2", "-3", 2, "-0.67", "-0.67", "-0.66", "-0.67"},
      {"-2", "-3", 2, "0.67", "0.67", "0.66", "0.67"},
      {"1", "8", 2, "0.12", "0.13", "0.12", "0.13"},
      {"-1", "8", 2, "-0.12", "-0.13", "-0.12", "-0.13"},
      {"10", "4", 0, "2", "3", "2", "3"},
      {"7", "-2", 0, "-4", "-4", "-3", "-4"},
      {"1.00", "0.25", 0, "4", "4", "4", "4"},
      {"0", "7", 3, "0.000", "0.000", "0.000", "0.000"},
      {"100", "7", 12, "14.285714285714", "14.285714285714", "14.285714285714", "14.285714285715"},
      {"49.00", "30", 6, "1.633333", "1.633333", "1.633333", "1.633334"},
      // A dividend far below the quotient's last digit: only `up` sees it.
      {one_unit_at_scale_36, "1" + std::string(33, '0'), 12, "0.000000000000", "0.000000000000",
       "0.000000000000", "0.000000000001"},
      // The widest intermediates: a coefficient times 10^72.
      {max_integer, one_unit_at_scale_36, 36, "error:overflow", "error:overflow", "error:overflow",
       "error:overflow"},
      {"0", one_unit_at_scale_36, 36, "0." + std::string(36, '0'), "0." + std::string(36, '0'),
       "0." + std::string(36, '0'), "0." + std::string(36, '0')},
      {"1" + std::string(35, '0'), "0.1", 0, "error:overflow", "error:overflow", "error:overflow",
       "error:overflow"},
      {"1", one_unit_at_scale_36, 0, "error:overflow", "error:overflow", "error:overflow",
       "error:overflow"},
      {"1", "3", 36, "0." + std::string(36, '3'), "0." + std::string(36, '3'),
       "0." + std::string(36, '3'), "0." + std::string(35, '3') + "4"},
  };
  for (const DivisionCase& c : cases) {
    const Decimal a = dec(c.a);
    const Decimal b = dec(c.b);
    const std::string where = c.a + " / " + c.b + " at scale " + std::to_string(c.scale);
    EXPECT_EQ(result_text(a.div(b, c.scale, RoundingMode::half_even)), c.half_even) << where;
    EXPECT_EQ(result_text(a.div(b, c.scale, RoundingMode::half_up)), c.half_up) << where;
    EXPECT_EQ(result_text(a.div(b, c.scale, RoundingMode::down)), c.down) << where;
    EXPECT_EQ(result_text(a.div(b, c.scale, RoundingMode::up)), c.up) << where;
  }
}

TEST(DecimalArithmetic, DivReportsErrorsInOrder) {
  EXPECT_EQ(result_text(dec("1").div(dec("0"), 2, RoundingMode::half_even)),
            "error:division_by_zero");
  EXPECT_EQ(result_text(dec("0").div(dec("0.00"), 2, RoundingMode::half_even)),
            "error:division_by_zero");
  EXPECT_EQ(result_text(dec("1").div(dec("0"), 37, RoundingMode::half_even)),
            "error:scale_out_of_range");
  EXPECT_EQ(result_text(dec("1").div(dec("3"), -1, RoundingMode::half_even)),
            "error:scale_out_of_range");
}

// A usage line priced the way invoices are: exact product, one rounding to the minor unit.
TEST(DecimalArithmetic, PricingLineRoundsOnce) {
  const DecimalResult amount = dec("0.000123456789").mul(dec("123456789012"));
  ASSERT_TRUE(amount.ok());
  EXPECT_EQ(result_text(amount->round(2, RoundingMode::half_even)), "15241578.75");
  EXPECT_EQ(result_text(amount->round(2, RoundingMode::up)), "15241578.76");
}

}  // namespace
}  // namespace neruba::domain
