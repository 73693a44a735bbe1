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

// Wide enough for every intermediate: a product of two coefficients is below 10^72, and a division
// numerator is a coefficient times at most 10^72, below 10^108 < 2^359.
using Wide = boost::multiprecision::int512_t;
__extension__ using UInt128 = unsigned __int128;

// Largest power of ten an operation aligns by: division scales by up to 10^(36 + 36).
constexpr int pow10_max = 2 * Decimal::max_scale;

// Exponents beyond this are saturated while parsing: they are far out of range either way, and
// saturating keeps "1e99999999999999999999" a range error instead of an integer overflow.
constexpr std::int64_t exponent_saturation = 1'000'000'000;

constexpr Int128 int128_pow10(int exponent) {
  Int128 power = 1;
  for (int i = 0; i < exponent; ++i) {
    power *= 10;
  }
  return power;
}

constexpr Int128 coefficient_limit = int128_pow10(Decimal::max_digits);

const Wide& pow10(int exponent) {
  static const std::array<Wide, pow10_max + 1> table = [] {
    std::array<Wide, pow10_max + 1> powers;
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

DecimalResult failure(DecimalError error) { return DecimalResult{std::nullopt, error}; }

bool scale_in_range(int scale) { return scale >= 0 && scale <= Decimal::max_scale; }

// The coefficient of `value` at a scale at least as large as its own.
Wide aligned(const Decimal& value, int scale) {
  return to_wide(value.coefficient()) * pow10(scale - value.scale());
}

// The one place a wide intermediate becomes a Decimal: too many digits is overflow, never a wrap.
DecimalResult checked(const Wide& coefficient, int scale) {
  if (boost::multiprecision::abs(coefficient) >= pow10(Decimal::max_digits)) {
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
// once, on the exact remainder, so no double-rounding can creep in.
Wide divide_rounded(const Wide& numerator, const Wide& denominator, RoundingMode mode) {
  Wide quotient = numerator / denominator;         // truncated toward zero
  const Wide remainder = numerator % denominator;  // carries the numerator's sign
  if (remainder == 0) {
    return quotient;
  }
  const int half_comparison = (boost::multiprecision::abs(remainder) * 2).compare(denominator);
  if (rounds_away_from_zero(mode, half_comparison, quotient % 2 != 0)) {
    quotient += numerator < 0 ? -1 : 1;
  }
  return quotient;
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
    coefficient *= int128_pow10(static_cast<int>(zeros_appended));
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
  // Digits least significant first, padded so there is always one digit before the point.
  std::string digits;
  UInt128 magnitude = magnitude_of(coefficient_);
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  const auto units_position = static_cast<std::size_t>(scale_);
  if (digits.size() <= units_position) {
    digits.resize(units_position + 1, '0');
  }
  std::string text;
  if (coefficient_ < 0) {
    text.push_back('-');
  }
  for (std::size_t position = digits.size(); position-- > 0;) {
    text.push_back(digits[position]);
    if (position == units_position && scale_ > 0) {
      text.push_back('.');
    }
  }
  return text;
}

DecimalResult Decimal::round(int scale, RoundingMode mode) const {
  if (!scale_in_range(scale)) {
    return failure(DecimalError::scale_out_of_range);
  }
  if (scale >= scale_) {
    return checked(aligned(*this, scale), scale);  // padding with zeros is exact
  }
  return checked(divide_rounded(to_wide(coefficient_), pow10(scale_ - scale), mode), scale);
}

DecimalResult Decimal::add(const Decimal& other) const {
  const int scale = std::max(scale_, other.scale_);
  return checked(aligned(*this, scale) + aligned(other, scale), scale);
}

DecimalResult Decimal::sub(const Decimal& other) const { return add(other.neg()); }

DecimalResult Decimal::mul(const Decimal& other) const {
  Wide product = to_wide(coefficient_) * to_wide(other.coefficient_);
  int scale = scale_ + other.scale_;
  if (scale > max_scale) {
    // Only zero digits may be dropped: anything else would be rounding, which mul never does.
    const Wide& dropped = pow10(scale - max_scale);
    if (product % dropped != 0) {
      return failure(DecimalError::scale_out_of_range);
    }
    product /= dropped;
    scale = max_scale;
  }
  return checked(product, scale);
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
  Wide numerator = to_wide(coefficient_);
  Wide denominator = to_wide(divisor.coefficient_);
  if (exponent >= 0) {
    numerator *= pow10(exponent);
  } else {
    denominator *= pow10(-exponent);
  }
  if (denominator < 0) {
    numerator = -numerator;
    denominator = -denominator;
  }
  return checked(divide_rounded(numerator, denominator, mode), scale);
}

std::weak_ordering Decimal::compare(const Decimal& other) const {
  if (scale_ == other.scale_) {
    return coefficient_ <=> other.coefficient_;
  }
  const int scale = std::max(scale_, other.scale_);
  const int order = aligned(*this, scale).compare(aligned(other, scale));
  return order < 0 ? std::weak_ordering::less
                   : (order > 0 ? std::weak_ordering::greater : std::weak_ordering::equivalent);
}

std::ostream& operator<<(std::ostream& out, const Decimal& value) {
  return out << value.to_string();
}

}  // namespace neruba::domain
