// The rejection types of POST /v1/events are stable slugs clients branch on (API.md "Usage"):
// every reason has its own, in snake_case, and a number out of range is the only one answered in
// the out-of-range category. A renamed slug is a broken contract: the list is written out here.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "services/ingest.hpp"

namespace neruba::services::ingest {
namespace {

TEST(RejectionReasons, EveryReasonHasItsOwnStableSlug) {
  const std::vector<std::pair<Rejection, std::string>> expected = {
      {Rejection::invalid_event, "invalid_event"},
      {Rejection::invalid_field, "invalid_field"},
      {Rejection::unknown_field, "unknown_field"},
      {Rejection::invalid_timestamp, "invalid_timestamp"},
      {Rejection::timestamp_in_future, "timestamp_in_future"},
      {Rejection::timestamp_too_old, "timestamp_too_old"},
      {Rejection::unknown_customer, "unknown_customer"},
      {Rejection::invalid_property, "invalid_property"},
      {Rejection::usage_out_of_range, "usage_out_of_range"},
  };
  std::set<std::string> slugs;
  for (const auto& [reason, slug] : expected) {
    EXPECT_EQ(reason_of(reason).slug, slug);
    slugs.insert(std::string(reason_of(reason).slug));
    EXPECT_EQ(reason_of(reason).code, reason == Rejection::usage_out_of_range
                                          ? ErrorCode::out_of_range
                                          : ErrorCode::validation_failed)
        << slug;
  }
  EXPECT_EQ(slugs.size(), expected.size());
}

// error_of turns a module's reason into the Error the edge renders: its category, and the field
// at fault typed by the slug.
TEST(RejectionReasons, AReasonBecomesTheErrorTheEdgeRenders) {
  const Error error = error_of(Rejection::usage_out_of_range, "too large", "properties.n");
  EXPECT_EQ(error.code, ErrorCode::out_of_range);
  ASSERT_EQ(error.errors.size(), 1u);
  EXPECT_EQ(error.errors[0].field, "properties.n");
  EXPECT_EQ(error.errors[0].type, "usage_out_of_range");
  EXPECT_EQ(error_of(Rejection::unknown_customer, "no such customer").errors.size(), 0u);
}

}  // namespace
}  // namespace neruba::services::ingest
