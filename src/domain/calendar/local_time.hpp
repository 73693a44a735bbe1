#pragma once
// Instants read on a customer's wall clock, and wall-clock times turned back into instants
// (DESIGN.md: "calendars in the customer's IANA timezone"). The zone is handed in by the caller
// (Howard Hinnant's date/tz, which services/timezones.cpp checks names against): nothing here
// looks a zone up, reads the clock or touches a file.
#include <chrono>

#include <date/tz.h>

#include "common/instant.hpp"

namespace neruba::domain::calendar {

// A wall-clock date and time in some zone, to the microsecond (as precise as an Instant).
using LocalTime = date::local_time<std::chrono::microseconds>;

// What the wall clock in `zone` showed at `instant`.
LocalTime local_time_of(const date::time_zone& zone, Instant instant);
// The calendar date the wall clock in `zone` showed at `instant`.
date::local_days local_date_of(const date::time_zone& zone, Instant instant);
// The date the customer's calendar has reached at `instant`: local_date_of, except while the wall
// clock repeats times after going back across midnight (America/St_Johns until 2011 went back at
// 00:01 to 23:01 of the day before), when the date already reached stands. Unlike local_date_of it
// never goes back as time goes forward, which counting whole days of a part relies on.
date::local_days calendar_date_of(const date::time_zone& zone, Instant instant);

// The instant a wall-clock time names in `zone`. Most wall-clock times name exactly one instant;
// around a DST change some name none or two, and date::choose does not answer the first case the
// way a billing calendar needs (it maps every time in a gap to the gap's end):
//   - nonexistent (spring forward): the time moves forward by the gap's length, so that a period
//     that would start at 02:30 on the day Europe/Berlin jumps from 02:00 CET to 03:00 CEST
//     starts at 03:30 CEST (01:30 UTC) — an hour of the period is not lost to the jump;
//   - ambiguous (fall back): the earlier of the two instants (the offset before the change).
// Both are RFC 5545's rule for DATE-TIME values (section 3.3.5: a repeated time "refers to the
// first occurrence", a skipped one "is interpreted using the UTC offset before the gap"), also the
// default ("compatible") disambiguation of JavaScript's Temporal and of Rust's jiff. Moving
// forward by the gap and reading with the offset after it is the same instant as reading the
// time with the offset before it, which is how it is computed.
Instant instant_of(const date::time_zone& zone, LocalTime local);

}  // namespace neruba::domain::calendar
