// Properties of the calendar, checked with RapidCheck on generated anchors, zones and splits.
// RC_PARAMS="max_success=10000" in the environment runs more cases; failures print a seed.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "calendar_test_support.hpp"
#include "domain/calendar/local_time.hpp"
#include "domain/calendar/periods.hpp"
#include "domain/calendar/proration.hpp"

namespace neruba::domain::calendar {
namespace {

using test::zone;

// Zones with every kind of change: none (UTC, Asia/Kolkata), one hour at 01:00 UTC (Berlin), at
// 02:00 local (New York), 30 minutes (Lord Howe), across midnight (Santiago goes back from 00:00
// to 23:00; St. John's went back from 00:01 to 23:01 until 2011).
rc::Gen<const date::time_zone*> zones() {
  return rc::gen::element(&zone("UTC"), &zone("Europe/Berlin"), &zone("America/New_York"),
                          &zone("Australia/Lord_Howe"), &zone("America/Santiago"),
                          &zone("America/St_Johns"), &zone("Asia/Kolkata"));
}

rc::Gen<Interval> intervals() { return rc::gen::element(Interval::month, Interval::year); }

// Instants from 1990 to 2100, to the microsecond; often on a whole minute, so that anchors land
// on DST edges and month ends more often than chance would put them there.
rc::Gen<Instant> instants() {
  const std::int64_t from = to_unix_micros(test::at("1990-01-01T00:00:00Z"));
  const std::int64_t to = to_unix_micros(test::at("2100-01-01T00:00:00Z"));
  return rc::gen::apply(
      [](std::int64_t micros, bool whole_minute) {
        const std::int64_t minute = 60'000'000;
        return from_unix_micros(whole_minute ? micros / minute * minute : micros);
      },
      rc::gen::inRange(from, to), rc::gen::arbitrary<bool>());
}

BillingCycle any_cycle() {
  const auto* zone = *zones();
  return BillingCycle::of(*zone, *intervals(), *instants()).value();
}

// The anchor's local date moved by k months (or years), its day clamped: computed here with the
// date library's own year_month arithmetic, independently of the calendar's month count.
date::year_month_day expected_date(const BillingCycle& cycle, std::int64_t index) {
  const date::year_month_day anchor{local_date_of(cycle.zone(), cycle.anchor())};
  date::year_month month = anchor.year() / anchor.month();
  if (cycle.interval() == Interval::month) {
    month += date::months{static_cast<int>(index)};
  } else {
    month += date::years{static_cast<int>(index)};
  }
  const date::day last = (month / date::last).day();
  return month / std::min(anchor.day(), last);
}

RC_GTEST_PROP(CalendarProperties, ConsecutivePeriodsTileTime, ()) {
  const BillingCycle cycle = any_cycle();
  const auto index = *rc::gen::inRange<std::int64_t>(0, 1200);
  const auto period = cycle.period(index);
  const auto next = cycle.period(index + 1);
  RC_ASSERT(period.ok());  // anchors before 2100, at most 1201 periods on: far from 9999
  RC_ASSERT(next.ok());
  RC_ASSERT(period->start < period->end);
  RC_ASSERT(period->end == next->start);  // no gap, no overlap
  if (index == 0) RC_ASSERT(period->start == cycle.anchor());
}

RC_GTEST_PROP(CalendarProperties, EachStartIsTheClampedAnchorDayAtTheAnchorsTime, ()) {
  const BillingCycle cycle = any_cycle();
  const auto index = *rc::gen::inRange<std::int64_t>(1, 1200);
  const auto period = cycle.period(index);
  RC_ASSERT(period.ok());
  const date::year_month_day date = expected_date(cycle, index);
  // None of these zones has a gap that crosses midnight: the date is always the clamped one.
  RC_ASSERT(local_date_of(cycle.zone(), period->start) == date::local_days{date});
  // The time of day is the anchor's, unless that time did not exist that day: then it moved
  // forward by exactly the gap.
  const LocalTime anchor_local = local_time_of(cycle.zone(), cycle.anchor());
  const LocalTime wanted =
      date::local_days{date} + (anchor_local - date::floor<date::days>(anchor_local));
  const LocalTime shown = local_time_of(cycle.zone(), period->start);
  if (shown != wanted) {
    const date::local_info info = cycle.zone().get_info(wanted);
    RC_ASSERT(info.result == date::local_info::nonexistent);
    RC_ASSERT(shown - wanted == info.second.offset - info.first.offset);
  }
}

// Aimed at DST changes, which random anchors rarely meet: a period start on the wall-clock time
// of a change, up to 90 minutes either side, from an anchor 1 to 24 months before at that time.
RC_GTEST_PROP(CalendarProperties, AStartNearADstChangeIsItsTimeMovedOnlyByAGap, ()) {
  const auto* zone =
      *rc::gen::element(&test::zone("Europe/Berlin"), &test::zone("America/New_York"),
                        &test::zone("Australia/Lord_Howe"), &test::zone("America/Santiago"),
                        &test::zone("America/St_Johns"));
  const date::sys_info info = zone->get_info(*instants());
  const date::sys_info before = zone->get_info(info.begin - std::chrono::seconds{1});
  RC_PRE(before.offset != info.offset);  // a change of offset, not only of its name
  // The wall-clock time of the change, as the clock read it just before.
  const LocalTime change{info.begin.time_since_epoch() + before.offset};
  const LocalTime target = change + std::chrono::minutes{*rc::gen::inRange(-90, 91)};
  const date::local_days target_day = date::floor<date::days>(target);
  const date::year_month_day target_date{target_day};
  RC_PRE(target_date.day() <= date::day{28});  // no clamping: the anchor has the target's day
  const int index = *rc::gen::inRange(1, 25);
  const date::year_month anchor_month =
      target_date.year() / target_date.month() - date::months{index};
  const LocalTime anchor_local =
      date::local_days{anchor_month / target_date.day()} + (target - target_day);
  const Instant anchor = instant_of(*zone, anchor_local);
  RC_PRE(local_time_of(*zone, anchor) == anchor_local);  // the anchor's own time exists

  const auto cycle = BillingCycle::of(*zone, Interval::month, anchor).value();
  const Instant start = cycle.period(index).value().start;
  const date::local_info wanted = zone->get_info(target);
  if (wanted.result == date::local_info::nonexistent) {
    RC_ASSERT(local_time_of(*zone, start) == target + (wanted.second.offset - wanted.first.offset));
  } else if (wanted.result == date::local_info::ambiguous) {
    const Instant first{target.time_since_epoch() - wanted.first.offset};
    const Instant second{target.time_since_epoch() - wanted.second.offset};
    RC_ASSERT(local_time_of(*zone, first) == target);
    RC_ASSERT(local_time_of(*zone, second) == target);
    RC_ASSERT(start == std::min(first, second));
  } else {
    RC_ASSERT(local_time_of(*zone, start) == target);
  }
}

RC_GTEST_PROP(CalendarProperties, ThePeriodContainingAnInstantHoldsIt, ()) {
  const BillingCycle cycle = any_cycle();
  const std::int64_t ahead_micros =
      *rc::gen::inRange<std::int64_t>(0, std::int64_t{60} * 366 * 86'400'000'000);
  const Instant instant = cycle.anchor() + std::chrono::microseconds{ahead_micros};
  const auto found = cycle.period_containing(instant);
  RC_ASSERT(found.ok());
  RC_ASSERT(found->period.start <= instant);
  RC_ASSERT(instant < found->period.end);
  RC_ASSERT(cycle.period(found->index).value() == found->period);
}

// A period of a generated cycle, cut at up to five generated instants inside it.
struct SplitPeriod {
  const date::time_zone* zone;
  Period period;
  std::vector<Instant> edges;  // period.start, the cuts in order, period.end; no two equal
};

SplitPeriod any_split_period() {
  const BillingCycle cycle = any_cycle();
  const auto period = cycle.period(*rc::gen::inRange<std::int64_t>(0, 600)).value();
  const std::int64_t length_micros = (period.end - period.start).count();
  const auto cuts = *rc::gen::container<std::vector<std::int64_t>>(
      *rc::gen::inRange<std::size_t>(0, 6), rc::gen::inRange<std::int64_t>(1, length_micros));
  std::vector<Instant> edges{period.start, period.end};
  for (const auto cut : cuts) edges.push_back(period.start + std::chrono::microseconds{cut});
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  return {&cycle.zone(), period, edges};
}

RC_GTEST_PROP(CalendarProperties, FactorsOfConsecutivePartsSumToExactlyOne, ()) {
  const SplitPeriod split = any_split_period();
  for (const auto basis : {ProrationBasis::second, ProrationBasis::day}) {
    Ratio sum;
    for (std::size_t i = 0; i + 1 < split.edges.size(); ++i) {
      const auto factor =
          proration_factor(*split.zone, basis, split.period, split.edges[i], split.edges[i + 1]);
      RC_ASSERT(factor.ok());
      sum = sum.add(*factor).value();
    }
    RC_ASSERT(sum == Ratio::one());
  }
}

RC_GTEST_PROP(CalendarProperties, TheWholePeriodIsExactlyOne, ()) {
  const SplitPeriod split = any_split_period();
  for (const auto basis : {ProrationBasis::second, ProrationBasis::day}) {
    const auto factor =
        proration_factor(*split.zone, basis, split.period, split.period.start, split.period.end);
    RC_ASSERT(factor.value() == Ratio::one());
  }
}

RC_GTEST_PROP(CalendarProperties, ProratingByTheWholeFactorChangesNothing, ()) {
  const auto cents = *rc::gen::inRange<std::int64_t>(-1'000'000'000, 1'000'000'000);
  const Decimal amount = Decimal::from_parts(cents, 2).value.value();
  const auto prorated = apply(amount, Ratio::one(), 2, RoundingMode::half_even);
  RC_ASSERT(prorated.ok());
  RC_ASSERT(prorated->same_representation(amount));
}

}  // namespace
}  // namespace neruba::domain::calendar
