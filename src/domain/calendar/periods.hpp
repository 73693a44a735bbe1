#pragma once
// Anniversary billing periods (API.md "Subscriptions", "Billing semantics"). Pure: the caller hands
// in the customer's time zone; nothing here reads a clock, a file or the tz database by name.
//
// A BillingCycle is the anchor (the subscription's billing_anchor, by default its start) read on
// the customer's wall clock, as a local date and a time of day, and an interval. Period k is the
// half-open [start(k), start(k + 1)), where
//   start(0) = the anchor itself, and for k >= 1
//   start(k) = the anchor's local date plus k months (or years), at the anchor's time of day,
//              turned back into an instant in the zone (instant_of: DST gaps move forward by the
//              gap, repeated times take the earlier instant).
// A day past the month's end falls on its last day, and the next period returns to the anchor's
// day: every start is computed from the anchor, never from the previous period, so an anchor on
// Jan 31 gives Feb 28 (29 in leap years), Mar 31, Apr 30, ... and a yearly anchor on Feb 29 gives
// Feb 28 in common years and Feb 29 again in leap years.
//
// Period 0 starts at the anchor instant, not at its wall-clock time read back: an anchor in the
// second occurrence of a repeated hour (01:30 UTC on 2026-10-25, 02:30 CET in Europe/Berlin) would
// otherwise read back as the first (00:30 UTC), and the first period would start before its anchor.
//
// Local dates are supported in years 1..9999 (RFC 3339's years): an anchor outside them, or a
// period that would end after 9999-12-31, is refused.
#include <cstdint>
#include <vector>

#include <date/tz.h>

#include "common/error.hpp"
#include "common/instant.hpp"
#include "domain/pricing/plan.hpp"

namespace neruba::domain::calendar {

using pricing::Interval;

// The calendar's reasons to refuse, with reason_of's stable slugs (e.g. "period_index_negative").
enum class CalendarError {
  anchor_out_of_range,    // the anchor's local date is outside years 1..9999
  period_index_negative,  // period(k) with k < 0
  period_out_of_range,    // the period would end after 9999-12-31 (local)
  instant_before_anchor,  // period_containing(t) with t before the anchor: no period holds it
  empty_range,            // periods_overlapping(from, to) with to <= from
  empty_period,           // proration of a period whose end is not after its start
  period_too_short,       // proration of a period without a whole second (or day) of the basis
  empty_part,             // proration of a part [from, to) with to <= from
  part_outside_period,    // proration of a part that is not inside its period
};
ErrorReason reason_of(CalendarError error);

// The half-open [start, end).
struct Period {
  Instant start;
  Instant end;
  friend bool operator==(const Period& a, const Period& b) = default;
};

// A period and its index k in its cycle (0 for the period starting at the anchor).
struct IndexedPeriod {
  std::int64_t index = 0;
  Period period;
  friend bool operator==(const IndexedPeriod& a, const IndexedPeriod& b) = default;
};

class BillingCycle {
 public:
  // The zone must outlive the cycle (the tz database's zones live as long as the program).
  static Result<BillingCycle, CalendarError> of(const date::time_zone& zone, Interval interval,
                                                Instant anchor);

  const date::time_zone& zone() const { return *zone_; }
  Interval interval() const { return interval_; }
  Instant anchor() const { return anchor_; }

  // Period k.
  Result<Period, CalendarError> period(std::int64_t index) const;
  // The period holding `instant` (start <= instant < end), for instant >= anchor. Computed from an
  // estimate of k (the months or years between the anchor's local date and the instant's) and
  // corrected by a step or two, never by walking from the anchor.
  Result<IndexedPeriod, CalendarError> period_containing(Instant instant) const;
  // The period just before the anchor, [anchor's local date minus one interval (clamped like every
  // start), anchor): what a stub from a subscription's start up to a later anchor is weighed
  // against. period_out_of_range when it would start before year 1.
  Result<Period, CalendarError> period_before_anchor() const;
  // The periods that overlap [from, to), in order; none when `to` is at or before the anchor.
  Result<std::vector<IndexedPeriod>, CalendarError> periods_overlapping(Instant from,
                                                                        Instant to) const;

 private:
  BillingCycle(const date::time_zone& zone, Interval interval, Instant anchor,
               date::year_month_day anchor_date, std::chrono::microseconds anchor_time_of_day);

  // start(k) for k >= -1, as described above.
  Result<Instant, CalendarError> start_of(std::int64_t index) const;

  const date::time_zone* zone_;
  Interval interval_;
  Instant anchor_;
  date::year_month_day anchor_date_;              // local
  std::chrono::microseconds anchor_time_of_day_;  // local, since midnight
};

}  // namespace neruba::domain::calendar
