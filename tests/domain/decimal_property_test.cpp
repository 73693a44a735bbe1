// Algebraic properties of Decimal, checked with RapidCheck on generated values.
// RC_PARAMS="max_success=10000" in the environment runs more cases; failures print a seed to
// replay.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "decimal_test_support.hpp"
#include "domain/decimal.hpp"

namespace neruba::domain {
namespace {

using test::result_text;

// Values with up to `max_digits` digits and a scale up to `max_scale`. Built from a digit list, so
// RapidCheck shrinks a failure toward fewer and smaller digits and a smaller scale.
rc::Gen<Decimal> decimals(int max_digits = Decimal::max_digits,
                          int max_scale = Decimal::max_scale) {
  const auto digit_lists = rc::gen::mapcat(rc::gen::inRange(0, max_digits + 1), [](int count) {
    return rc::gen::container<std::vector<int>>(static_cast<std::size_t>(count),
                                                rc::gen::inRange(0, 10));
  });
  return rc::gen::apply(
      [](const std::vector<int>& digits, int scale, bool negative) {
        Int128 coefficient = 0;
        for (const int digit : digits) {
          coefficient = coefficient * 10 + digit;
        }
        return Decimal::from_parts(negative ? -coefficient : coefficient, scale).value.value();
      },
      digit_lists, rc::gen::inRange(0, max_scale + 1), rc::gen::arbitrary<bool>());
}

rc::Gen<RoundingMode> rounding_modes() {
  return rc::gen::element(RoundingMode::half_even, RoundingMode::half_up, RoundingMode::down,
                          RoundingMode::up);
}

bool is_half_mode(RoundingMode mode) {
  return mode == RoundingMode::half_even || mode == RoundingMode::half_up;
}

// The value of a result the property knows must exist; a failure is a counterexample, not UB.
Decimal must(const DecimalResult& result) {
  RC_ASSERT(result.ok());
  return *result;
}

// Both failed the same way, or both succeeded with the same value and scale.
bool same_outcome(const DecimalResult& a, const DecimalResult& b) {
  if (a.ok() != b.ok()) {
    return false;
  }
  return a.ok() ? a->same_representation(*b) : a.error == b.error;
}

RC_GTEST_PROP(DecimalProperty, AdditionIsCommutative, ()) {
  const Decimal a = *decimals();
  const Decimal b = *decimals();
  RC_ASSERT(same_outcome(a.add(b), b.add(a)));
}

RC_GTEST_PROP(DecimalProperty, AdditionIsAssociativeWithoutOverflow, ()) {
  // Mid-sized values so that most triples stay in range; the others say nothing about this law.
  const Decimal a = *decimals(24, 12);
  const Decimal b = *decimals(24, 12);
  const Decimal c = *decimals(24, 12);
  const DecimalResult ab = a.add(b);
  const DecimalResult bc = b.add(c);
  RC_PRE(ab.ok() && bc.ok());
  const DecimalResult left = ab->add(c);
  const DecimalResult right = a.add(*bc);
  RC_CLASSIFY(!left.ok(), "overflow");
  RC_ASSERT(same_outcome(left, right));
}

RC_GTEST_PROP(DecimalProperty, AddingTheNegationGivesZeroAtTheSameScale, ()) {
  const Decimal a = *decimals();
  const DecimalResult sum = a.add(a.neg());
  RC_ASSERT(sum.ok());
  RC_ASSERT(sum->is_zero());
  RC_ASSERT(sum->scale() == a.scale());
  RC_ASSERT(same_outcome(a.sub(a), sum));
}

RC_GTEST_PROP(DecimalProperty, ComparisonAgreesWithTheSignOfTheDifference, ()) {
  const Decimal a = *decimals(30, 20);
  const Decimal b = *decimals(30, 20);
  const DecimalResult difference = a.sub(b);
  RC_PRE(difference.ok());
  const int order = a < b ? -1 : (a > b ? 1 : 0);
  RC_ASSERT(order == difference->sign());
  RC_ASSERT((a == b) == difference->is_zero());
}

RC_GTEST_PROP(DecimalProperty, RoundingIsIdempotent, ()) {
  const Decimal x = *decimals();
  const int scale = *rc::gen::inRange(0, Decimal::max_scale + 1);
  const RoundingMode mode = *rounding_modes();
  const DecimalResult once = x.round(scale, mode);
  RC_PRE(once.ok());
  RC_ASSERT(once->scale() == scale);
  RC_ASSERT(same_outcome(once->round(scale, mode), once));
}

// |round(x) - x| is below one unit of the last digit, and at most half a unit for the half modes.
RC_GTEST_PROP(DecimalProperty, RoundingMovesLessThanOneUnit, ()) {
  const Decimal x = *decimals();
  const int scale = *rc::gen::inRange(0, Decimal::max_scale + 1);
  const RoundingMode mode = *rounding_modes();
  const DecimalResult rounded = x.round(scale, mode);
  RC_PRE(rounded.ok());
  const Decimal error = must(rounded->sub(x)).abs();
  const Decimal unit = must(Decimal::from_parts(1, scale));
  if (is_half_mode(mode)) {
    RC_ASSERT(must(error.add(error)) <= unit);
  } else {
    RC_ASSERT(error < unit);
  }
  if (mode == RoundingMode::down) {
    RC_ASSERT(rounded->abs() <= x.abs());
  }
  if (mode == RoundingMode::up) {
    RC_ASSERT(rounded->abs() >= x.abs());
  }
}

// A value exactly halfway between two neighbours at `scale`: half_even picks the even one, half_up
// the one away from zero.
RC_GTEST_PROP(DecimalProperty, TiesGoToEvenOrAwayFromZero, ()) {
  const Decimal lower = *decimals(30, 20);  // the neighbour nearer zero
  const Decimal half = must(Decimal::from_parts(lower.sign() < 0 ? -5 : 5, lower.scale() + 1));
  const Decimal tie = must(lower.add(half));
  const Decimal away = must(tie.add(half));  // the other neighbour
  const Decimal even_choice = lower.coefficient() % 2 == 0 ? lower : away;
  RC_ASSERT(must(tie.round(lower.scale(), RoundingMode::half_even)) == even_choice);
  RC_ASSERT(must(tie.round(lower.scale(), RoundingMode::half_up)) == away);
  RC_ASSERT(must(tie.round(lower.scale(), RoundingMode::down)) == lower);
  RC_ASSERT(must(tie.round(lower.scale(), RoundingMode::up)) == away);
}

RC_GTEST_PROP(DecimalProperty, ParsingThePrintedTextGivesTheSameValueAndScale, ()) {
  const Decimal x = *decimals();
  const std::string text = x.to_string();
  const DecimalResult parsed = Decimal::parse(text);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(parsed->same_representation(x));
  RC_ASSERT(same_outcome(Decimal::parse_plain(text), parsed));
}

RC_GTEST_PROP(DecimalProperty, MultiplyingByOneIsIdentity, ()) {
  const Decimal x = *decimals();
  const DecimalResult product = x.mul(Decimal::from_integer(1));
  RC_ASSERT(product.ok());
  RC_ASSERT(product->same_representation(x));
  // 1.00 keeps the value and adds its two fraction digits to the scale, when they fit.
  if (x.scale() + 2 <= Decimal::max_scale) {
    const DecimalResult padded = x.mul(must(Decimal::parse("1.00")));
    RC_ASSERT(same_outcome(padded, x.round(x.scale() + 2, RoundingMode::down)));
  }
}

// q = a / b rounded to `scale` digits is within one unit of the exact quotient, so q × b is within
// |b| units of a (half a unit, |b| / 2, for the half modes), on the side the mode promises.
RC_GTEST_PROP(DecimalProperty, DivisionThenMultiplicationStaysWithinRounding, ()) {
  const Decimal a = *decimals(24, 12);
  const Decimal b = *decimals(12, 12);
  const int scale = *rc::gen::inRange(0, 13);
  const RoundingMode mode = *rounding_modes();
  RC_PRE(!b.is_zero());
  const DecimalResult quotient = a.div(b, scale, mode);
  RC_PRE(quotient.ok());
  const DecimalResult product = quotient->mul(b);
  RC_PRE(product.ok());
  const DecimalResult bound = Decimal::from_parts(b.abs().coefficient(), b.scale() + scale);
  RC_PRE(bound.ok());  // |b| × 10^-scale
  const Decimal error = must(product->sub(a)).abs();
  if (is_half_mode(mode)) {
    RC_ASSERT(must(error.add(error)) <= *bound);
  } else {
    RC_ASSERT(error < *bound);
  }
  if (mode == RoundingMode::down) {
    RC_ASSERT(product->abs() <= a.abs());
  }
  if (mode == RoundingMode::up) {
    RC_ASSERT(product->abs() >= a.abs());
  }
}

}  // namespace
}  // namespace neruba::domain
