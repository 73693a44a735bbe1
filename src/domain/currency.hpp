#pragma once
// ISO 4217 currencies and their minor units, and the rules for money amounts on the wire
// (API.md "Conventions"): an amount carries exactly its currency's minor-unit digits ("100.00",
// JPY "2", KWD "0.004"), and is rounded once, to that many digits, where money is computed.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/decimal.hpp"

namespace neruba::domain {

// Digits after the point in the currency's minor unit: USD 2, JPY 0, KWD 3, CLF 4. Codes are the
// upper-case alphabetic ISO 4217 codes; anything else (including "usd") is unknown. Codes without
// a minor unit (precious metals XAU..., XDR, XTS, XXX) are not billing currencies and are unknown.
std::optional<int> minor_unit_digits(std::string_view currency);
bool is_known_currency(std::string_view currency);

enum class MoneyError {
  none,
  unknown_currency,          // not an ISO 4217 code this table knows
  invalid_syntax,            // not "-?digits(.digits)?"
  too_many_fraction_digits,  // "1.005" in USD: more digits than the minor unit allows
  overflow,                  // too many digits for a Decimal at the currency's scale
};

std::string_view money_error_name(MoneyError error);

struct MoneyResult {
  std::optional<Decimal> value;
  MoneyError error = MoneyError::none;

  bool ok() const { return value.has_value(); }
  explicit operator bool() const { return ok(); }
  const Decimal& operator*() const { return *value; }
  const Decimal* operator->() const { return &*value; }
};

struct MoneyTextResult {
  std::optional<std::string> text;
  MoneyError error = MoneyError::none;

  bool ok() const { return text.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string& operator*() const { return *text; }
};

// The amount rounded once to the currency's minor unit; its scale is exactly the minor-unit digits.
MoneyResult round_to_minor_unit(const Decimal& amount, std::string_view currency,
                                RoundingMode mode);

// round_to_minor_unit, as text: "100.00", JPY "2", KWD "0.004".
MoneyTextResult format_amount(const Decimal& amount, std::string_view currency, RoundingMode mode);

// An ISO 4217 currency this table knows (minor_unit_digits has it): made only by Currency::of, so a
// Currency in hand is always a known code with a known minor unit.
class Currency {
 public:
  static std::optional<Currency> of(std::string_view code);
  const std::string& code() const { return code_; }
  int minor_unit_digits() const { return digits_; }
  friend bool operator==(const Currency& a, const Currency& b) { return a.code_ == b.code_; }

 private:
  Currency(std::string code, int digits) : code_(std::move(code)), digits_(digits) {}
  std::string code_;
  int digits_ = 0;
};

// An amount of money: an exact decimal in one currency — never a floating-point number.
struct Money {
  Decimal amount;
  Currency currency;

  // The amount rounded once to the currency's minor unit, as the API shows it ("12.50", JPY "2").
  MoneyTextResult format(RoundingMode mode = RoundingMode::half_even) const {
    return format_amount(amount, currency.code(), mode);
  }
};

// A money amount supplied by an API client, as a decimal string. Fewer fraction digits than the
// currency's are accepted and padded ("12.5" USD → 12.50); more are rejected, even zeros ("1.000"
// USD), because silently rounding what a client sent would change the amount it meant. No exponent.
// Negative amounts parse (adjustments use them); whether a sign is allowed is the caller's rule.
MoneyResult parse_amount(std::string_view text, std::string_view currency);

// Money as stored: a whole number of the currency's minor units (12.50 USD → 1250, 2 JPY → 2), so
// that storage can hold balance constraints in SQL on both backends. Exact: none when the amount
// has more fraction digits than the minor unit or its count does not fit 64 bits (±9.2e18 minor
// units: 92 quadrillion dollars).
std::optional<std::int64_t> to_minor_units(const Decimal& amount, const Currency& currency);
// The amount of `minor` minor units, with exactly the currency's minor-unit digits.
Decimal from_minor_units(std::int64_t minor, const Currency& currency);

}  // namespace neruba::domain
