// Unit tests for domain::calendar: wall-clock resolution around DST changes and anniversary
// periods. Expected instants are worked out by hand from the IANA rules named beside them (the
// zones' offsets and change instants as tzdata 2025b lists them, `zdump -v`), never from this code.
#include "domain/calendar/periods.hpp"

#include <gtest/gtest.h>

#include "calendar_test_support.hpp"
#include "domain/calendar/local_time.hpp"

namespace neruba::domain::calendar {
namespace {

using test::at;
using test::cycle;
using test::text;
using test::zone;

std::string period_text(const BillingCycle& cycle, std::int64_t index) {
  const auto period = cycle.period(index);
  return period ? text(*period) : std::string(reason_of(period.error()).slug);
}

// 2026 + 31,000 = 33,026: a year no date::year holds, so the calendar must refuse it before.
constexpr std::int64_t index_beyond_short_years = 31'000;

LocalTime local(date::year_month_day date, int hour, int minute) {
  return LocalTime{date::local_days{date} + std::chrono::hours{hour} +
                   std::chrono::minutes{minute}};
}

// --- wall-clock time → instant --------------------------------------------------------------

TEST(CalendarLocalTime, AUniqueTimeIsReadWithItsOffset) {
  using namespace date::literals;
  // 2026-01-15 10:00 CET (+01:00) = 09:00 UTC; 2026-07-15 10:00 CEST (+02:00) = 08:00 UTC
  EXPECT_EQ(text(instant_of(zone("Europe/Berlin"), local(2026_y / 1 / 15, 10, 0))),
            "2026-01-15T09:00:00Z");
  EXPECT_EQ(text(instant_of(zone("Europe/Berlin"), local(2026_y / 7 / 15, 10, 0))),
            "2026-07-15T08:00:00Z");
}

TEST(CalendarLocalTime, ATimeInASpringForwardGapMovesForwardByTheGap) {
  using namespace date::literals;
  // EU rule: last Sunday of March at 01:00 UTC, 02:00 CET → 03:00 CEST (2026-03-29). 02:30 does
  // not exist; moved forward by the gap (1 h) it is 03:30 CEST = 01:30 UTC.
  EXPECT_EQ(text(instant_of(zone("Europe/Berlin"), local(2026_y / 3 / 29, 2, 30))),
            "2026-03-29T01:30:00Z");
  // US rule: second Sunday of March at 02:00 local, EST → EDT (2026-03-08). 02:30 → 03:30 EDT
  // (-04:00) = 07:30 UTC.
  EXPECT_EQ(text(instant_of(zone("America/New_York"), local(2026_y / 3 / 8, 2, 30))),
            "2026-03-08T07:30:00Z");
  // Lord Howe: first Sunday of October at 02:00 local, +10:30 → +11:00, a 30-minute gap
  // (2026-10-04). 02:15 → 02:45 +11:00 = 15:45 UTC the day before.
  EXPECT_EQ(text(instant_of(zone("Australia/Lord_Howe"), local(2026_y / 10 / 4, 2, 15))),
            "2026-10-03T15:45:00Z");
  // The gap's edges: 01:59 CET is before it (00:59 UTC); 03:00 CEST is its end (01:00 UTC), and
  // 02:00 itself, the first missing minute, moves to 03:00 CEST too.
  EXPECT_EQ(text(instant_of(zone("Europe/Berlin"), local(2026_y / 3 / 29, 1, 59))),
            "2026-03-29T00:59:00Z");
  EXPECT_EQ(text(instant_of(zone("Europe/Berlin"), local(2026_y / 3 / 29, 2, 0))),
            "2026-03-29T01:00:00Z");
  EXPECT_EQ(text(instant_of(zone("Europe/Berlin"), local(2026_y / 3 / 29, 3, 0))),
            "2026-03-29T01:00:00Z");
}

TEST(CalendarLocalTime, ARepeatedTimeTakesTheEarlierInstant) {
  using namespace date::literals;
  // EU rule: last Sunday of October at 01:00 UTC, 03:00 CEST → 02:00 CET (2026-10-25): 02:30
  // happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET); the earlier is 00:30 UTC.
  EXPECT_EQ(text(instant_of(zone("Europe/Berlin"), local(2026_y / 10 / 25, 2, 30))),
            "2026-10-25T00:30:00Z");
  // US rule: first Sunday of November at 02:00 local, EDT → EST (2026-11-01): 01:30 EDT (-04:00)
  // = 05:30 UTC, before 01:30 EST = 06:30 UTC.
  EXPECT_EQ(text(instant_of(zone("America/New_York"), local(2026_y / 11 / 1, 1, 30))),
            "2026-11-01T05:30:00Z");
  // Lord Howe: first Sunday of April at 02:00 +11:00 → 01:30 +10:30 (2026-04-05): 01:45 at +11:00
  // = 14:45 UTC the day before, before 01:45 +10:30 = 15:15 UTC.
  EXPECT_EQ(text(instant_of(zone("Australia/Lord_Howe"), local(2026_y / 4 / 5, 1, 45))),
            "2026-04-04T14:45:00Z");
}

TEST(CalendarLocalTime, TheCalendarDateNeverGoesBack) {
  using namespace date::literals;
  // America/St_Johns in 2006 went back at 00:01 NDT (-02:30) on Oct 29 to 23:01 NST (-03:30) on
  // Oct 28, at 02:31 UTC. 02:30 UTC is 00:00 Oct 29 NDT; 02:45 UTC reads 23:15 Oct 28 NST on the
  // wall clock, but the calendar had reached Oct 29 already.
  const auto& st_johns = zone("America/St_Johns");
  EXPECT_EQ(local_date_of(st_johns, at("2006-10-29T02:30:00Z")),
            date::local_days{2006_y / 10 / 29});
  EXPECT_EQ(local_date_of(st_johns, at("2006-10-29T02:45:00Z")),
            date::local_days{2006_y / 10 / 28});
  EXPECT_EQ(calendar_date_of(st_johns, at("2006-10-29T02:45:00Z")),
            date::local_days{2006_y / 10 / 29});
  // The repeated hour ends at 03:31 UTC (00:01 NST Oct 29): from there both agree again.
  EXPECT_EQ(calendar_date_of(st_johns, at("2006-10-29T03:31:00Z")),
            date::local_days{2006_y / 10 / 29});
  // A fall-back that does not cross midnight changes nothing: Berlin 01:30 UTC on 2026-10-25 is
  // 02:30 CET, Oct 25 either way.
  EXPECT_EQ(calendar_date_of(zone("Europe/Berlin"), at("2026-10-25T01:30:00Z")),
            date::local_days{2026_y / 10 / 25});
}

// --- periods: UTC, month-end clamping, leap years ---------------------------------------------

TEST(CalendarPeriods, MonthlyInUtcStepsByCalendarMonths) {
  const auto monthly = cycle("UTC", Interval::month, "2026-01-15T10:00:00Z");
  EXPECT_EQ(period_text(monthly, 0), "[2026-01-15T10:00:00Z, 2026-02-15T10:00:00Z)");
  EXPECT_EQ(period_text(monthly, 1), "[2026-02-15T10:00:00Z, 2026-03-15T10:00:00Z)");
  // k = 11: 2026-01 + 11 months = 2026-12; its end 2026-01 + 12 = 2027-01
  EXPECT_EQ(period_text(monthly, 11), "[2026-12-15T10:00:00Z, 2027-01-15T10:00:00Z)");
}

TEST(CalendarPeriods, AnAnchorPastTheMonthsEndFallsOnItsLastDayAndReturns) {
  // 2028 is a leap year (divisible by 4, not by 100): Jan 31 → Feb 29 → Mar 31 → Apr 30 → May 31
  const auto monthly = cycle("UTC", Interval::month, "2028-01-31T00:00:00Z");
  EXPECT_EQ(period_text(monthly, 0), "[2028-01-31T00:00:00Z, 2028-02-29T00:00:00Z)");
  EXPECT_EQ(period_text(monthly, 1), "[2028-02-29T00:00:00Z, 2028-03-31T00:00:00Z)");
  EXPECT_EQ(period_text(monthly, 2), "[2028-03-31T00:00:00Z, 2028-04-30T00:00:00Z)");
  EXPECT_EQ(period_text(monthly, 3), "[2028-04-30T00:00:00Z, 2028-05-31T00:00:00Z)");
  // 2027 is common: Feb 28. And an anchor on the 30th: Feb 28, then Mar 30 again.
  EXPECT_EQ(period_text(cycle("UTC", Interval::month, "2027-01-31T08:00:00Z"), 1),
            "[2027-02-28T08:00:00Z, 2027-03-31T08:00:00Z)");
  EXPECT_EQ(period_text(cycle("UTC", Interval::month, "2027-01-30T08:00:00Z"), 1),
            "[2027-02-28T08:00:00Z, 2027-03-30T08:00:00Z)");
  // 2100 is not a leap year (divisible by 100, not by 400): Feb 28.
  EXPECT_EQ(period_text(cycle("UTC", Interval::month, "2100-01-31T00:00:00Z"), 1),
            "[2100-02-28T00:00:00Z, 2100-03-31T00:00:00Z)");
}

TEST(CalendarPeriods, AYearlyAnchorOnFebruary29) {
  // Leap years 2028 and 2032 have Feb 29; 2029, 2030, 2031 fall on Feb 28.
  const auto yearly = cycle("UTC", Interval::year, "2028-02-29T12:00:00Z");
  EXPECT_EQ(period_text(yearly, 0), "[2028-02-29T12:00:00Z, 2029-02-28T12:00:00Z)");
  EXPECT_EQ(period_text(yearly, 1), "[2029-02-28T12:00:00Z, 2030-02-28T12:00:00Z)");
  EXPECT_EQ(period_text(yearly, 3), "[2031-02-28T12:00:00Z, 2032-02-29T12:00:00Z)");
  EXPECT_EQ(period_text(yearly, 4), "[2032-02-29T12:00:00Z, 2033-02-28T12:00:00Z)");
  // From 2096-02-29: k = 4 is 2100, not leap (Feb 28); k = 8 is 2104, leap (Feb 29).
  const auto across_2100 = cycle("UTC", Interval::year, "2096-02-29T00:00:00Z");
  EXPECT_EQ(period_text(across_2100, 3), "[2099-02-28T00:00:00Z, 2100-02-28T00:00:00Z)");
  EXPECT_EQ(period_text(across_2100, 7), "[2103-02-28T00:00:00Z, 2104-02-29T00:00:00Z)");
}

// --- periods: time zones and DST ------------------------------------------------------------

TEST(CalendarPeriods, AreReadOnTheCustomersWallClock) {
  // 2026-01-31T23:30:00Z is Feb 1 00:30 CET in Berlin: the anchor day is the 1st there, not the
  // 31st. Period 1 starts Mar 1 00:30 CET = Feb 28 23:30 UTC; period 2 Apr 1 00:30 CEST
  // (+02:00, after Mar 29) = Mar 31 22:30 UTC.
  const auto berlin = cycle("Europe/Berlin", Interval::month, "2026-01-31T23:30:00Z");
  EXPECT_EQ(period_text(berlin, 0), "[2026-01-31T23:30:00Z, 2026-02-28T23:30:00Z)");
  EXPECT_EQ(period_text(berlin, 1), "[2026-02-28T23:30:00Z, 2026-03-31T22:30:00Z)");
  // The same instant in New York is Jan 31 18:30 EST: the 31st, clamped to Feb 28.
  const auto new_york = cycle("America/New_York", Interval::month, "2026-01-31T23:30:00Z");
  // Feb 28 18:30 EST (-05:00) = 23:30 UTC; Mar 31 18:30 EDT (-04:00) = 22:30 UTC
  EXPECT_EQ(period_text(new_york, 1), "[2026-02-28T23:30:00Z, 2026-03-31T22:30:00Z)");
}

TEST(CalendarPeriods, AStartInTheSpringForwardGapMovesForward) {
  // Anchor 2026-01-29T01:30:00Z = Jan 29 02:30 CET. Period 1: Feb 28 (2026 is common) 02:30 CET
  // = 01:30 UTC. Period 2: Mar 29 02:30 does not exist (EU change that night) → 03:30 CEST =
  // 01:30 UTC. Period 3: Apr 29 02:30 CEST = 00:30 UTC.
  const auto berlin = cycle("Europe/Berlin", Interval::month, "2026-01-29T01:30:00Z");
  EXPECT_EQ(period_text(berlin, 1), "[2026-02-28T01:30:00Z, 2026-03-29T01:30:00Z)");
  EXPECT_EQ(period_text(berlin, 2), "[2026-03-29T01:30:00Z, 2026-04-29T00:30:00Z)");
  // New York: anchor Feb 8 02:30 EST = 07:30 UTC; Mar 8 02:30 does not exist (US change) →
  // 03:30 EDT = 07:30 UTC; Apr 8 02:30 EDT = 06:30 UTC.
  const auto new_york = cycle("America/New_York", Interval::month, "2026-02-08T07:30:00Z");
  EXPECT_EQ(period_text(new_york, 1), "[2026-03-08T07:30:00Z, 2026-04-08T06:30:00Z)");
  // Lord Howe, 30-minute gap: anchor Sep 4 02:15 +10:30 = Sep 3 15:45 UTC; Oct 4 02:15 does not
  // exist → 02:45 +11:00 = Oct 3 15:45 UTC; Nov 4 02:15 +11:00 = Nov 3 15:15 UTC.
  const auto lord_howe = cycle("Australia/Lord_Howe", Interval::month, "2026-09-03T15:45:00Z");
  EXPECT_EQ(period_text(lord_howe, 1), "[2026-10-03T15:45:00Z, 2026-11-03T15:15:00Z)");
}

TEST(CalendarPeriods, AStartInTheRepeatedHourTakesTheEarlierInstant) {
  // Anchor Sep 25 02:30 CEST = 00:30 UTC. Period 1: Oct 25 02:30 happens twice (EU change at
  // 01:00 UTC); the earlier, CEST, is 00:30 UTC. Its end: Nov 25 02:30 CET = 01:30 UTC.
  const auto berlin = cycle("Europe/Berlin", Interval::month, "2026-09-25T00:30:00Z");
  EXPECT_EQ(period_text(berlin, 0), "[2026-09-25T00:30:00Z, 2026-10-25T00:30:00Z)");
  EXPECT_EQ(period_text(berlin, 1), "[2026-10-25T00:30:00Z, 2026-11-25T01:30:00Z)");
  // New York: anchor Oct 1 01:30 EDT = 05:30 UTC; Nov 1 01:30 EDT (earlier) = 05:30 UTC; Dec 1
  // 01:30 EST = 06:30 UTC.
  const auto new_york = cycle("America/New_York", Interval::month, "2026-10-01T05:30:00Z");
  EXPECT_EQ(period_text(new_york, 1), "[2026-11-01T05:30:00Z, 2026-12-01T06:30:00Z)");
  // Lord Howe: anchor Mar 5 01:45 +11:00 = Mar 4 14:45 UTC; Apr 5 01:45 happens twice, the
  // earlier at +11:00 = Apr 4 14:45 UTC; May 5 01:45 +10:30 = May 4 15:15 UTC.
  const auto lord_howe = cycle("Australia/Lord_Howe", Interval::month, "2026-03-04T14:45:00Z");
  EXPECT_EQ(period_text(lord_howe, 1), "[2026-04-04T14:45:00Z, 2026-05-04T15:15:00Z)");
}

TEST(CalendarPeriods, TheFirstPeriodStartsAtTheAnchorEvenInTheRepeatedHour) {
  // 2026-10-25T01:30:00Z is 02:30 CET, the second 02:30 of that night. Read back, 02:30 would be
  // the first (00:30 UTC); period 0 starts at the anchor itself. Period 1: Nov 25 02:30 CET.
  const auto berlin = cycle("Europe/Berlin", Interval::month, "2026-10-25T01:30:00Z");
  EXPECT_EQ(period_text(berlin, 0), "[2026-10-25T01:30:00Z, 2026-11-25T01:30:00Z)");
  EXPECT_EQ(berlin.period_containing(at("2026-10-25T01:30:00Z"))->index, 0);
}

TEST(CalendarPeriods, KeepTheAnchorsSubSecondPart) {
  const auto monthly = cycle("UTC", Interval::month, "2026-01-15T10:00:00.250000Z");
  EXPECT_EQ(period_text(monthly, 1), "[2026-02-15T10:00:00.250000Z, 2026-03-15T10:00:00.250000Z)");
}

// --- finding periods ------------------------------------------------------------------------

TEST(CalendarPeriodContaining, FindsThePeriodOfAnInstant) {
  const auto monthly = cycle("UTC", Interval::month, "2028-01-31T00:00:00Z");
  // Feb 29 is period 1's first day: 2028-02-29T00:00Z is its start (half-open: in period 1).
  auto found = monthly.period_containing(at("2028-02-29T00:00:00Z"));
  EXPECT_EQ(found->index, 1);
  EXPECT_EQ(text(found->period), "[2028-02-29T00:00:00Z, 2028-03-31T00:00:00Z)");
  // One microsecond before is still period 0.
  EXPECT_EQ(monthly.period_containing(at("2028-02-28T23:59:59.999999Z"))->index, 0);
  // Mar 15 is in the period of Feb 29 (the estimate, from the month, is 2; corrected to 1).
  EXPECT_EQ(monthly.period_containing(at("2028-03-15T00:00:00Z"))->index, 1);
  // A hundred years on: 2128-02-28T12:00Z. k = 100 × 12 + 1 = 1201 starts 2128-02-29 (2128 is
  // leap), after the instant, so the instant is in k = 1200: [2128-01-31, 2128-02-29).
  found = monthly.period_containing(at("2128-02-28T12:00:00Z"));
  EXPECT_EQ(found->index, 1200);
  EXPECT_EQ(text(found->period), "[2128-01-31T00:00:00Z, 2128-02-29T00:00:00Z)");
}

TEST(CalendarPeriodContaining, UsesTheLocalCalendarNearDstChanges) {
  // Berlin, anchor Jan 29 02:30 CET: period 2 starts 2026-03-29T01:30Z (the gap moved it).
  const auto berlin = cycle("Europe/Berlin", Interval::month, "2026-01-29T01:30:00Z");
  EXPECT_EQ(berlin.period_containing(at("2026-03-29T01:29:59Z"))->index, 1);
  EXPECT_EQ(berlin.period_containing(at("2026-03-29T01:30:00Z"))->index, 2);
  // Yearly: 2029-02-28T11:59:59Z is one second before period 1 of a Feb 29 12:00 UTC anchor.
  const auto yearly = cycle("UTC", Interval::year, "2028-02-29T12:00:00Z");
  EXPECT_EQ(yearly.period_containing(at("2029-02-28T11:59:59Z"))->index, 0);
  EXPECT_EQ(yearly.period_containing(at("2029-02-28T12:00:00Z"))->index, 1);
}

TEST(CalendarPeriodsOverlapping, ListsEveryPeriodMeetingTheRange) {
  const auto monthly = cycle("UTC", Interval::month, "2026-01-31T00:00:00Z");
  // [Feb 10, Apr 30): periods [Jan 31, Feb 28), [Feb 28, Mar 31), [Mar 31, Apr 30)
  auto periods =
      monthly.periods_overlapping(at("2026-02-10T00:00:00Z"), at("2026-04-30T00:00:00Z"));
  ASSERT_EQ(periods->size(), 3u);
  EXPECT_EQ((*periods)[0].index, 0);
  EXPECT_EQ(text((*periods)[2].period), "[2026-03-31T00:00:00Z, 2026-04-30T00:00:00Z)");
  // One microsecond further meets period 3 too.
  periods =
      monthly.periods_overlapping(at("2026-02-10T00:00:00Z"), at("2026-04-30T00:00:00.000001Z"));
  EXPECT_EQ(periods->size(), 4u);
  // A range starting before the anchor starts with period 0; one ending at it meets nothing.
  periods = monthly.periods_overlapping(at("2025-12-01T00:00:00Z"), at("2026-02-01T00:00:00Z"));
  ASSERT_EQ(periods->size(), 1u);
  EXPECT_EQ(text((*periods)[0].period), "[2026-01-31T00:00:00Z, 2026-02-28T00:00:00Z)");
  EXPECT_TRUE(
      monthly.periods_overlapping(at("2025-12-01T00:00:00Z"), at("2026-01-31T00:00:00Z"))->empty());
}

// --- refusals -------------------------------------------------------------------------------

TEST(CalendarErrors, EachRefusalHasItsReason) {
  const auto monthly = cycle("UTC", Interval::month, "2026-01-15T10:00:00Z");
  EXPECT_EQ(monthly.period(-1).error(), CalendarError::period_index_negative);
  EXPECT_EQ(monthly.period_containing(at("2026-01-15T09:59:59.999999Z")).error(),
            CalendarError::instant_before_anchor);
  EXPECT_EQ(
      monthly.periods_overlapping(at("2026-02-01T00:00:00Z"), at("2026-02-01T00:00:00Z")).error(),
      CalendarError::empty_range);
  EXPECT_EQ(
      monthly.periods_overlapping(at("2026-03-01T00:00:00Z"), at("2026-02-01T00:00:00Z")).error(),
      CalendarError::empty_range);
  // Dates end at 9999-12-31: from 9999-06-15, period 5 ends 9999-12-15; period 6 would end in
  // 10000.
  const auto late = cycle("UTC", Interval::month, "9999-06-15T00:00:00Z");
  EXPECT_EQ(period_text(late, 5), "[9999-11-15T00:00:00Z, 9999-12-15T00:00:00Z)");
  EXPECT_EQ(late.period(6).error(), CalendarError::period_out_of_range);
  EXPECT_EQ(late.period(std::numeric_limits<std::int64_t>::max()).error(),
            CalendarError::period_out_of_range);
  // Yearly, 50,000 years on is past 9999 (and past the 32,767 a date::year can hold).
  const auto yearly = cycle("UTC", Interval::year, "2026-01-15T10:00:00Z");
  EXPECT_EQ(period_text(yearly, 7972), "[9998-01-15T10:00:00Z, 9999-01-15T10:00:00Z)");
  EXPECT_EQ(yearly.period(7973).error(), CalendarError::period_out_of_range);
  EXPECT_EQ(yearly.period(50'000).error(), CalendarError::period_out_of_range);
  EXPECT_EQ(yearly.period(index_beyond_short_years).error(), CalendarError::period_out_of_range);
  EXPECT_EQ(late.period_containing(at("9999-12-20T00:00:00Z")).error(),
            CalendarError::period_out_of_range);
  // Year 0 is outside 1..9999 (and so is 9999-12-31T23:00Z in Asia/Tokyo, 10000-01-01 08:00).
  EXPECT_EQ(BillingCycle::of(zone("UTC"), Interval::month, at("0000-06-01T00:00:00Z")).error(),
            CalendarError::anchor_out_of_range);
  EXPECT_EQ(
      BillingCycle::of(zone("Asia/Tokyo"), Interval::year, at("9999-12-31T23:00:00Z")).error(),
      CalendarError::anchor_out_of_range);
}

TEST(CalendarErrors, SlugsAreStable) {
  EXPECT_EQ(reason_of(CalendarError::anchor_out_of_range).slug, "anchor_out_of_range");
  EXPECT_EQ(reason_of(CalendarError::period_index_negative).slug, "period_index_negative");
  EXPECT_EQ(reason_of(CalendarError::period_out_of_range).slug, "period_out_of_range");
  EXPECT_EQ(reason_of(CalendarError::instant_before_anchor).slug, "instant_before_anchor");
  EXPECT_EQ(reason_of(CalendarError::empty_range).slug, "empty_range");
  EXPECT_EQ(reason_of(CalendarError::empty_period).slug, "empty_period");
  EXPECT_EQ(reason_of(CalendarError::period_too_short).slug, "period_too_short");
  EXPECT_EQ(reason_of(CalendarError::empty_part).slug, "empty_part");
  EXPECT_EQ(reason_of(CalendarError::part_outside_period).slug, "part_outside_period");
  EXPECT_EQ(reason_of(CalendarError::empty_part).code, ErrorCode::validation_failed);
}

}  // namespace
}  // namespace neruba::domain::calendar
