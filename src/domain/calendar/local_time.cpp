#include "domain/calendar/local_time.hpp"

namespace neruba::domain::calendar {

LocalTime local_time_of(const date::time_zone& zone, Instant instant) {
  return zone.to_local(instant);
}

date::local_days local_date_of(const date::time_zone& zone, Instant instant) {
  return date::floor<date::days>(local_time_of(zone, instant));
}

date::local_days calendar_date_of(const date::time_zone& zone, Instant instant) {
  const date::sys_info info = zone.get_info(instant);
  LocalTime local{instant.time_since_epoch() + info.offset};
  // The clocks went back at info.begin, by `repeated`: for that long after, the wall clock shows
  // times it has shown already. Read them as the moment it went back, so the date stands still.
  const date::sys_info before = zone.get_info(info.begin - std::chrono::seconds{1});
  const auto repeated = before.offset - info.offset;
  if (repeated > std::chrono::seconds::zero() && instant - info.begin < repeated) {
    local = LocalTime{info.begin.time_since_epoch() + before.offset};
  }
  return date::floor<date::days>(local);
}

Instant instant_of(const date::time_zone& zone, LocalTime local) {
  const date::local_info info = zone.get_info(local);
  // `first` is the offset in force up to the change, or the only one. All three cases read the
  // time with it, each for its own reason:
  //   unique:      the one offset there is;
  //   ambiguous:   the offset before the clocks went back gives the earlier instant;
  //   nonexistent: moved forward by the gap (second.offset - first.offset), then read with the
  //                offset after the change: local + gap - second.offset = local - first.offset.
  return Instant{local.time_since_epoch() - info.first.offset};
}

}  // namespace neruba::domain::calendar
