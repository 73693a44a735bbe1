// Unit tests for the ISO 4217 table and money amount rules (API.md "Conventions"). Expected
// values are from the ISO 4217 list and hand calculation, cross-checked with Python's decimal.
#include "domain/currency.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "decimal_test_support.hpp"

namespace neruba::domain {
namespace {

using test::dec;

struct MinorUnitCase {
  std::string_view code;
  int digits;
};

TEST(Currency, MinorUnitDigitsFollowIso4217) {
  const std::vector<MinorUnitCase> cases = {
      {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"CHF", 2}, {"CAD", 2}, {"AUD", 2}, {"CNY", 2},
      {"INR", 2}, {"BRL", 2}, {"MXN", 2}, {"SEK", 2}, {"HUF", 2}, {"IDR", 2}, {"ZAR", 2},
      {"JPY", 0}, {"KRW", 0}, {"CLP", 0}, {"ISK", 0}, {"VND", 0}, {"UGX", 0}, {"XAF", 0},
      {"XOF", 0}, {"XPF", 0}, {"PYG", 0}, {"RWF", 0}, {"KWD", 3}, {"BHD", 3}, {"JOD", 3},
      {"OMR", 3}, {"TND", 3}, {"IQD", 3}, {"LYD", 3}, {"CLF", 4}, {"UYW", 4}, {"AED", 2},
      {"ZWL", 2}, {"ZWG", 2}, {"XCG", 2}, {"SLE", 2}, {"VES", 2},
  };
  for (const MinorUnitCase& c : cases) {
    EXPECT_EQ(minor_unit_digits(c.code), std::optional<int>(c.digits)) << c.code;
    EXPECT_TRUE(is_known_currency(c.code)) << c.code;
  }
}

TEST(Currency, UnknownCodes) {
  // Lower case, wrong length, no minor unit (metals, XDR, test and no-currency codes), withdrawn.
  for (const std::string_view code : {"usd", "Usd", "", "US", "USDD", "USD ", "XXX", "XTS", "XAU",
                                      "XDR", "HRK", "ABC", "AAA", "ZZZ"}) {
    EXPECT_EQ(minor_unit_digits(code), std::nullopt) << '"' << code << '"';
    EXPECT_FALSE(is_known_currency(code)) << '"' << code << '"';
  }
}

struct FormatCase {
  std::string amount;
  std::string_view currency;
  RoundingMode mode;
  std::string expected;  // text, or "error:<name>"
};

std::string format_text(const MoneyTextResult& result) {
  return result ? *result : "error:" + std::string(money_error_name(result.error));
}

std::string money_text(const MoneyResult& result) {
  return result ? result->to_string() : "error:" + std::string(money_error_name(result.error));
}

TEST(Money, FormatRoundsOnceToTheMinorUnit) {
  const std::vector<FormatCase> cases = {
      {"100", "USD", RoundingMode::half_even, "100.00"},
      {"12.5", "EUR", RoundingMode::half_even, "12.50"},
      {"1.5", "JPY", RoundingMode::half_even, "2"},
      {"2.5", "JPY", RoundingMode::half_even, "2"},
      {"2.5", "JPY", RoundingMode::half_up, "3"},
      {"0.0035", "KWD", RoundingMode::half_even, "0.004"},
      {"0.0045", "KWD", RoundingMode::half_even, "0.004"},
      {"0.0005", "BHD", RoundingMode::up, "0.001"},
      {"-0.005", "USD", RoundingMode::half_even, "0.00"},  // never "-0.00"
      {"-1.005", "USD", RoundingMode::half_up, "-1.01"},
      {"12.345", "USD", RoundingMode::down, "12.34"},
      {"1.23456", "CLF", RoundingMode::half_even, "1.2346"},
      {"15241578.751672002468", "USD", RoundingMode::half_even, "15241578.75"},
      {"1", "usd", RoundingMode::half_even, "error:unknown_currency"},
      {std::string(35, '9'), "USD", RoundingMode::half_even, "error:overflow"},  // 37 digits
      {std::string(34, '9'), "USD", RoundingMode::half_even, std::string(34, '9') + ".00"},
  };
  for (const FormatCase& c : cases) {
    EXPECT_EQ(format_text(format_amount(dec(c.amount), c.currency, c.mode)), c.expected)
        << c.amount << ' ' << c.currency << ' ' << rounding_mode_name(c.mode);
  }
}

TEST(Money, RoundToMinorUnitSetsTheCurrencyScale) {
  const MoneyResult rounded = round_to_minor_unit(dec("7"), "KWD", RoundingMode::half_even);
  ASSERT_TRUE(rounded.ok());
  EXPECT_EQ(rounded->scale(), 3);
  EXPECT_EQ(rounded->to_string(), "7.000");
}

struct ParseCase {
  std::string text;
  std::string_view currency;
  std::string expected;
};

TEST(Money, ParseAmountAcceptsAtMostTheMinorUnitDigits) {
  const std::vector<ParseCase> cases = {
      {"12.50", "USD", "12.50"},
      {"12.5", "USD", "12.50"},
      {"12", "USD", "12.00"},
      {"-5.00", "USD", "-5.00"},
      {"0", "USD", "0.00"},
      {"2", "JPY", "2"},
      {"0.004", "KWD", "0.004"},
      {"0.0001", "CLF", "0.0001"},
      {"2.0", "JPY", "error:too_many_fraction_digits"},
      {"0.0040", "KWD", "error:too_many_fraction_digits"},
      {"1.005", "USD", "error:too_many_fraction_digits"},
      {"1.000", "USD", "error:too_many_fraction_digits"},  // zeros count: nothing is rounded
      {"0." + std::string(40, '0'), "USD", "error:too_many_fraction_digits"},
      {"1e2", "USD", "error:invalid_syntax"},  // money travels as plain decimal strings
      {"", "USD", "error:invalid_syntax"},
      {"12.50 ", "USD", "error:invalid_syntax"},
      {"+1.00", "USD", "error:invalid_syntax"},
      {"12,50", "EUR", "error:invalid_syntax"},
      {"12.50", "usd", "error:unknown_currency"},
      {"abc", "XYZ", "error:unknown_currency"},  // the currency is checked first
      {std::string(34, '9'), "USD", std::string(34, '9') + ".00"},
      {std::string(35, '9'), "USD", "error:overflow"},  // fine alone, 37 digits at scale 2
      {"1" + std::string(36, '0'), "JPY", "error:overflow"},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(money_text(parse_amount(c.text, c.currency)), c.expected)
        << '"' << c.text << "\" " << c.currency;
  }
}

TEST(Money, ErrorNames) {
  EXPECT_EQ(money_error_name(MoneyError::too_many_fraction_digits), "too_many_fraction_digits");
  EXPECT_EQ(money_error_name(MoneyError::unknown_currency), "unknown_currency");
}

}  // namespace
}  // namespace neruba::domain

namespace neruba::domain {
namespace {

// A Currency is only ever a known code with its minor unit; Money formats once, at that unit.
TEST(CurrencyType, OnlyKnownCodesAreCurrencies) {
  ASSERT_TRUE(Currency::of("USD").has_value());
  EXPECT_EQ(Currency::of("USD")->code(), "USD");
  EXPECT_EQ(Currency::of("USD")->minor_unit_digits(), 2);
  EXPECT_EQ(Currency::of("JPY")->minor_unit_digits(), 0);
  EXPECT_EQ(Currency::of("KWD")->minor_unit_digits(), 3);
  for (const auto* code : {"usd", "XYZ", "", "XAU", "USDX"}) {
    EXPECT_FALSE(Currency::of(code).has_value()) << code;
  }
  EXPECT_EQ(*Currency::of("EUR"), *Currency::of("EUR"));
  EXPECT_FALSE(*Currency::of("EUR") == *Currency::of("USD"));
}

TEST(CurrencyType, MoneyFormatsOnceAtTheMinorUnit) {
  // 12.345 USD → 12.34 (half-even: the 4 stays), 12.355 → 12.36; JPY 2.5 → 2; KWD 0.0045 → 0.004.
  const auto money = [](const char* amount, const char* code) {
    return Money{*Decimal::parse(amount), *Currency::of(code)};
  };
  EXPECT_EQ(*money("12.345", "USD").format(), "12.34");
  EXPECT_EQ(*money("12.355", "USD").format(), "12.36");
  EXPECT_EQ(*money("2.5", "JPY").format(), "2");
  EXPECT_EQ(*money("0.0045", "KWD").format(), "0.004");
  EXPECT_EQ(*money("12.345", "USD").format(RoundingMode::half_up), "12.35");
}

}  // namespace
}  // namespace neruba::domain

namespace neruba::domain {
namespace {

TEST(MinorUnits, ConvertsExactlyBothWays) {
  const Currency usd = *Currency::of("USD");
  const Currency jpy = *Currency::of("JPY");
  const Currency kwd = *Currency::of("KWD");
  EXPECT_EQ(to_minor_units(*Decimal::parse("12.50"), usd), 1250);
  EXPECT_EQ(to_minor_units(*Decimal::parse("12.5"), usd), 1250);
  EXPECT_EQ(to_minor_units(*Decimal::parse("1.500"), usd), 150);  // trailing zeros are exact
  EXPECT_EQ(to_minor_units(*Decimal::parse("-0.01"), usd), -1);
  EXPECT_EQ(to_minor_units(*Decimal::parse("2"), jpy), 2);
  EXPECT_EQ(to_minor_units(*Decimal::parse("0.004"), kwd), 4);
  EXPECT_EQ(to_minor_units(*Decimal::parse("1.005"), usd), std::nullopt);  // a fraction of a cent
  EXPECT_EQ(to_minor_units(*Decimal::parse("0.5"), jpy), std::nullopt);
  // 2^63 − 1 cents fit, one more does not.
  EXPECT_EQ(to_minor_units(*Decimal::parse("92233720368547758.07"), usd), INT64_MAX);
  EXPECT_EQ(to_minor_units(*Decimal::parse("92233720368547758.08"), usd), std::nullopt);
  EXPECT_EQ(to_minor_units(*Decimal::parse("-92233720368547758.08"), usd), INT64_MIN);
  EXPECT_EQ(from_minor_units(1250, usd).to_string(), "12.50");
  EXPECT_EQ(from_minor_units(-1, usd).to_string(), "-0.01");
  EXPECT_EQ(from_minor_units(2, jpy).to_string(), "2");
  EXPECT_EQ(from_minor_units(4, kwd).to_string(), "0.004");
  EXPECT_EQ(from_minor_units(INT64_MIN, usd).to_string(), "-92233720368547758.08");
}

}  // namespace
}  // namespace neruba::domain
