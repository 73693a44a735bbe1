#pragma once
// Exact fixed-point decimal for money, prices and quantities (DESIGN.md principle 2).
//
// A Decimal is coefficient × 10^-scale with |coefficient| < 10^36 and 0 <= scale <= 36. No binary
// floating point is involved anywhere: text is parsed digit by digit and every operation is exact
// integer arithmetic. An operation whose result does not fit is reported as an error value, never
// wrapped or silently rounded, so callers must look at the result (hence no operator+ and friends).
//
// The scale is part of the value's representation: "1.50" keeps scale 2 and prints as "1.50". It is
// not part of its identity: 1.50 == 1.5 (use same_representation() to also compare the scale).
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace neruba::domain {

// __int128 is a GCC/Clang extension; __extension__ keeps -Wpedantic quiet about it.
__extension__ using Int128 = __int128;

// Same meaning as Python's decimal.ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_DOWN, ROUND_UP.
enum class RoundingMode {
  half_even,  // ties go to the even neighbour ("banker's rounding"); the billing default
  half_up,    // ties go away from zero
  down,       // toward zero (truncate)
  up,         // away from zero
};

enum class DecimalError {
  none,
  invalid_syntax,      // text is not a decimal number in the accepted grammar
  overflow,            // the result needs more than 36 digits at its scale
  division_by_zero,    // divisor is zero
  scale_out_of_range,  // a scale outside 0..36 was asked for or would be needed
};

// Stable lower-case names: "half_even", "overflow", ... (used in plans, errors and tests).
std::string_view rounding_mode_name(RoundingMode mode);
std::optional<RoundingMode> parse_rounding_mode(std::string_view name);
std::string_view decimal_error_name(DecimalError error);

struct DecimalResult;

class Decimal {
 public:
  static constexpr int max_digits = 36;  // |coefficient| < 10^max_digits
  static constexpr int max_scale = 36;

  Decimal() = default;  // zero, scale 0

  // Any int64 fits (19 digits), so this cannot fail.
  static Decimal from_integer(std::int64_t value);
  // coefficient × 10^-scale; fails on |coefficient| >= 10^36 or a scale outside 0..36.
  static DecimalResult from_parts(Int128 coefficient, int scale);

  // Accepts "-?(0|[1-9][0-9]*)(\.[0-9]+)?" and, in addition, a JSON number's exponent part
  // "[eE][+-]?[0-9]+". The scale is the number of fraction digits as written ("1.50" → 2). With an
  // exponent the value is exact and the scale is max(0, fraction digits − exponent):
  // "1e3" → 1000, "2.5E-4" → 0.00025, "1.0e+2" → 100. Rejects "+1", "01", "1.", ".5", spaces, ...
  // Errors are checked in this order: invalid_syntax, scale_out_of_range, overflow.
  static DecimalResult parse(std::string_view text);
  // Same without the exponent part: the form money amounts travel in ("12.50").
  static DecimalResult parse_plain(std::string_view text);

  Int128 coefficient() const { return coefficient_; }
  int scale() const { return scale_; }
  bool is_zero() const { return coefficient_ == 0; }
  int sign() const { return coefficient_ > 0 ? 1 : (coefficient_ < 0 ? -1 : 0); }

  // Plain notation with exactly scale() fraction digits: "-0.50", "0.00", "1000"; never "-0".
  std::string to_string() const;

  // The value rounded (or zero-padded) to exactly `scale` fraction digits.
  DecimalResult round(int scale, RoundingMode mode) const;

  // Exact. add/sub: result scale is the larger scale. mul: the sum of the scales; above 36,
  // trailing zero digits are dropped down to scale 36, and if a non-zero digit would be lost the
  // result is scale_out_of_range. Afterwards a result with 37 or more digits at its scale is
  // overflow.
  DecimalResult add(const Decimal& other) const;
  DecimalResult sub(const Decimal& other) const;
  DecimalResult mul(const Decimal& other) const;
  // The exact quotient this / divisor, rounded once to `scale` fraction digits.
  // Errors are checked in this order: scale_out_of_range, division_by_zero, overflow.
  DecimalResult div(const Decimal& divisor, int scale, RoundingMode mode) const;

  // Cannot fail: the coefficient range is symmetric.
  Decimal neg() const { return Decimal(-coefficient_, scale_); }
  Decimal abs() const { return coefficient_ < 0 ? neg() : *this; }

  // Value comparison, scale ignored.
  std::weak_ordering compare(const Decimal& other) const;
  friend bool operator==(const Decimal& a, const Decimal& b) { return std::is_eq(a.compare(b)); }
  friend std::weak_ordering operator<=>(const Decimal& a, const Decimal& b) { return a.compare(b); }
  // Equal value and equal scale: the two print identically.
  bool same_representation(const Decimal& other) const {
    return coefficient_ == other.coefficient_ && scale_ == other.scale_;
  }

 private:
  // Unchecked: every public way in goes through from_parts, which checks the bounds.
  Decimal(Int128 coefficient, int scale) : coefficient_(coefficient), scale_(scale) {}

  Int128 coefficient_ = 0;
  int scale_ = 0;
};

// Writes to_string(): for logs and test failure messages.
std::ostream& operator<<(std::ostream& out, const Decimal& value);

// The outcome of a fallible Decimal operation: a value, or an error (never both).
struct DecimalResult {
  std::optional<Decimal> value;
  DecimalError error = DecimalError::none;

  bool ok() const { return value.has_value(); }
  explicit operator bool() const { return ok(); }
  const Decimal& operator*() const { return *value; }
  const Decimal* operator->() const { return &*value; }
};

}  // namespace neruba::domain
