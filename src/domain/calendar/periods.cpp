#include "domain/calendar/periods.hpp"

#include <algorithm>

#include "domain/calendar/local_time.hpp"

namespace neruba::domain::calendar {
namespace {

constexpr int year_min = 1;
constexpr int year_max = 9999;
// More periods than years 1..9999 hold monthly: an index above it is out of range before any
// arithmetic on it could overflow.
constexpr std::int64_t index_max = std::int64_t{12} * (year_max - year_min + 1);

// The months since 0001-01 of a year and month: a count that adds and divides without the
// calendar's irregularities.
std::int64_t month_count(date::year year, date::month month) {
  return std::int64_t{int(year)} * 12 + (unsigned(month) - 1);
}

// The anchor's day in the year and month given, clamped to that month's last day.
date::year_month_day clamped_date(std::int64_t months, date::day anchor_day) {
  const date::year year{static_cast<int>(months / 12)};
  const date::month month{static_cast<unsigned>(months % 12 + 1)};
  const date::day last = date::year_month_day_last{year, date::month_day_last{month}}.day();
  return {year, month, std::min(anchor_day, last)};
}

}  // namespace

ErrorReason reason_of(CalendarError error) {
  switch (error) {
    case CalendarError::anchor_out_of_range:
      return {ErrorCode::validation_failed, "anchor_out_of_range"};
    case CalendarError::period_index_negative:
      return {ErrorCode::validation_failed, "period_index_negative"};
    case CalendarError::period_out_of_range:
      return {ErrorCode::validation_failed, "period_out_of_range"};
    case CalendarError::instant_before_anchor:
      return {ErrorCode::validation_failed, "instant_before_anchor"};
    case CalendarError::empty_range:
      return {ErrorCode::validation_failed, "empty_range"};
    case CalendarError::empty_period:
      return {ErrorCode::validation_failed, "empty_period"};
    case CalendarError::period_too_short:
      return {ErrorCode::validation_failed, "period_too_short"};
    case CalendarError::empty_part:
      return {ErrorCode::validation_failed, "empty_part"};
    case CalendarError::part_outside_period:
      return {ErrorCode::validation_failed, "part_outside_period"};
  }
  return {ErrorCode::internal, "internal"};
}

BillingCycle::BillingCycle(const date::time_zone& zone, Interval interval, Instant anchor,
                           date::year_month_day anchor_date,
                           std::chrono::microseconds anchor_time_of_day)
    : zone_(&zone),
      interval_(interval),
      anchor_(anchor),
      anchor_date_(anchor_date),
      anchor_time_of_day_(anchor_time_of_day) {}

Result<BillingCycle, CalendarError> BillingCycle::of(const date::time_zone& zone, Interval interval,
                                                     Instant anchor) {
  const LocalTime local = local_time_of(zone, anchor);
  const date::local_days day = date::floor<date::days>(local);
  const date::year_month_day date{day};
  if (date.year() < date::year{year_min} || date.year() > date::year{year_max}) {
    return CalendarError::anchor_out_of_range;
  }
  return BillingCycle(zone, interval, anchor, date, local - day);
}

Result<Instant, CalendarError> BillingCycle::start_of(std::int64_t index) const {
  if (index == 0) return anchor_;
  if (index > index_max) return CalendarError::period_out_of_range;
  const std::int64_t months_per_period = interval_ == Interval::month ? 1 : 12;
  const std::int64_t months =
      month_count(anchor_date_.year(), anchor_date_.month()) + index * months_per_period;
  // Checked before a date::year is made of it: that type holds only years up to 32767.
  if (months / 12 > year_max || months / 12 < year_min) return CalendarError::period_out_of_range;
  const date::year_month_day date = clamped_date(months, anchor_date_.day());
  return instant_of(*zone_, date::local_days{date} + anchor_time_of_day_);
}

Result<Period, CalendarError> BillingCycle::period(std::int64_t index) const {
  if (index < 0) return CalendarError::period_index_negative;
  auto start = start_of(index);
  if (!start) return start.error();
  auto end = start_of(index + 1);
  if (!end) return end.error();
  return Period{*start, *end};
}

Result<Period, CalendarError> BillingCycle::period_before_anchor() const {
  auto start = start_of(-1);
  if (!start) return start.error();
  return Period{*start, anchor_};
}

Result<IndexedPeriod, CalendarError> BillingCycle::period_containing(Instant instant) const {
  if (instant < anchor_) return CalendarError::instant_before_anchor;
  // The instant's local month is (nearly always) that of the period it is in, or of the next
  // one's start when it is before the anchor's day in that month: the estimate is k or k + 1.
  const date::year_month_day date{local_date_of(*zone_, instant)};
  std::int64_t index = month_count(date.year(), date.month()) -
                       month_count(anchor_date_.year(), anchor_date_.month());
  if (interval_ == Interval::year) index = int(date.year()) - int(anchor_date_.year());
  index = std::clamp<std::int64_t>(index, 0, index_max);
  // Starts grow strictly with k, so the corrections end; with the estimate above each loop runs
  // at most once or twice (more only if a zone's offset jumped by weeks).
  Instant start;
  for (;;) {
    auto found = start_of(index);
    if (!found) return found.error();
    start = *found;
    if (start <= instant) break;
    --index;  // start(0) is the anchor, at or before the instant: index stays >= 0
  }
  // Each end is the next period's start: every start is computed once.
  for (;;) {
    auto end = start_of(index + 1);
    if (!end) return end.error();
    if (instant < *end) return IndexedPeriod{index, Period{start, *end}};
    start = *end;
    ++index;
  }
}

Result<std::vector<IndexedPeriod>, CalendarError> BillingCycle::periods_overlapping(
    Instant from, Instant to) const {
  if (to <= from) return CalendarError::empty_range;
  std::vector<IndexedPeriod> periods;
  if (to <= anchor_) return periods;
  IndexedPeriod current{0, {}};
  if (from > anchor_) {
    auto first = period_containing(from);
    if (!first) return first.error();
    current = *first;
  } else {
    auto first = period(0);
    if (!first) return first.error();
    current.period = *first;
  }
  for (;;) {
    periods.push_back(current);
    if (current.period.end >= to) return periods;
    auto next = start_of(current.index + 2);
    if (!next) return next.error();
    current = IndexedPeriod{current.index + 1, Period{current.period.end, *next}};
  }
}

}  // namespace neruba::domain::calendar
