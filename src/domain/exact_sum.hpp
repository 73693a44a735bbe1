#pragma once
// An exact sum of Decimals that cannot overflow: what a usage read adds up across groups and
// hours. Every stored bucket fits the Decimal type (ingest checks it), but a window of many hours,
// or all groups of a meter, can add up to more than 36 digits — and a read must still answer,
// exactly. Each term is held at scale 36 in a 512-bit two's complement integer: a term is below
// 10^72 < 2^240 there, so more terms than any read can hold fit.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "domain/decimal.hpp"

namespace neruba::domain {

class ExactSum {
 public:
  void add(const Decimal& term);
  void add(const ExactSum& other);

  // The largest scale among the terms (0 when there are none): the scale the sum prints with, as
  // Decimal::add keeps the larger scale.
  int scale() const { return scale_; }
  bool is_zero() const;
  // Exact, plain notation with scale() fraction digits ("0" when there are no terms).
  std::string to_string() const;
  // The sum as a Decimal, when it fits that type.
  std::optional<Decimal> to_decimal() const;

  friend bool operator==(const ExactSum& a, const ExactSum& b) {
    return a.limbs_ == b.limbs_ && a.scale_ == b.scale_;
  }

 private:
  static constexpr int limb_count = 8;
  using Limbs = std::array<std::uint64_t, limb_count>;
  Limbs limbs_{};  // the sum × 10^36, two's complement, least significant limb first
  int scale_ = 0;
};

}  // namespace neruba::domain
