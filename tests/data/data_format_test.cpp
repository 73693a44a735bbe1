// The data-file format itself (tests/data/README.md): what the parser reads, which lines the
// runner refuses before anything runs and at which line, and where and how a failed expectation
// is reported. Pure: the files here call the decimal block only.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "support/data_file.hpp"
#include "support/data_runner.hpp"

namespace neruba::test::data {
namespace {

ParsedFile parse(const std::string& text) {
  return parse_data_file(text, "inline.test", "area/inline.test");
}

// The lines of the problems the parser and the runner's checks find, in order.
std::vector<int> problem_lines(const std::string& text) {
  ParsedFile parsed = parse(text);
  auto more = validate(parsed.file);
  parsed.problems.insert(parsed.problems.end(), more.begin(), more.end());
  std::vector<int> lines;
  for (const auto& problem : parsed.problems) lines.push_back(problem.line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Runs a valid file without a database; returns each failure's line and message.
std::vector<std::pair<int, std::string>> failures_of_run(const std::string& text) {
  const ParsedFile parsed = parse(text);
  EXPECT_TRUE(parsed.problems.empty());
  EXPECT_TRUE(validate(parsed.file).empty());
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    run_data_file(parsed.file, std::nullopt);
  }
  std::vector<std::pair<int, std::string>> failures;
  for (int i = 0; i < results.size(); ++i) {
    const auto& result = results.GetTestPartResult(i);
    EXPECT_STREQ(result.file_name(), "inline.test");
    failures.emplace_back(result.line_number(), result.message());
  }
  return failures;
}

constexpr const char* header = "about the format\nsource this test\n";

TEST(DataFileFormat, ReadsTheHeaderStepsAndTheirExpectations) {
  const ParsedFile parsed = parse(std::string(header) +
                                  "# a comment\n"
                                  "\n"
                                  "  decimal   round 2.675 2 half_even  \n"
                                  "expect 2.68 scale=2\n"
                                  "expect error overflow value invalid_value\n"
                                  "meter {\"code\": \"a b\"}\n");
  ASSERT_TRUE(parsed.problems.empty());
  const DataFile& file = parsed.file;
  EXPECT_EQ(file.about, "the format");
  EXPECT_EQ(file.source, "this test");
  ASSERT_EQ(file.steps.size(), 2u);
  const Step& round = file.steps[0];
  EXPECT_EQ(round.line, 5);
  EXPECT_EQ(round.keyword, "decimal");
  EXPECT_EQ(round.words, (std::vector<std::string>{"round", "2.675", "2", "half_even"}));
  EXPECT_EQ(round.rest_after(1), "2.675 2 half_even");
  ASSERT_EQ(round.expectations.size(), 2u);
  EXPECT_EQ(round.expectations[0].line, 6);
  EXPECT_EQ(round.expectations[0].value, "2.68");
  EXPECT_EQ(round.expectations[0].named,
            (std::vector<std::pair<std::string, std::string>>{{"scale", "2"}}));
  EXPECT_TRUE(round.expectations[1].error);
  EXPECT_EQ(round.expectations[1].slug, "overflow");
  EXPECT_EQ(round.expectations[1].field, "value");
  EXPECT_EQ(round.expectations[1].field_type, "invalid_value");
  // A JSON argument is the rest of the line, spaces and all.
  EXPECT_EQ(file.steps[1].rest_after(0), "{\"code\": \"a b\"}");
  EXPECT_EQ(test_name_of("metering/count.test"), "metering_count");
}

// Every line the format or a block kind refuses is a problem at its own line.
TEST(DataFileFormat, RefusesEachMalformedLineAtItsLine) {
  EXPECT_EQ(problem_lines("expect 1\n"
                          "decimal add 1 2\n"
                          "expect 3\n"),
            (std::vector<int>{1, 1, 1}));  // `expect` before any step; no about; no source
  EXPECT_EQ(problem_lines(std::string(header) +
                          /* 3 */ "decimal add 1 2\n"
                                  /* 4 */ "expect 3 4\n"
                                  /* 5 */ "expect a=1 a=2\n"
                                  /* 6 */ "expect error\n"
                                  /* 7 */ "expect\n"
                                  /* 8 */ "decimal median 1 2\n"
                                  /* 9 */ "decimal round 1.5 x half_even\n"
                                  /* 10 */ "decimal round 1.5 0 nearest\n"
                                  /* 11 */ "decimal add 1\n"
                                  /* 12 */ "frobnicate 1\n"
                                  /* 13 */ "decimal add 1 2\n"
                                  /* 14 */ "expect events=3\n"
                                  /* 15 */ "expect error overflow\n"
                                  /* 16 */ "window 2026-01-05T10:00:00Z tomorrow\n"
                                  /* 17 */ "meter {\"code\":\n"
                                  /* 18 */ "about late\n"),
            (std::vector<int>{4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18}));
  // A file with no `expect` checks nothing.
  EXPECT_EQ(problem_lines(std::string(header) + "decimal add 1 2\n"), (std::vector<int>{1}));
}

// The pricing blocks check their arguments before anything runs, too.
TEST(DataFileFormat, RefusesMalformedPricingArgumentsAtTheirLine) {
  EXPECT_EQ(problem_lines(std::string(header) +
                          /* 3 */ "charge {\"type\":\n"
                                  /* 4 */ "price ten\n"
                                  /* 5 */ "price 5 colour=blue\n"
                                  /* 6 */ "price 5 events=two\n"
                                  /* 7 */ "price 5 amounts=1,x\n"
                                  /* 8 */ "fee factor=1-2\n"
                                  /* 9 */ "fee seats=3\n"
                                  /* 10 */ "expect 30.00 tiers=none\n"
                                  /* 11 */ "minimum 100 lines=1;2\n"
                                  /* 12 */ "round XYZ 1\n"
                                  /* 13 */ "currency usd\n"
                                  /* 14 */ "meters calls\n"
                                  /* 15 */ "validate a b\n"
                                  /* 16 */ "price 5 already_used=1 period=6\n"
                                  /* 17 */ "expect 5 line=5.00 packages=0\n"),
            (std::vector<int>{3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15}));
}

// A failed expectation is reported at its `expect` line with expected and actual; an error nobody
// expected at its step's line; the run goes on after both.
TEST(DataFileFormat, ReportsAFailureAtItsLineWithExpectedAndActual) {
  const auto failures = failures_of_run(std::string(header) +
                                        /* 3 */
                                        "decimal round 2.665 2 half_even\n"
                                        /* 4 */
                                        "expect 2.67\n"
                                        /* 5 */
                                        "decimal div 1 0 2 half_even\n"
                                        /* 6 */
                                        "decimal div 1 0 2 half_even\n"
                                        /* 7 */
                                        "expect error overflow\n"
                                        /* 8 */
                                        "decimal add 1 2\n"
                                        /* 9 */
                                        "expect error overflow\n"
                                        /* 10 */
                                        "decimal add 1 2\n"
                                        /* 11 */
                                        "expect 3 scale=1\n"
                                        /* 12 */
                                        "decimal add 2 2\n"
                                        /* 13 */ "expect 4\n");
  ASSERT_EQ(failures.size(), 5u);
  EXPECT_EQ(failures[0].first, 4);
  EXPECT_NE(failures[0].second.find("decimal round 2.665 2 half_even"), std::string::npos);
  EXPECT_NE(failures[0].second.find("expected: 2.67\n    actual:   2.66"), std::string::npos)
      << failures[0].second;
  EXPECT_EQ(failures[1].first, 5);
  EXPECT_NE(failures[1].second.find("actual:   error division_by_zero"), std::string::npos);
  EXPECT_EQ(failures[2].first, 7);
  EXPECT_NE(failures[2].second.find("expected: error overflow"), std::string::npos);
  EXPECT_EQ(failures[3].first, 9);
  EXPECT_NE(failures[3].second.find("actual:   success, 3"), std::string::npos);
  // Line 11: the value held, the scale did not (1 + 2 keeps scale 0); line 13 held.
  EXPECT_EQ(failures[4].first, 11);
  EXPECT_NE(failures[4].second.find("scale\n    expected: 1\n    actual:   0"), std::string::npos)
      << failures[4].second;
}

TEST(DataFileFormat, OnlyAFileThatTouchesTheDatabaseRunsPerBackend) {
  EXPECT_FALSE(needs_database(parse(std::string(header) + "decimal add 1 2\nexpect 3\n").file));
  EXPECT_TRUE(needs_database(
      parse(std::string(header) + "decimal add 1 2\nexpect 3\ncustomer alice\n").file));
}

}  // namespace
}  // namespace neruba::test::data
