// Unit tests for domain::calendar::proration_factor, by seconds and by days. Expected ratios are
// worked out by hand (the arithmetic beside each), the DST instants from the IANA rules named.
#include "domain/calendar/proration.hpp"

#include <gtest/gtest.h>

#include "calendar_test_support.hpp"

namespace neruba::domain::calendar {
namespace {

using test::at;
using test::zone;

Period period(std::string_view start, std::string_view end) { return {at(start), at(end)}; }

std::string factor(std::string_view zone_name, ProrationBasis basis, const Period& whole,
                   std::string_view from, std::string_view to) {
  const auto result = proration_factor(zone(zone_name), basis, whole, at(from), at(to));
  return result ? result->to_string() : std::string(reason_of(result.error()).slug);
}

constexpr auto by_second = ProrationBasis::second;
constexpr auto by_day = ProrationBasis::day;

TEST(CalendarProration, BySecondsWeighsTheRealDuration) {
  // January 2026 in UTC: 31 × 86400 = 2,678,400 s. From Jan 16 12:00 to the end: 15.5 days =
  // 1,339,200 s = 1/2.
  const auto january = period("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  EXPECT_EQ(factor("UTC", by_second, january, "2026-01-16T12:00:00Z", "2026-02-01T00:00:00Z"),
            "1/2");
  // The first 10 days: 864,000 / 2,678,400 = 10/31
  EXPECT_EQ(factor("UTC", by_second, january, "2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z"),
            "10/31");
  // One second: 1/2678400
  EXPECT_EQ(factor("UTC", by_second, january, "2026-01-31T23:59:59Z", "2026-02-01T00:00:00Z"),
            "1/2678400");
  EXPECT_EQ(factor("UTC", by_second, january, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
            "1/1");
}

TEST(CalendarProration, BySecondsCountsTheSecondAnInstantFallsIn) {
  const auto january = period("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  // 12:00:00.700 counts as 12:00:00: still exactly half.
  EXPECT_EQ(
      factor("UTC", by_second, january, "2026-01-16T12:00:00.700000Z", "2026-02-01T00:00:00Z"),
      "1/2");
  // Two parts split inside one second still add up: [start, 12:00:00.7) is 1,339,200 s too.
  EXPECT_EQ(
      factor("UTC", by_second, january, "2026-01-01T00:00:00Z", "2026-01-16T12:00:00.700000Z"),
      "1/2");
  // A part within one second weighs nothing.
  EXPECT_EQ(factor("UTC", by_second, january, "2026-01-16T12:00:00.100000Z",
                   "2026-01-16T12:00:00.900000Z"),
            "0/1");
}

TEST(CalendarProration, ADstDayWeighsItsRealSecondsButOneDay) {
  // Berlin, March 2026 as a period from Mar 1 00:00 CET (Feb 28 23:00 UTC) to Apr 1 00:00 CEST
  // (Mar 31 22:00 UTC): 31 days less the hour of the EU change = 743 h = 2,674,800 s.
  const auto march = period("2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z");
  // Mar 29 is 23 hours long: Mar 28 23:00 UTC (00:00 CET) to Mar 29 22:00 UTC (00:00 CEST) =
  // 82,800 s; 82,800 / 2,674,800 = 23/743 (both / 3600).
  EXPECT_EQ(
      factor("Europe/Berlin", by_second, march, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
      "23/743");
  EXPECT_EQ(factor("Europe/Berlin", by_day, march, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
            "1/31");
  // October: Oct 1 00:00 CEST (Sep 30 22:00 UTC) to Nov 1 00:00 CET (Oct 31 23:00 UTC): 745 h.
  // Oct 25 is 25 hours: Oct 24 22:00 UTC to Oct 25 23:00 UTC = 90,000 s; 25/745 = 5/149.
  const auto october = period("2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z");
  EXPECT_EQ(
      factor("Europe/Berlin", by_second, october, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
      "5/149");
  EXPECT_EQ(
      factor("Europe/Berlin", by_day, october, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
      "1/31");
  // New York, March 2026: Mar 1 00:00 EST (05:00 UTC) to Apr 1 00:00 EDT (04:00 UTC) = 743 h.
  // Mar 8 (US change) is 23 h: Mar 8 05:00 UTC to Mar 9 04:00 UTC.
  const auto new_york_march = period("2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z");
  EXPECT_EQ(factor("America/New_York", by_second, new_york_march, "2026-03-08T05:00:00Z",
                   "2026-03-09T04:00:00Z"),
            "23/743");
}

TEST(CalendarProration, ByDaysCountsLocalDatesTheDayOfAChangeGoingToThePartStartingOnIt) {
  // January 2026 in UTC, 31 days. A change on Jan 16 at 12:00: the part before counts Jan 1..15
  // (15 days), the part after Jan 16..31 (16 days). 15/31 + 16/31 = 1.
  const auto january = period("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  EXPECT_EQ(factor("UTC", by_day, january, "2026-01-01T00:00:00Z", "2026-01-16T12:00:00Z"),
            "15/31");
  EXPECT_EQ(factor("UTC", by_day, january, "2026-01-16T12:00:00Z", "2026-02-01T00:00:00Z"),
            "16/31");
  // Two changes on one day: the part between them weighs no day.
  EXPECT_EQ(factor("UTC", by_day, january, "2026-01-16T09:00:00Z", "2026-01-16T17:00:00Z"), "0/1");
  // Days are the customer's: 2026-01-16T23:30:00Z is already Jan 17 in Berlin (00:30 CET). The
  // Berlin January runs Dec 31 23:00 UTC to Jan 31 23:00 UTC; from Jan 17 to Feb 1: 15/31.
  const auto berlin_january = period("2025-12-31T23:00:00Z", "2026-01-31T23:00:00Z");
  EXPECT_EQ(factor("Europe/Berlin", by_day, berlin_january, "2026-01-16T23:30:00Z",
                   "2026-01-31T23:00:00Z"),
            "15/31");
  EXPECT_EQ(factor("UTC", by_day, period("2025-12-31T23:00:00Z", "2026-01-31T23:00:00Z"),
                   "2026-01-16T23:30:00Z", "2026-01-31T23:00:00Z"),
            "15/31");  // in UTC: Dec 31 .. Jan 31 is 31 days, Jan 16 .. Jan 31 is 15
  // February 2028 (leap) has 29 days: from Feb 15 to Mar 1 is 15/29; February 2027, 28: 14/28.
  EXPECT_EQ(factor("UTC", by_day, period("2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"),
                   "2028-02-15T00:00:00Z", "2028-03-01T00:00:00Z"),
            "15/29");
  EXPECT_EQ(factor("UTC", by_day, period("2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"),
                   "2027-02-15T00:00:00Z", "2027-03-01T00:00:00Z"),
            "1/2");
}

TEST(CalendarProration, ByDaysADateThatGoesBackStillCountsOnce) {
  // America/St_Johns, October 2006: Oct 1 00:00 NDT (02:30 UTC) to Nov 1 00:00 NST (03:30 UTC),
  // 31 days. On Oct 29 the clocks went back at 00:01 NDT to 23:01 NST of Oct 28 (02:31 UTC).
  // 02:45 UTC reads Oct 28 on the wall clock, but the calendar had reached Oct 29: split there,
  // Oct 1..28 (28 days) + Oct 29..31 (3 days) = 31.
  const auto october = period("2006-10-01T02:30:00Z", "2006-11-01T03:30:00Z");
  EXPECT_EQ(
      factor("America/St_Johns", by_day, october, "2006-10-01T02:30:00Z", "2006-10-29T02:45:00Z"),
      "28/31");
  EXPECT_EQ(
      factor("America/St_Johns", by_day, october, "2006-10-29T02:45:00Z", "2006-11-01T03:30:00Z"),
      "3/31");
  // Between 00:00 NDT Oct 29 and the repeated 23:15: no day, not minus one.
  EXPECT_EQ(
      factor("America/St_Johns", by_day, october, "2006-10-29T02:30:00Z", "2006-10-29T02:45:00Z"),
      "0/1");
}

TEST(CalendarProration, RefusesWhatIsNotAPartOfAPeriod) {
  const auto january = period("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  EXPECT_EQ(factor("UTC", by_second, january, "2026-01-10T00:00:00Z", "2026-01-10T00:00:00Z"),
            "empty_part");
  EXPECT_EQ(factor("UTC", by_day, january, "2026-01-11T00:00:00Z", "2026-01-10T00:00:00Z"),
            "empty_part");
  EXPECT_EQ(factor("UTC", by_second, january, "2025-12-31T23:59:59Z", "2026-01-10T00:00:00Z"),
            "part_outside_period");
  EXPECT_EQ(factor("UTC", by_second, january, "2026-01-10T00:00:00Z", "2026-02-01T00:00:01Z"),
            "part_outside_period");
  EXPECT_EQ(factor("UTC", by_second, period("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"),
                   "2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z"),
            "empty_period");
  // Half a day has no whole day to divide by; less than a second has no whole second.
  const auto half_day = period("2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z");
  EXPECT_EQ(factor("UTC", by_day, half_day, "2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z"),
            "period_too_short");
  EXPECT_EQ(factor("UTC", by_second, half_day, "2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z"),
            "1/2");
  const auto instant = period("2026-01-01T00:00:00.100000Z", "2026-01-01T00:00:00.900000Z");
  EXPECT_EQ(factor("UTC", by_second, instant, "2026-01-01T00:00:00.200000Z",
                   "2026-01-01T00:00:00.300000Z"),
            "period_too_short");
}

}  // namespace
}  // namespace neruba::domain::calendar
