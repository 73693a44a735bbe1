#pragma once
// Decimal arithmetic for the pricing functions, internal to domain/pricing. A computation of a
// line is a dozen operations, each of which can fail (a result beyond 36 digits); rather than test
// every one, an Exact remembers the first failure, as a stream keeps its failbit, and the function
// looks once before it returns. After a failure the operations return zero: what follows is
// discarded, so it only has to be harmless.
#include <optional>

#include "domain/decimal.hpp"
#include "domain/pricing/errors.hpp"

namespace neruba::domain::pricing {

class Exact {
 public:
  Decimal add(const Decimal& a, const Decimal& b) { return take(a.add(b)); }
  Decimal sub(const Decimal& a, const Decimal& b) { return take(a.sub(b)); }
  Decimal mul(const Decimal& a, const Decimal& b) { return take(a.mul(b)); }
  Decimal div(const Decimal& a, const Decimal& b, int scale, RoundingMode mode) {
    return take(a.div(b, scale, mode));
  }
  // Adds `term` to `total` in place.
  void accumulate(Decimal& total, const Decimal& term) { total = add(total, term); }

  bool failed() const { return error_.has_value(); }
  PricingError error() const { return *error_; }
  void fail(PricingError error) {
    if (!error_) error_ = error;
  }

 private:
  Decimal take(const DecimalResult& result) {
    if (result) return *result;
    // Operands come from validated plans and usage, so a division by zero or a bad scale cannot
    // reach here; what can is a result too long (overflow) or too fine (mul's scale above 36).
    fail(result.error == DecimalError::scale_out_of_range ? PricingError::amount_too_precise
                                                          : PricingError::amount_out_of_range);
    return Decimal();
  }

  std::optional<PricingError> error_;
};

// By value: an operand is often a temporary (max_of(Decimal(), x)).
inline Decimal max_of(const Decimal& a, const Decimal& b) { return a < b ? b : a; }
inline Decimal min_of(const Decimal& a, const Decimal& b) { return b < a ? b : a; }

}  // namespace neruba::domain::pricing
