#pragma once
// Priced lines (API.md "Billing semantics": rounding, minimum commitment): each line's amount is
// computed exactly and rounded once, to the currency's minor unit, in the plan's RoundingMode
// (half_even unless the plan says otherwise); a period's total is the sum of rounded lines. Small
// pure functions the composition of a period (segments, plan changes, trials) calls, each
// returning the rounded amount with what explains it.
#include <cstdint>
#include <span>

#include "common/error.hpp"
#include "domain/currency.hpp"
#include "domain/decimal.hpp"
#include "domain/pricing/errors.hpp"
#include "domain/pricing/models.hpp"
#include "domain/pricing/plan.hpp"
#include "domain/ratio.hpp"

namespace neruba::domain::pricing {

// The share of a period a fee is charged for is an exact domain::Ratio of seconds or days (the
// calendar's proration_factor): 1/1 for a whole period, 17/31 for the last 17 days of a 31-day
// month. A fee is charged for at most its period: a factor above 1 is refused.

// n/d as a proration factor: proration_factor_invalid unless 0 <= n <= d and d > 0.
Result<Ratio, PricingError> proration_factor_of(std::int64_t numerator, std::int64_t denominator);

// amount × factor, rounded once to `scale` fraction digits (domain::apply): the exact product is
// never rounded before the division. Fails with proration_factor_invalid for a factor above 1,
// or amount_out_of_range.
Result<Decimal, PricingError> prorate(const Decimal& amount, const Ratio& factor, int scale,
                                      RoundingMode mode);

// `exact` rounded once to the currency's minor unit (JPY 0 digits, USD 2, KWD 3).
Result<Decimal, PricingError> round_line(const Decimal& exact, const Currency& currency,
                                         RoundingMode mode);

// A recurring fee or the seats, for a period or the prorated part of one.
struct FeeLine {
  Decimal unit_price;         // the recurring amount, or the price of one seat
  std::int64_t quantity = 1;  // seats; 1 for a recurring fee
  Decimal full_amount;        // unit_price × quantity, exact: the fee of a whole period
  Ratio factor;               // the share of the period charged
  Decimal amount;             // full_amount × factor, rounded once to the minor unit
};

Result<FeeLine, PricingError> recurring_line(const RecurringCharge& charge, const Ratio& factor,
                                             const Currency& currency, RoundingMode mode);
// Fails with negative_usage for fewer than zero seats.
Result<FeeLine, PricingError> seat_line(const SeatCharge& charge, std::int64_t seats,
                                        const Ratio& factor, const Currency& currency,
                                        RoundingMode mode);

// A usage charge's line: the model's exact amount with its explanation, and that amount rounded.
struct UsageLine {
  UsageAmount priced;  // exact amount and explanation (models.hpp)
  Decimal amount;      // priced.amount rounded once to the minor unit
};

Result<UsageLine, PricingError> usage_line(const UsageCharge& charge, const UsagePart& part,
                                           const Currency& currency, RoundingMode mode);

// The minimum commitment's true-up: what brings a period's total up to the minimum.
struct CommitmentLine {
  Decimal minimum;       // the plan's minimum × factor, rounded once to the minor unit
  Ratio factor;          // the share of the period the subscription covered
  Decimal period_total;  // the sum of the period's rounded lines (fees and usage)
  Decimal amount;        // max(0, minimum − period_total): exact, both are rounded already
};

// `line_amounts` are the period's rounded lines of the subscription, fees and usage alike
// (credits of a change count with their sign); one with more digits than the currency's minor
// unit is refused (usage_inconsistent) rather than rounded a second time. Whether a short period's
// minimum is prorated is the composition's choice: it passes 1/1 for none.
Result<CommitmentLine, PricingError> commitment_line(const Decimal& minimum, const Ratio& factor,
                                                     std::span<const Decimal> line_amounts,
                                                     const Currency& currency, RoundingMode mode);

}  // namespace neruba::domain::pricing
