#include "domain/decimal.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <ostream>

#include <boost/multiprecision/cpp_int.hpp>

namespace neruba::domain {
namespace {

// Only mul and div need more than 128 bits: a product of two coefficients is below 10^72, and a
// division numerator is a coefficient times at most 10^72, below 10^108 < 2^359.
using Wide = boost::multiprecision::int512_t;
__extension__ using UInt128 = unsigned __int128;

// Exponents beyond this are saturated while parsing: they are far out of range either way, and
// saturating keeps "1e99999999999999999999" a range error instead of an integer overflow.
constexpr std::int64_t exponent_saturation = 1'000'000'000;

// 10^38 is the largest power of ten below 2^127.
constexpr int int128_pow10_max = 38;

constexpr std::array<Int128, int128_pow10_max + 1> int128_powers = [] {
  std::array<Int128, int128_pow10_max + 1> powers{};
  powers[0] = 1;
  for (std::size_t i = 1; i < powers.size(); ++i) {
    powers[i] = powers[i - 1] * 10;
  }
  return powers;
}();

constexpr Int128 int128_pow10(int exponent) {
  return int128_powers.at(static_cast<std::size_t>(exponent));
}

constexpr Int128 coefficient_limit = int128_pow10(Decimal::max_digits);

// Division aligns by up to 10^(36 + 36).
const Wide& wide_pow10(int exponent) {
  static const std::array<Wide, 2 * Decimal::max_scale + 1> table = [] {
    std::array<Wide, 2 * Decimal::max_scale + 1> powers;
    powers[0] = 1;
    for (std::size_t i = 1; i < powers.size(); ++i) {
      powers[i] = powers[i - 1] * 10;
    }
    return powers;
  }();
  return table.at(static_cast<std::size_t>(exponent));
}

UInt128 magnitude_of(Int128 value) {
  // Negating in unsigned arithmetic is well defined even for the most negative value.
  return value < 0 ? -static_cast<UInt128>(value) : static_cast<UInt128>(value);
}

// Built from two 64-bit halves so as not to depend on Boost's optional __int128 support.
Wide to_wide(Int128 value) {
  const UInt128 magnitude = magnitude_of(value);
  Wide wide = static_cast<std::uint64_t>(magnitude >> 64);
  wide <<= 64;
  wide |= static_cast<std::uint64_t>(magnitude);
  return value < 0 ? Wide(-wide) : wide;
}

// Precondition: |value| < 10^36, so it fits in 128 bits.
Int128 to_int128(const Wide& value) {
  const Wide magnitude = boost::multiprecision::abs(value);
  const Wide low_mask = std::numeric_limits<std::uint64_t>::max();
  const auto high = static_cast<std::uint64_t>(magnitude >> 64);
  const auto low = static_cast<std::uint64_t>(magnitude & low_mask);
  const auto result = static_cast<Int128>((static_cast<UInt128>(high) << 64) | low);
  return value < 0 ? -result : result;
}

Int128 absolute(Int128 value) { return value < 0 ? -value : value; }  // |value| < 10^38 here
Wide absolute(const Wide& value) { return boost::multiprecision::abs(value); }

DecimalResult failure(DecimalError error) { return DecimalResult{std::nullopt, error}; }

bool scale_in_range(int scale) { return scale >= 0 && scale <= Decimal::max_scale; }

// The coefficient of `value` at `scale` (at least its own) when that is below 10^38 and so fits in
// 128 bits; nothing otherwise. Nothing means more than 36 digits by a factor of 100: no other
// coefficient (below 10^36) can bring a sum or a comparison back into range.
std::optional<Int128> aligned(const Decimal& value, int scale) {
  const int shift = scale - value.scale();
  if (magnitude_of(value.coefficient()) >=
      static_cast<UInt128>(int128_pow10(int128_pow10_max - shift))) {
    return std::nullopt;
  }
  return value.coefficient() * int128_pow10(shift);
}

// Where a wide intermediate becomes a Decimal: too many digits is overflow, never a wrap.
DecimalResult checked(const Wide& coefficient, int scale) {
  if (absolute(coefficient) >= wide_pow10(Decimal::max_digits)) {
    return failure(DecimalError::overflow);
  }
  return Decimal::from_parts(to_int128(coefficient), scale);
}

// `half_comparison` compares the discarded remainder with half a unit: <0 below, 0 a tie, >0 above.
bool rounds_away_from_zero(RoundingMode mode, int half_comparison, bool truncated_is_odd) {
  switch (mode) {
    case RoundingMode::down:
      return false;
    case RoundingMode::up:
      return true;
    case RoundingMode::half_up:
      return half_comparison >= 0;
    case RoundingMode::half_even:
      return half_comparison > 0 || (half_comparison == 0 && truncated_is_odd);
  }
  return false;
}

// numerator / denominator rounded to an integer, for denominator > 0. Rounding happens exactly
// once, on the exact remainder, so no double rounding can creep in. Integer: Int128 or Wide.
template <typename Integer>
Integer divide_rounded(const Integer& numerator, const Integer& denominator, RoundingMode mode) {
  Integer quotient = numerator / denominator;         // truncated toward zero
  const Integer remainder = numerator % denominator;  // carries the numerator's sign
  if (remainder == 0) {
    return quotient;
  }
  const Integer twice_remainder = absolute(remainder) * 2;
  const int half_comparison =
      twice_remainder < denominator ? -1 : (twice_remainder == denominator ? 0 : 1);
  if (rounds_away_from_zero(mode, half_comparison, quotient % 2 != 0)) {
    quotient += numerator < 0 ? -1 : 1;
  }
  return quotient;
}

// Above 36 fraction digits only zero digits may be dropped: anything else would be rounding,
// which mul never does.
DecimalResult multiply_wide(const Decimal& a, const Decimal& b) {
  Wide product = to_wide(a.coefficient()) * to_wide(b.coefficient());
  int scale = a.scale() + b.scale();
  if (scale > Decimal::max_scale) {
    const Wide& dropped = wide_pow10(scale - Decimal::max_scale);
    if (product % dropped != 0) {
      return failure(DecimalError::scale_out_of_range);
    }
    product /= dropped;
    scale = Decimal::max_scale;
  }
  return checked(product, scale);
}

// A number split into its parts by the grammar; the value is built separately.
struct NumberText {
  bool negative = false;
  std::string_view integer_digits;
  std::string_view fraction_digits;
  std::int64_t exponent = 0;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Removes and returns the run of ASCII digits at the front of `text`.
std::string_view take_digits(std::string_view& text) {
  std::size_t length = 0;
  while (length < text.size() && is_digit(text[length])) {
    ++length;
  }
  const std::string_view digits = text.substr(0, length);
  text.remove_prefix(length);
  return digits;
}

bool take_char(std::string_view& text, char expected) {
  if (text.empty() || text.front() != expected) {
    return false;
  }
  text.remove_prefix(1);
  return true;
}

// "[+-]?[0-9]+" after the 'e'; JSON allows leading zeros here ("1e007").
std::optional<std::int64_t> take_exponent(std::string_view& text) {
  const bool negative = take_char(text, '-');
  if (!negative) {
    take_char(text, '+');
  }
  const std::string_view digits = take_digits(text);
  if (digits.empty()) {
    return std::nullopt;
  }
  std::int64_t magnitude = 0;
  for (const char digit : digits) {
    magnitude = std::min<std::int64_t>(magnitude * 10 + (digit - '0'), exponent_saturation);
  }
  return negative ? -magnitude : magnitude;
}

std::optional<NumberText> scan_number(std::string_view text, bool allow_exponent) {
  NumberText number;
  number.negative = take_char(text, '-');
  number.integer_digits = take_digits(text);
  // JSON forbids an empty integer part (".5") and leading zeros ("01").
  if (number.integer_digits.empty() ||
      (number.integer_digits.size() > 1 && number.integer_digits.front() == '0')) {
    return std::nullopt;
  }
  if (take_char(text, '.')) {
    number.fraction_digits = take_digits(text);
    if (number.fraction_digits.empty()) {
      return std::nullopt;  // "1."
    }
  }
  if (allow_exponent && (take_char(text, 'e') || take_char(text, 'E'))) {
    const std::optional<std::int64_t> exponent = take_exponent(text);
    if (!exponent) {
      return std::nullopt;
    }
    number.exponent = *exponent;
  }
  if (!text.empty()) {
    return std::nullopt;  // trailing garbage, spaces, a second '.', ...
  }
  return number;
}

// value = (integer and fraction digits run together) × 10^shift. The scale is what the fraction
// digits and exponent leave after the point, never negative: "1e3" is 1000 at scale 0.
DecimalResult build(const NumberText& number) {
  const std::int64_t shift =
      number.exponent - static_cast<std::int64_t>(number.fraction_digits.size());
  const std::int64_t scale = shift < 0 ? -shift : 0;
  if (scale > Decimal::max_scale) {
    return failure(DecimalError::scale_out_of_range);
  }
  Int128 coefficient = 0;
  std::int64_t significant_digits = 0;
  for (const std::string_view part : {number.integer_digits, number.fraction_digits}) {
    for (const char digit : part) {
      if (coefficient == 0 && digit == '0') {
        continue;  // a leading zero adds no digit: "0.0005" has one
      }
      if (++significant_digits > Decimal::max_digits) {
        return failure(DecimalError::overflow);
      }
      coefficient = coefficient * 10 + (digit - '0');
    }
  }
  const std::int64_t zeros_appended = shift > 0 ? shift : 0;
  if (coefficient != 0 && significant_digits + zeros_appended > Decimal::max_digits) {
    return failure(DecimalError::overflow);
  }
  if (coefficient != 0) {
    coefficient *= int128_pow10(static_cast<int>(zeros_appended));  // at most 10^35 here
  }
  return Decimal::from_parts(number.negative ? -coefficient : coefficient, static_cast<int>(scale));
}

DecimalResult parse_with(std::string_view text, bool allow_exponent) {
  const std::optional<NumberText> number = scan_number(text, allow_exponent);
  if (!number) {
    return failure(DecimalError::invalid_syntax);
  }
  return build(*number);
}

constexpr std::array<RoundingMode, 4> all_rounding_modes = {
    RoundingMode::half_even, RoundingMode::half_up, RoundingMode::down, RoundingMode::up};

}  // namespace

std::string_view rounding_mode_name(RoundingMode mode) {
  switch (mode) {
    case RoundingMode::half_even:
      return "half_even";
    case RoundingMode::half_up:
      return "half_up";
    case RoundingMode::down:
      return "down";
    case RoundingMode::up:
      return "up";
  }
  return "unknown";
}

std::optional<RoundingMode> parse_rounding_mode(std::string_view name) {
  for (const RoundingMode mode : all_rounding_modes) {
    if (rounding_mode_name(mode) == name) {
      return mode;
    }
  }
  return std::nullopt;
}

std::string_view decimal_error_name(DecimalError error) {
  switch (error) {
    case DecimalError::none:
      return "none";
    case DecimalError::invalid_syntax:
      return "invalid_syntax";
    case DecimalError::overflow:
      return "overflow";
    case DecimalError::division_by_zero:
      return "division_by_zero";
    case DecimalError::scale_out_of_range:
      return "scale_out_of_range";
  }
  return "unknown";
}

Decimal Decimal::from_integer(std::int64_t value) { return Decimal(value, 0); }

DecimalResult Decimal::from_parts(Int128 coefficient, int scale) {
  if (!scale_in_range(scale)) {
    return failure(DecimalError::scale_out_of_range);
  }
  if (coefficient >= coefficient_limit || coefficient <= -coefficient_limit) {
    return failure(DecimalError::overflow);
  }
  return DecimalResult{Decimal(coefficient, scale), DecimalError::none};
}

DecimalResult Decimal::parse(std::string_view text) { return parse_with(text, true); }

DecimalResult Decimal::parse_plain(std::string_view text) { return parse_with(text, false); }

std::string Decimal::to_string() const {
  // Filled from the right: at most 37 digits (36, or a "0" before 36 fraction digits), '.', '-'.
  std::array<char, max_digits + 3> buffer{};
  std::size_t start = buffer.size();
  UInt128 magnitude = magnitude_of(coefficient_);
  // Digit `position` 0 is the last one; the loop runs on to the units digit, even for 0.05.
  for (int position = 0; magnitude != 0 || position <= scale_; ++position) {
    if (position == scale_ && scale_ > 0) {
      buffer[--start] = '.';
    }
    buffer[--start] = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  }
  if (coefficient_ < 0) {
    buffer[--start] = '-';
  }
  return std::string(buffer.data() + start, buffer.size() - start);
}

DecimalResult Decimal::round(int scale, RoundingMode mode) const {
  if (!scale_in_range(scale)) {
    return failure(DecimalError::scale_out_of_range);
  }
  if (scale >= scale_) {
    const std::optional<Int128> padded = aligned(*this, scale);  // zero padding is exact
    return padded ? from_parts(*padded, scale) : failure(DecimalError::overflow);
  }
  return from_parts(divide_rounded(coefficient_, int128_pow10(scale_ - scale), mode), scale);
}

DecimalResult Decimal::add(const Decimal& other) const {
  // Most sums are of one scale: two coefficients below 10^36 add up below 2 × 10^36.
  if (scale_ == other.scale_) return from_parts(coefficient_ + other.coefficient_, scale_);
  const int scale = std::max(scale_, other.scale_);
  const std::optional<Int128> left = aligned(*this, scale);
  const std::optional<Int128> right = aligned(other, scale);
  if (!left || !right) {
    return failure(DecimalError::overflow);
  }
  // One operand is already at `scale`, below 10^36, so the sum stays below 10^38 + 10^36.
  return from_parts(*left + *right, scale);
}

DecimalResult Decimal::sub(const Decimal& other) const { return add(other.neg()); }

DecimalResult Decimal::mul(const Decimal& other) const {
  // The common case needs no wide arithmetic: two factors below 10^18 multiply to below 10^36.
  const Int128 factor_limit = int128_pow10(Decimal::max_digits / 2);
  if (absolute(coefficient_) < factor_limit && absolute(other.coefficient_) < factor_limit &&
      scale_ + other.scale_ <= max_scale) {
    return from_parts(coefficient_ * other.coefficient_, scale_ + other.scale_);
  }
  return multiply_wide(*this, other);
}

DecimalResult Decimal::div(const Decimal& divisor, int scale, RoundingMode mode) const {
  if (!scale_in_range(scale)) {
    return failure(DecimalError::scale_out_of_range);
  }
  if (divisor.is_zero()) {
    return failure(DecimalError::division_by_zero);
  }
  // quotient × 10^scale = (a × 10^-sa) / (b × 10^-sb) × 10^scale = a × 10^(sb - sa + scale) / b
  const int exponent = divisor.scale_ - scale_ + scale;
  // The common case in 128 bits: both sides below 10^37 once scaled, so that twice a remainder
  // (divide_rounded) cannot overflow either. The wide path gives the same quotient, only slower.
  constexpr int narrow_digits = 37;
  if (exponent > -narrow_digits && exponent < narrow_digits) {
    const UInt128 limit = static_cast<UInt128>(int128_pow10(narrow_digits - std::abs(exponent)));
    const Int128 scaled_limit = int128_pow10(narrow_digits);
    const bool numerator_fits =
        exponent >= 0 ? magnitude_of(coefficient_) < limit
                      : magnitude_of(coefficient_) < static_cast<UInt128>(scaled_limit);
    const bool denominator_fits =
        exponent < 0 ? magnitude_of(divisor.coefficient_) < limit
                     : magnitude_of(divisor.coefficient_) < static_cast<UInt128>(scaled_limit);
    if (numerator_fits && denominator_fits) {
      Int128 numerator = coefficient_;
      Int128 denominator = divisor.coefficient_;
      if (exponent >= 0) {
        numerator *= int128_pow10(exponent);
      } else {
        denominator *= int128_pow10(-exponent);
      }
      if (denominator < 0) {
        numerator = -numerator;
        denominator = -denominator;
      }
      return from_parts(divide_rounded(numerator, denominator, mode), scale);
    }
  }
  Wide numerator = to_wide(coefficient_);
  Wide denominator = to_wide(divisor.coefficient_);
  if (exponent >= 0) {
    numerator *= wide_pow10(exponent);
  } else {
    denominator *= wide_pow10(-exponent);
  }
  if (denominator < 0) {
    numerator = -numerator;
    denominator = -denominator;
  }
  return checked(divide_rounded(numerator, denominator, mode), scale);
}

std::weak_ordering Decimal::compare(const Decimal& other) const {
  if (scale_ == other.scale_) return coefficient_ <=> other.coefficient_;
  const int scale = std::max(scale_, other.scale_);
  const std::optional<Int128> left = aligned(*this, scale);
  const std::optional<Int128> right = aligned(other, scale);
  // One that cannot be aligned outweighs the other, which is already at `scale`, below 10^36.
  if (!left) {
    return sign() < 0 ? std::weak_ordering::less : std::weak_ordering::greater;
  }
  if (!right) {
    return other.sign() < 0 ? std::weak_ordering::greater : std::weak_ordering::less;
  }
  return *left <=> *right;
}

std::ostream& operator<<(std::ostream& out, const Decimal& value) {
  return out << value.to_string();
}

}  // namespace neruba::domain
