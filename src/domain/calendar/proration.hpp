#pragma once
// The proration factor of a part [from, to) of a billing period [start, end): the exact share of
// the period the part weighs (API.md "Billing semantics": "Proration factors are exact ratios
// (seconds or days)"), applied to an amount with domain::apply and rounded once, at the line.
//
// Basis `second` (the default; Stripe's standard proration is computed "down to the second" from
// the period's start and the change's timestamp: docs.stripe.com/billing/scripts/prorations):
//   (to - from) / (end - start), in whole seconds. Instants carry microseconds; each instant counts
//   as the second it falls in (floored), so a change at 10:00:00.700 weighs as one at 10:00:00.
//   Floors telescope: the seconds of consecutive parts add up to exactly the period's seconds, so
//   their factors sum to exactly 1 however the edges fall inside a second. A 23- or 25-hour DST
//   day weighs its real 82,800 or 90,000 seconds.
// Basis `day` (whole days of the customer's calendar):
//   (date of `to` - date of `from`) / (date of `end` - date of `start`), dates of the customer's
//   calendar, read on its wall clock (calendar_date_of: a date never goes back). A part
//   counts the dates from the one it starts on up to, not including, the one it ends on: the day of
//   a change belongs to the part that begins on it. That is Lago's rule for an upgrade
//   (getlago/lago-api CreditNotes::CreateFromTermination: the old plan is credited from the change
//   day included, the new plan charged from it), and it makes consecutive parts' days telescope to
//   the period's, so their factors sum to exactly 1. (Lago's plain termination keeps the last day
//   for the old plan instead; a partition cannot give the change day to both sides, and the day
//   basis here never counts one day twice.) A DST day of 23 or 25 hours is one day. A part inside
//   one local day weighs 0/N days.
#include "common/error.hpp"
#include "common/instant.hpp"
#include "domain/calendar/periods.hpp"
#include "domain/pricing/plan.hpp"
#include "domain/ratio.hpp"

namespace neruba::domain::calendar {

using pricing::ProrationBasis;

// Errors: empty_period (end <= start), empty_part (to <= from), part_outside_period (from < start
// or to > end), period_too_short (the period holds no whole second, or no whole local day, of the
// basis: its factor would divide by zero).
Result<Ratio, CalendarError> proration_factor(const date::time_zone& zone, ProrationBasis basis,
                                              const Period& period, Instant from, Instant to);

}  // namespace neruba::domain::calendar
