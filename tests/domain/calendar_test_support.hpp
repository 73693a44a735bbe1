#pragma once
// Helpers shared by the calendar tests: instants and zones from the literals the tests state.
#include <stdexcept>
#include <string>
#include <string_view>

#include <date/tz.h>

#include "common/instant.hpp"
#include "domain/calendar/periods.hpp"
#include "domain/time.hpp"

namespace neruba::domain::calendar::test {

// An instant from an RFC 3339 literal the test states is valid; a typo fails loudly.
inline Instant at(std::string_view text) {
  const auto instant = parse_rfc3339(text);
  if (!instant) throw std::invalid_argument("bad instant literal in test: " + std::string(text));
  return *instant;
}

inline std::string text(Instant instant) { return format_rfc3339(instant); }

// "[start, end)" in RFC 3339, so a failing expectation shows both edges.
inline std::string text(const Period& period) {
  return "[" + text(period.start) + ", " + text(period.end) + ")";
}

// A zone of the system's tz database (Debian's tzdata); throws if it is unknown.
inline const date::time_zone& zone(std::string_view name) {
  return *date::locate_zone(std::string(name));
}

inline BillingCycle cycle(std::string_view zone_name, Interval interval, std::string_view anchor) {
  return BillingCycle::of(zone(zone_name), interval, at(anchor)).value();
}

}  // namespace neruba::domain::calendar::test
