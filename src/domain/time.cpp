#include "domain/time.hpp"

#include <cstdio>

namespace neruba::domain {
namespace {

using namespace std::chrono;

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

bool expect(std::string_view text, std::size_t pos, char a, char b = '\0') {
  return pos < text.size() && (text[pos] == a || (b != '\0' && text[pos] == b));
}

// RFC 3339 years have four digits, and format_rfc3339 writes the UTC form, so an instant is only
// accepted when its UTC form is in 0000..9999 too: an offset must not carry it outside
// ("0000-01-01T00:30:00+05:30" would otherwise format as "-001-12-31T19:00:00Z").
constexpr Instant earliest_instant{sys_days{std::chrono::year{0} / January / 1}};
constexpr Instant end_instant{sys_days{std::chrono::year{10000} / January / 1}};

}  // namespace

std::optional<Instant> parse_rfc3339(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || !expect(text, 4, '-') || !read_digits(text, 5, 2, month) ||
      !expect(text, 7, '-') || !read_digits(text, 8, 2, day) || !expect(text, 10, 'T', 't') ||
      !read_digits(text, 11, 2, hour) || !expect(text, 13, ':') ||
      !read_digits(text, 14, 2, minute) || !expect(text, 16, ':') ||
      !read_digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year{year},
                            std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (expect(text, pos, '.')) {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits == 6) return std::nullopt;  // finer than a microsecond would be silently lost
      micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t i = digits; i < 6; ++i) micros *= 10;
  }
  std::int64_t offset_seconds = 0;
  if (expect(text, pos, 'Z', 'z')) {
    ++pos;
  } else if (expect(text, pos, '+', '-')) {
    const bool negative = text[pos] == '-';
    int offset_hour = 0, offset_minute = 0;
    if (!read_digits(text, pos + 1, 2, offset_hour) || !expect(text, pos + 3, ':') ||
        !read_digits(text, pos + 4, 2, offset_minute) || offset_hour > 23 || offset_minute > 59) {
      return std::nullopt;
    }
    offset_seconds = (offset_hour * 3600 + offset_minute * 60) * (negative ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const sys_days days{date};
  const Instant instant{duration_cast<microseconds>(days.time_since_epoch()) + hours{hour} +
                        minutes{minute} + seconds{second - offset_seconds} + microseconds{micros}};
  if (instant < earliest_instant || instant >= end_instant) return std::nullopt;
  return instant;
}

std::string format_rfc3339(Instant instant) {
  const auto days = floor<std::chrono::days>(instant);
  const year_month_day date{days};
  const hh_mm_ss<microseconds> time{instant - days};
  char buffer[40];
  const int year = static_cast<int>(date.year());
  int written = std::snprintf(
      buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d", year,
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
      static_cast<int>(time.seconds().count()));
  std::string out(buffer, static_cast<std::size_t>(written));
  if (const auto fraction = time.subseconds().count(); fraction != 0) {
    written = std::snprintf(buffer, sizeof buffer, ".%06lld", static_cast<long long>(fraction));
    out.append(buffer, static_cast<std::size_t>(written));
  }
  out.push_back('Z');
  return out;
}

std::int64_t to_unix_micros(Instant instant) { return instant.time_since_epoch().count(); }

Instant from_unix_micros(std::int64_t micros) { return Instant{microseconds{micros}}; }

}  // namespace neruba::domain
