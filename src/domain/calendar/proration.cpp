#include "domain/calendar/proration.hpp"

#include "common/assert.hpp"
#include "domain/calendar/local_time.hpp"

namespace neruba::domain::calendar {
namespace {

// The whole seconds from `from` to `to`, each instant floored to the second it falls in.
std::int64_t seconds_between(Instant from, Instant to) {
  return (std::chrono::floor<std::chrono::seconds>(to) -
          std::chrono::floor<std::chrono::seconds>(from))
      .count();
}

// The dates from `from`'s up to `to`'s, on the customer's calendar (never negative).
std::int64_t days_between(const date::time_zone& zone, Instant from, Instant to) {
  return (calendar_date_of(zone, to) - calendar_date_of(zone, from)).count();
}

std::int64_t units_between(const date::time_zone& zone, ProrationBasis basis, Instant from,
                           Instant to) {
  return basis == ProrationBasis::second ? seconds_between(from, to) : days_between(zone, from, to);
}

}  // namespace

Result<Ratio, CalendarError> proration_factor(const date::time_zone& zone, ProrationBasis basis,
                                              const Period& period, Instant from, Instant to) {
  if (period.end <= period.start) return CalendarError::empty_period;
  if (to <= from) return CalendarError::empty_part;
  if (from < period.start || to > period.end) return CalendarError::part_outside_period;
  const std::int64_t period_units = units_between(zone, basis, period.start, period.end);
  if (period_units == 0) return CalendarError::period_too_short;
  const std::int64_t part_units = units_between(zone, basis, from, to);
  // Floors and dates are monotone, so 0 <= part <= period: the ratio is always one.
  auto factor = Ratio::of(part_units, period_units);
  NERUBA_ASSERT_MSG(factor.ok() && part_units <= period_units,
                    "a part inside its period weighs between 0 and 1 of it");
  return *factor;
}

}  // namespace neruba::domain::calendar
