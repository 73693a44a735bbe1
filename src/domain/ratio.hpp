#pragma once
// An exact, non-negative ratio: what a proration factor is (API.md "Billing semantics": "Proration
// factors are exact ratios (seconds or days)"). A prorated line is amount × numerator /
// denominator, computed exactly and rounded once, at the line (`apply`), never through a rounded
// factor.
//
// Always normalized (lowest terms, denominator > 0), so two equal ratios have equal members and
// print alike ("13/31"). Both members are int64: a year holds about 3.2e7 seconds and the calendar
// spans years 1..9999 (about 3.2e11 seconds), far inside int64. A sum a/b + c/d is formed in 128
// bits, where it cannot overflow (a×d + c×b < 2 × (2^63)^2 = 2^127), then normalized; one whose
// members still do not fit int64 is the error `ratio_overflow`, never a wrap.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "domain/decimal.hpp"

namespace neruba::domain {

enum class RatioError {
  zero_denominator,  // n/0
  negative,          // a member below zero: a factor is never negative
  overflow,          // a normalized result whose members do not fit int64
};
ErrorReason reason_of(RatioError error);

class Ratio {
 public:
  Ratio() = default;  // 0/1

  // numerator/denominator in lowest terms ("2/4" → 1/2, "0/7" → 0/1).
  static Result<Ratio, RatioError> of(std::int64_t numerator, std::int64_t denominator);
  static Ratio one() { return Ratio(1, 1); }

  // "<numerator>/<denominator>" in decimal digits, as to_string() writes it; not normalized input
  // is accepted ("2/4" reads as 1/2). nullopt for anything else: signs, spaces, "1/0", "1".
  static std::optional<Ratio> parse(std::string_view text);

  std::int64_t numerator() const { return numerator_; }
  std::int64_t denominator() const { return denominator_; }

  // Exact sum, normalized.
  Result<Ratio, RatioError> add(const Ratio& other) const;

  // "13/31"; "0/1" and "1/1" for zero and one.
  std::string to_string() const;

  friend bool operator==(const Ratio& a, const Ratio& b) = default;

 private:
  Ratio(std::int64_t numerator, std::int64_t denominator)
      : numerator_(numerator), denominator_(denominator) {}

  std::int64_t numerator_ = 0;
  std::int64_t denominator_ = 1;
};

std::ostream& operator<<(std::ostream& out, const Ratio& ratio);

// amount × factor, exact, then rounded once to `scale` fraction digits in `mode`: Decimal::mul by
// the numerator (exact, at the amount's scale), then Decimal::div by the denominator (the exact
// quotient, rounded once). The product must fit a Decimal's 36 digits, or the result is
// `overflow`: a year's seconds have 8 digits, so an amount of up to 28 digits (its fraction digits
// included) can be prorated by seconds. Errors: scale_out_of_range (checked first), then those of
// Decimal::mul and div.
DecimalResult apply(const Decimal& amount, const Ratio& factor, int scale, RoundingMode mode);

}  // namespace neruba::domain
