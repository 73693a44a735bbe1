// Unit tests for neruba::domain::parse_rfc3339 / format_rfc3339, the wire form of every instant
// (they live with the JSON tests: together they are what a request body is made of). Expected
// instants are Unix microseconds worked out by hand and checked against RFC 3339 section 5.8.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "domain/time.hpp"

namespace neruba::domain {
namespace {

constexpr std::int64_t micros_per_second = 1'000'000;
constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;

std::optional<std::int64_t> micros(std::string_view text) {
  const auto instant = parse_rfc3339(text);
  if (!instant) return std::nullopt;
  return to_unix_micros(*instant);
}

TEST(Rfc3339Parse, Epoch) {
  EXPECT_EQ(micros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(micros("1970-01-01T00:00:00.000001Z"), 1);
  EXPECT_EQ(micros("1969-12-31T23:59:59.999999Z"), -1);
}

TEST(Rfc3339Parse, HandCalculatedInstants) {
  // 1970..2025 is 56 years with 14 leap days (1972..2024): 20454 days to 2026-01-01, +4 days.
  EXPECT_EQ(micros("2026-01-05T10:00:00Z"), (20458 * 86'400 + 10 * 3'600) * micros_per_second);
  // 2024-01-01 is day 19723; Feb 29 is 31 + 28 days later.
  EXPECT_EQ(micros("2024-02-29T12:00:00Z"),
            ((19723 + 59) * 86'400 + 12 * 3'600) * micros_per_second);
  EXPECT_EQ(micros("2000-02-29T00:00:00Z"), 11'016 * micros_per_day);
}

TEST(Rfc3339Parse, ExamplesFromRfc3339Section5_8) {
  EXPECT_EQ(micros("1985-04-12T23:20:50.52Z"), 482'196'050'520'000);
  EXPECT_EQ(micros("1996-12-19T16:39:57-08:00"), 851'042'397 * micros_per_second);
  // Noon in the Netherlands, 1937: 11:40:27.87 UTC; 12053 days before the epoch.
  EXPECT_EQ(micros("1937-01-01T12:00:27.87+00:20"),
            -12'053 * micros_per_day + (11 * 3'600 + 40 * 60 + 27) * micros_per_second + 870'000);
  // Leap seconds are not representable here (time.hpp): rejected, in either offset form.
  EXPECT_EQ(micros("1990-12-31T23:59:60Z"), std::nullopt);
  EXPECT_EQ(micros("1990-12-31T15:59:60-08:00"), std::nullopt);
}

TEST(Rfc3339Parse, OffsetsNameTheSameInstant) {
  const auto utc = micros("2026-03-01T00:30:00Z");
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(micros("2026-03-01T06:00:00+05:30"), utc);
  EXPECT_EQ(micros("2026-02-28T19:30:00-05:00"), utc);  // crosses back over a day and a month
  EXPECT_EQ(micros("2026-03-01T00:30:00+00:00"), utc);
  EXPECT_EQ(micros("2026-03-01T00:30:00-00:00"), utc);  // "unknown local offset": still UTC
  EXPECT_EQ(micros("2026-03-02T00:29:00+23:59"), utc);
  EXPECT_EQ(micros("2026-02-28T00:31:00-23:59"), utc);
}

TEST(Rfc3339Parse, FractionalSecondsUpToSixDigits) {
  const std::int64_t base = *micros("2026-01-05T10:00:00Z");
  EXPECT_EQ(micros("2026-01-05T10:00:00.5Z"), base + 500'000);
  EXPECT_EQ(micros("2026-01-05T10:00:00.05Z"), base + 50'000);
  EXPECT_EQ(micros("2026-01-05T10:00:00.123Z"), base + 123'000);
  EXPECT_EQ(micros("2026-01-05T10:00:00.123456Z"), base + 123'456);
  EXPECT_EQ(micros("2026-01-05T10:00:00.000000Z"), base);
  EXPECT_EQ(micros("2026-01-05T10:00:00.999999+01:00"), base - 3'600 * micros_per_second + 999'999);
  // Seven digits would lose precision silently, so they are rejected, even trailing zeros.
  EXPECT_EQ(micros("2026-01-05T10:00:00.1234567Z"), std::nullopt);
  EXPECT_EQ(micros("2026-01-05T10:00:00.0000000Z"), std::nullopt);
  EXPECT_EQ(micros("2026-01-05T10:00:00.Z"), std::nullopt);
  EXPECT_EQ(micros("2026-01-05T10:00:00,5Z"), std::nullopt);
}

TEST(Rfc3339Parse, LowercaseTAndZ) {
  const auto upper = micros("2026-01-05T10:00:00Z");
  EXPECT_EQ(micros("2026-01-05t10:00:00z"), upper);
  EXPECT_EQ(micros("2026-01-05t10:00:00Z"), upper);
  EXPECT_EQ(micros("2026-01-05T10:00:00z"), upper);
}

TEST(Rfc3339Parse, February29OnlyInLeapYears) {
  EXPECT_TRUE(micros("2024-02-29T00:00:00Z").has_value());  // divisible by 4
  EXPECT_TRUE(micros("2000-02-29T00:00:00Z").has_value());  // divisible by 400
  EXPECT_FALSE(micros("2026-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(micros("2100-02-29T00:00:00Z").has_value());  // divisible by 100, not 400
  EXPECT_FALSE(micros("1900-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(micros("2024-02-30T00:00:00Z").has_value());
}

TEST(Rfc3339Parse, ImpossibleDatesAndTimes) {
  for (const std::string_view text :
       {"2026-00-10T00:00:00Z", "2026-13-10T00:00:00Z", "2026-01-00T00:00:00Z",
        "2026-01-32T00:00:00Z", "2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z",
        "2026-01-05T24:00:00Z",  // RFC 3339 has no 24:00
        "2026-01-05T23:60:00Z", "2026-01-05T23:59:61Z", "2026-01-05T10:00:00+24:00",
        "2026-01-05T10:00:00+05:60"}) {
    EXPECT_EQ(micros(text), std::nullopt) << text;
  }
}

TEST(Rfc3339Parse, MalformedShapes) {
  for (const std::string_view text : {"",
                                      "2026-01-05",
                                      "2026-01-05T10:00Z",
                                      "2026-01-05T10:00:00",
                                      "2026-01-05 10:00:00Z",
                                      "2026-01-05T10:00:00 Z",
                                      " 2026-01-05T10:00:00Z",
                                      "2026-01-05T10:00:00Z ",
                                      "2026-01-05T10:00:00ZZ",
                                      "2026-1-05T10:00:00Z",
                                      "26-01-05T10:00:00Z",
                                      "+2026-01-05T10:00:00Z",
                                      "20260105T100000Z",
                                      "2026-01-05T10:00:00+0100",
                                      "2026-01-05T10:00:00+01",
                                      "2026-01-05T10:00:00+1:00",
                                      "2026-01-05T10:00:00UTC",
                                      "2026-01-05T1a:00:00Z",
                                      "2026/01/05T10:00:00Z",
                                      "2026-01-05T10-00-00Z",
                                      "2026-01-05T10:00:00.+01:00",
                                      "-026-01-05T10:00:00Z"}) {
    EXPECT_EQ(micros(text), std::nullopt) << text;
  }
}

TEST(Rfc3339Parse, YearRangeIsZeroToNineThousandNineHundredNinetyNine) {
  // 0000-01-01 is 719528 days before the epoch (proleptic Gregorian; year 0 is a leap year).
  EXPECT_EQ(micros("0000-01-01T00:00:00Z"), -719'528 * micros_per_day);
  EXPECT_EQ(micros("9999-12-31T23:59:59.999999Z"), 253'402'300'799'999'999);
}

// Regression (found by fuzz_rfc3339): an offset could move the instant out of years 0000..9999,
// and format_rfc3339 then wrote "-001-12-31T…" or "10000-01-01T…", which nothing parses back.
TEST(Rfc3339Parse, OffsetsThatLeaveTheFourDigitYearRangeAreRejected) {
  EXPECT_EQ(micros("0000-01-01T00:00:00+00:01"), std::nullopt);
  EXPECT_EQ(micros("0000-01-01T23:58:59+23:59"), std::nullopt);
  EXPECT_EQ(micros("9999-12-31T23:59:59-00:01"), std::nullopt);
  EXPECT_EQ(micros("9999-12-31T00:01:00-23:59"), std::nullopt);
  // Just inside the range is fine.
  EXPECT_EQ(micros("0000-01-01T00:01:00+00:01"), -719'528 * micros_per_day);
  EXPECT_EQ(micros("9999-12-31T23:58:59.999999-00:01"), 253'402'300'799'999'999);
}

TEST(Rfc3339Format, CanonicalUtcForm) {
  EXPECT_EQ(format_rfc3339(from_unix_micros(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(from_unix_micros(-1)), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_rfc3339(from_unix_micros(1)), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(format_rfc3339(from_unix_micros(482'196'050'520'000)), "1985-04-12T23:20:50.520000Z");
  EXPECT_EQ(format_rfc3339(from_unix_micros(-719'528 * micros_per_day)), "0000-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(from_unix_micros(253'402'300'799'999'999)),
            "9999-12-31T23:59:59.999999Z");
}

TEST(Rfc3339Format, RoundTrips) {
  for (const std::string_view text :
       {"2026-01-05T10:00:00Z", "1985-04-12T23:20:50.52Z", "1996-12-19T16:39:57-08:00",
        "1937-01-01T12:00:27.87+00:20", "2024-02-29T23:59:59.999999z", "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.000001Z"}) {
    const auto instant = parse_rfc3339(text);
    ASSERT_TRUE(instant.has_value()) << text;
    const std::string formatted = format_rfc3339(*instant);
    EXPECT_EQ(parse_rfc3339(formatted), instant) << text << " -> " << formatted;
    EXPECT_EQ(format_rfc3339(*parse_rfc3339(formatted)), formatted);
  }
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("1996-12-19T16:39:57-08:00")), "1996-12-20T00:39:57Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2026-01-05t10:00:00.5z")),
            "2026-01-05T10:00:00.500000Z");
}

TEST(Rfc3339, UnixMicrosConversions) {
  for (const std::int64_t value :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1'767'607'200'000'000}}) {
    EXPECT_EQ(to_unix_micros(from_unix_micros(value)), value);
  }
}

}  // namespace
}  // namespace neruba::domain
