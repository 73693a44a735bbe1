// What may limit usage, and what may not (issue 15, defects 3, 7, 8 and 9): a meter is limited
// only by what it reports; an accepted event never makes a customer's usage unreadable; values
// that no index takes are stored in a form every index takes; a number beyond the exact decimal
// type is usage_out_of_range. The same on both backends. Every expected number is worked out by
// hand from the events listed.
//
// Clock: 2026-01-10T00:00:00Z; events on 2026-01-05 (inside the 35-day window).
#include <gtest/gtest.h>

#include "ingest_test_support.hpp"

namespace neruba::test::ingest_tests {
namespace {

std::string at(const std::string& time) { return "2026-01-05T" + time + "Z"; }

constexpr const char* kDay = "2026-01-05T00:00:00Z";
constexpr const char* kNextDay = "2026-01-06T00:00:00Z";

class UsageLimits : public IngestTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Limits Inc");
    create_customer(tenant_, "alice");
  }

  std::string ev(const std::string& id, const std::string& time, const std::string& properties) {
    return event_json(id, "alice", "use", at(time), properties);
  }

  // Every meter of the day's read, answered 200: the usage stays readable.
  std::pair<std::string, std::int64_t> day(const std::string& meter) {
    return value_and_events(tenant_, "alice", meter, kDay, kNextDay);
  }

  Tenant tenant_;
};

// Defect 3: a grouped sum meter, 36 nines in group "a" and 0.1 in group "b" in the same hour. Each
// group's bucket fits, so both are accepted; the hour's total across groups (37 significant
// digits) is beyond the decimal type. Every read touching that hour still answers, exactly, for
// this meter and every other of the customer.
TEST_P(UsageLimits, GroupsWhoseTotalIsBeyondTheDecimalTypeStayReadable) {
  create_meter(tenant_, R"({"code":"n","event_type":"use","aggregation":"sum","field":"n",)"
                        R"("group_by":["g"]})");
  create_meter(tenant_, R"({"code":"uses","event_type":"use","aggregation":"count"})");
  const std::string nines(36, '9');
  post_expect(tenant_,
              {ev("a", "10:00:00", R"({"n":")" + nines + R"(","g":"a"})"),
               ev("b", "10:30:00", R"({"n":"0.1","g":"b"})")},
              2);
  EXPECT_EQ(day("n"), std::make_pair(nines + ".1", std::int64_t{2}));
  EXPECT_EQ(day("uses"), std::make_pair(std::string("2"), std::int64_t{2}));
  // A partial hour too (raw events), and the groups one by one.
  EXPECT_EQ(value_and_events(tenant_, "alice", "n", at("10:00:00"), at("10:45:00")),
            std::make_pair(nines + ".1", std::int64_t{2}));
  const json::Value item = meter_usage(tenant_, "alice", "n", kDay, kNextDay);
  const json::Value* group_a = find_group(item, R"({"g":"a"})");
  const json::Value* group_b = find_group(item, R"({"g":"b"})");
  ASSERT_NE(group_a, nullptr) << json::serialize(item);
  ASSERT_NE(group_b, nullptr) << json::serialize(item);
  EXPECT_EQ(text_of(*group_a, "value"), nines);
  EXPECT_EQ(text_of(*group_b, "value"), "0.1");
}

// Defect 7: a max meter keeps no sum, so two values whose sum is beyond the type (5 × 10^35 twice
// is 10^36: 37 digits) are both accepted, counted by every meter of their type, and readable over
// a day holding one such event in each of two hours too.
TEST_P(UsageLimits, MaxAndLatestMetersAreNotLimitedByASumTheyNeverReport) {
  create_meter(tenant_, R"({"code":"peak","event_type":"use","aggregation":"max","field":"mem"})");
  create_meter(tenant_,
               R"({"code":"last","event_type":"use","aggregation":"latest","field":"mem"})");
  create_meter(tenant_, R"({"code":"uses","event_type":"use","aggregation":"count"})");
  const std::string half = "5" + std::string(35, '0');  // 5 × 10^35
  post_expect(tenant_,
              {ev("m1", "10:00:00", R"({"mem":)" + half + "}"),
               ev("m2", "10:10:00", R"({"mem":)" + half + "}")},
              2);
  post_expect(tenant_, {ev("m3", "11:00:00", R"({"mem":)" + half + "}")}, 1);
  post_expect(tenant_, {ev("m4", "12:00:00", R"({"mem":7})")}, 1);
  EXPECT_EQ(day("uses"), std::make_pair(std::string("4"), std::int64_t{4}));
  EXPECT_EQ(day("peak"), std::make_pair(half, std::int64_t{4}));
  EXPECT_EQ(day("last"), std::make_pair(std::string("7"), std::int64_t{4}));  // m4 at 12:00
  // Within hour 10 (raw events): the newer of the two.
  EXPECT_EQ(value_and_events(tenant_, "alice", "last", at("10:00:00"), at("10:30:00")),
            std::make_pair(half, std::int64_t{2}));
}

// Defect 7, backfill: the same events stored before any meter read them; a max meter created over
// them is created (201) and reports the largest.
TEST_P(UsageLimits, AMaxMeterOverStoredEventsIsCreated) {
  create_meter(tenant_, R"({"code":"uses","event_type":"use","aggregation":"count"})");
  const std::string half = "5" + std::string(35, '0');
  post_expect(tenant_,
              {ev("m1", "10:00:00", R"({"mem":)" + half + "}"),
               ev("m2", "10:10:00", R"({"mem":)" + half + "}")},
              2);
  create_meter(tenant_, R"({"code":"peak","event_type":"use","aggregation":"max","field":"mem"})");
  EXPECT_EQ(day("peak"), std::make_pair(half, std::int64_t{2}));
}

// Defect 8: a unique_count value holding U+0000 (valid JSON, valid UTF-8) and group_by and
// unique_count values longer than any index entry (PostgreSQL's B-tree stops near 2.7 KB) are each
// accepted, counted and read back — the batch never fails, on either backend. A later meter that
// groups by such a stored property is created over it (backfill).
TEST_P(UsageLimits, ValuesNoIndexTakesAsTheyAreAreStoredAndCounted) {
  create_meter(
      tenant_,
      R"({"code":"users","event_type":"use","aggregation":"unique_count","field":"user"})");
  create_meter(tenant_, R"({"code":"by_path","event_type":"use","aggregation":"count",)"
                        R"("group_by":["path"]})");
  const std::string long_path(3000, 'p');
  const std::string long_user(3000, 'u');
  post_expect(
      tenant_,
      {ev("n1", "10:00:00", R"({"user":"a\u0000b","path":"/x"})"),
       ev("n2", "10:05:00", R"({"user":"ab","path":")" + long_path + R"("})"),
       ev("n3", "10:10:00", R"({"user":")" + long_user + R"(","path":")" + long_path + R"("})"),
       ev("n4", "10:15:00", R"({"user":"a\u0000b","path":"/x"})")},
      4);
  // Three distinct users: "a\0b" (twice), "ab", the long one.
  EXPECT_EQ(day("users"), std::make_pair(std::string("3"), std::int64_t{4}));
  EXPECT_EQ(value_and_events(tenant_, "alice", "users", at("10:00:00"), at("10:12:00")),
            std::make_pair(std::string("3"), std::int64_t{3}));  // raw events agree
  const json::Value item = meter_usage(tenant_, "alice", "by_path", kDay, kNextDay);
  const json::Value* long_group = find_group(item, R"({"path":")" + long_path + R"("})");
  ASSERT_NE(long_group, nullptr) << "the long group is shown in full";
  EXPECT_EQ(text_of(*long_group, "value"), "2");
  // A meter created later over the stored events groups by the long values too.
  create_meter(tenant_, R"({"code":"by_user","event_type":"use","aggregation":"count",)"
                        R"("group_by":["user"]})");
  const json::Value by_user = meter_usage(tenant_, "alice", "by_user", kDay, kNextDay);
  const json::Value* long_user_group = find_group(by_user, R"({"user":")" + long_user + R"("})");
  ASSERT_NE(long_user_group, nullptr);
  EXPECT_EQ(text_of(*long_user_group, "value"), "1");
  EXPECT_EQ(text_of(*find_group(by_user, R"({"user":"a\u0000b"})"), "value"), "2");
  // Resent, every one is a duplicate: what is stored matches what was sent.
  EXPECT_EQ(
      int_of(
          post_events(tenant_, {ev("n1", "10:00:00", R"({"user":"a\u0000b","path":"/x"})")}).json,
          "duplicates"),
      1);
}

// Defect 9: a number beyond the exact decimal type is usage_out_of_range, not "must be a number";
// text that is no number stays invalid_property. The rest of the batch is kept.
TEST_P(UsageLimits, NumbersBeyondTheDecimalTypeAreUsageOutOfRange) {
  create_meter(tenant_, R"({"code":"n","event_type":"use","aggregation":"sum","field":"n"})");
  const auto response = post_events(
      tenant_, {ev("r0", "10:00:00", R"({"n":1e308})"), ev("r1", "10:00:00", R"({"n":1e-40})"),
                ev("r2", "10:00:00", R"({"n":)" + std::string(37, '1') + "}"),
                ev("r3", "10:00:00", R"({"n":"12abc"})"), ev("r4", "10:00:00", R"({"n":2})")});
  ASSERT_EQ(response.status, 200) << response.body;
  for (const std::int64_t index : {0, 1, 2}) {
    const json::Value item = rejected_at(response, index);
    EXPECT_EQ(text_of(item, "type"), "usage_out_of_range") << index << "\n" << response.body;
    EXPECT_EQ(text_of(item, "field"), "properties.n") << response.body;
  }
  EXPECT_EQ(text_of(rejected_at(response, 3), "type"), "invalid_property") << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 1) << response.body;
  EXPECT_EQ(day("n"), std::make_pair(std::string("2"), std::int64_t{1}));
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageLimits, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::ingest_tests
