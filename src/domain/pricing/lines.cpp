#include "domain/pricing/lines.hpp"

#include "domain/pricing/exact.hpp"

namespace neruba::domain::pricing {

Result<Ratio, PricingError> proration_factor_of(std::int64_t numerator, std::int64_t denominator) {
  if (denominator <= 0 || numerator < 0 || numerator > denominator) {
    return PricingError::proration_factor_invalid;
  }
  return *Ratio::of(numerator, denominator);
}

Result<Decimal, PricingError> prorate(const Decimal& amount, const Ratio& factor, int scale,
                                      RoundingMode mode) {
  if (factor.numerator() > factor.denominator()) return PricingError::proration_factor_invalid;
  const DecimalResult share = apply(amount, factor, scale, mode);
  if (!share) {
    return share.error == DecimalError::scale_out_of_range ? PricingError::amount_too_precise
                                                           : PricingError::amount_out_of_range;
  }
  return *share;
}

Result<Decimal, PricingError> round_line(const Decimal& exact, const Currency& currency,
                                         RoundingMode mode) {
  const DecimalResult rounded = exact.round(currency.minor_unit_digits(), mode);
  if (!rounded) return PricingError::amount_out_of_range;
  return *rounded;
}

namespace {

bool is_rounded(const Decimal& amount, const Currency& currency) {
  const DecimalResult rounded = amount.round(currency.minor_unit_digits(), RoundingMode::down);
  return rounded && *rounded == amount;
}

Result<FeeLine, PricingError> fee_line(const Decimal& unit_price, std::int64_t quantity,
                                       const Ratio& factor, const Currency& currency,
                                       RoundingMode mode) {
  if (quantity < 0) return PricingError::negative_usage;
  FeeLine line{unit_price, quantity, {}, factor, {}};
  Exact exact;
  line.full_amount = exact.mul(unit_price, Decimal::from_integer(quantity));
  if (exact.failed()) return exact.error();
  auto prorated = prorate(line.full_amount, factor, currency.minor_unit_digits(), mode);
  if (!prorated) return prorated.error();
  line.amount = *prorated;
  return line;
}

}  // namespace

Result<FeeLine, PricingError> recurring_line(const RecurringCharge& charge, const Ratio& factor,
                                             const Currency& currency, RoundingMode mode) {
  return fee_line(charge.amount, 1, factor, currency, mode);
}

Result<FeeLine, PricingError> seat_line(const SeatCharge& charge, std::int64_t seats,
                                        const Ratio& factor, const Currency& currency,
                                        RoundingMode mode) {
  return fee_line(charge.unit_price, seats, factor, currency, mode);
}

Result<UsageLine, PricingError> usage_line(const UsageCharge& charge, const UsagePart& part,
                                           const Currency& currency, RoundingMode mode) {
  auto priced = price_usage(charge, part);
  if (!priced) return priced.error();
  auto rounded = round_line(priced->amount, currency, mode);
  if (!rounded) return rounded.error();
  return UsageLine{std::move(*priced), *rounded};
}

Result<CommitmentLine, PricingError> commitment_line(const Decimal& minimum, const Ratio& factor,
                                                     std::span<const Decimal> line_amounts,
                                                     const Currency& currency, RoundingMode mode) {
  auto prorated = prorate(minimum, factor, currency.minor_unit_digits(), mode);
  if (!prorated) return prorated.error();
  CommitmentLine line{*prorated, factor, {}, {}};
  Exact exact;
  for (const Decimal& amount : line_amounts) {
    // A line not in minor units would be rounded a second time here.
    if (!is_rounded(amount, currency)) return PricingError::usage_inconsistent;
    exact.accumulate(line.period_total, amount);
  }
  // The shortfall of two amounts in minor units is in minor units: nothing is rounded here.
  const Decimal shortfall = exact.sub(line.minimum, line.period_total);
  if (exact.failed()) return exact.error();
  // No true-up is still an amount of the currency: "0.00", not "0".
  line.amount = shortfall.sign() > 0 ? shortfall
                                     : *Decimal::from_parts(0, currency.minor_unit_digits()).value;
  return line;
}

}  // namespace neruba::domain::pricing
