#include "domain/exact_sum.hpp"

#include <algorithm>

#include "common/assert.hpp"

namespace neruba::domain {
namespace {

__extension__ using Uint128 = unsigned __int128;
using Limbs = std::array<std::uint64_t, 8>;

constexpr std::uint64_t ten_to_18 = 1'000'000'000'000'000'000ULL;
constexpr std::uint64_t ten_to_19 = 10'000'000'000'000'000'000ULL;

std::uint64_t power_of_ten(int exponent) {
  std::uint64_t value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

void multiply(Limbs& value, std::uint64_t factor) {
  Uint128 carry = 0;
  for (auto& limb : value) {
    const Uint128 product = static_cast<Uint128>(limb) * factor + carry;
    limb = static_cast<std::uint64_t>(product);
    carry = product >> 64;
  }
  NERUBA_ASSERT_MSG(carry == 0, "an exact sum's term outgrew 512 bits");
}

// Divides in place; returns the remainder.
std::uint64_t divide(Limbs& value, std::uint64_t divisor) {
  Uint128 remainder = 0;
  for (auto limb = value.rbegin(); limb != value.rend(); ++limb) {
    const Uint128 current = (remainder << 64) | *limb;
    *limb = static_cast<std::uint64_t>(current / divisor);
    remainder = current % divisor;
  }
  return static_cast<std::uint64_t>(remainder);
}

void add_to(Limbs& sum, const Limbs& term) {
  Uint128 carry = 0;
  for (std::size_t i = 0; i < sum.size(); ++i) {
    const Uint128 total = static_cast<Uint128>(sum[i]) + term[i] + carry;
    sum[i] = static_cast<std::uint64_t>(total);
    carry = total >> 64;
  }
}

void negate(Limbs& value) {
  for (auto& limb : value) limb = ~limb;
  Limbs one{};
  one[0] = 1;
  add_to(value, one);
}

bool is_negative(const Limbs& value) { return (value.back() >> 63) != 0; }

bool all_zero(const Limbs& value) {
  return std::all_of(value.begin(), value.end(), [](std::uint64_t limb) { return limb == 0; });
}

// The decimal digits of a non-negative value.
std::string digits_of(Limbs value) {
  if (all_zero(value)) return "0";
  std::string reversed;
  while (!all_zero(value)) {
    std::uint64_t chunk = divide(value, ten_to_19);
    const bool last = all_zero(value);
    for (int i = 0; i < 19 && (!last || chunk != 0); ++i) {
      reversed.push_back(static_cast<char>('0' + chunk % 10));
      chunk /= 10;
    }
  }
  return std::string(reversed.rbegin(), reversed.rend());
}

}  // namespace

void ExactSum::add(const Decimal& term) {
  const Int128 coefficient = term.coefficient();
  const bool negative = coefficient < 0;
  const Uint128 magnitude =
      negative ? static_cast<Uint128>(-coefficient) : static_cast<Uint128>(coefficient);
  Limbs value{};
  value[0] = static_cast<std::uint64_t>(magnitude);
  value[1] = static_cast<std::uint64_t>(magnitude >> 64);
  // To scale 36: |coefficient| < 10^36 and at most 36 more digits, so below 10^72 < 2^240.
  int shift = Decimal::max_scale - term.scale();
  while (shift >= 18) {
    multiply(value, ten_to_18);
    shift -= 18;
  }
  if (shift > 0) multiply(value, power_of_ten(shift));
  if (negative) negate(value);
  add_to(limbs_, value);
  scale_ = std::max(scale_, term.scale());
}

void ExactSum::add(const ExactSum& other) {
  add_to(limbs_, other.limbs_);
  scale_ = std::max(scale_, other.scale_);
}

bool ExactSum::is_zero() const { return all_zero(limbs_); }

std::string ExactSum::to_string() const {
  Limbs magnitude = limbs_;
  const bool negative = is_negative(magnitude);
  if (negative) negate(magnitude);
  // Every term is a multiple of 10^(36 - its scale), so of 10^(36 - scale_): the division is exact.
  int shift = Decimal::max_scale - scale_;
  while (shift >= 18) {
    NERUBA_ASSERT(divide(magnitude, ten_to_18) == 0);
    shift -= 18;
  }
  if (shift > 0) NERUBA_ASSERT(divide(magnitude, power_of_ten(shift)) == 0);
  std::string digits = digits_of(magnitude);
  if (scale_ > 0) {
    if (digits.size() <= static_cast<std::size_t>(scale_)) {
      digits.insert(0, static_cast<std::size_t>(scale_) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<std::size_t>(scale_), 1, '.');
  }
  return negative && !all_zero(magnitude) ? "-" + digits : digits;
}

std::optional<Decimal> ExactSum::to_decimal() const {
  const auto parsed = Decimal::parse_plain(to_string());
  if (!parsed) return std::nullopt;
  return *parsed;
}

}  // namespace neruba::domain
