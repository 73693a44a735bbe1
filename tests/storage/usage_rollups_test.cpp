// Storage conformance of the daily rollups (usage_daily): a day rolls up its hourly buckets by
// the aggregate rules, a bucket written into a marked day marks it stale, a day whose total would
// not fit stays stale without a row, and rebuild_rollups makes every rolled day anew from the
// hourly buckets — the same on every backend. Expected values are added up by hand below.
#include <gtest/gtest.h>

#include "domain/decimal.hpp"
#include "domain/time.hpp"
#include "storage/locks.hpp"
#include "storage/usage.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace {

using test::Backend;
using test::TestDatabase;

const TenantId kTenant("ten_rollups");
const MeterId kMeter("mtr_sum");
const Instant kDay = domain::from_unix_micros(1'767'571'200'000'000);  // 2026-01-05T00:00:00Z
const Instant kNextDay = kDay + std::chrono::hours(24);

UsageBucket bucket(Instant hour, const std::string& group, std::int64_t events, const char* sum,
                   const char* max, std::int64_t latest_at_us, const std::string& latest_id,
                   const char* latest_value, const std::string& customer = "cus_1") {
  UsageBucket out{kMeter, customer, hour, group, {}};
  out.aggregate.events = events;
  out.aggregate.sum = *domain::Decimal::parse(sum);
  out.aggregate.max = *domain::Decimal::parse(max);
  out.aggregate.latest_at = domain::from_unix_micros(latest_at_us);
  out.aggregate.latest_event_id = latest_id;
  out.aggregate.latest_value = *domain::Decimal::parse(latest_value);
  return out;
}

class UsageRollups : public ::testing::TestWithParam<Backend> {
 protected:
  UsageRollups() : database_(GetParam()) {}

  bool add(const std::vector<UsageBucket>& deltas) {
    auto tx = database_.db().begin(TxMode::write);
    locks::bucket_merge(*tx, kTenant);
    const usage::TenantDeltas one[] = {{&kTenant, &deltas}};
    const bool added = usage::add_to_buckets(*tx, one);
    tx->commit();
    return added;
  }

  void set_state(Instant marked, Instant rolled) {
    auto tx = database_.db().begin(TxMode::write);
    usage::set_rollup_state(*tx, kTenant, {marked, rolled});
    tx->commit();
  }

  std::size_t roll(Instant from, Instant to, const std::string& customer = "cus_1") {
    auto tx = database_.db().begin(TxMode::write);
    const usage::UsageRange days[] = {{customer, from, to}};
    const std::size_t written = usage::roll_up_days(*tx, kTenant, kMeter, days);
    tx->commit();
    return written;
  }

  std::vector<UsageBucket> daily(const std::string& customer = "cus_1") {
    auto tx = database_.db().begin(TxMode::read);
    const usage::UsageRange days[] = {{customer, kDay, kNextDay + std::chrono::hours(24)}};
    return usage::daily_many(*tx, kTenant, kMeter, days);
  }

  std::vector<std::pair<std::string, Instant>> stale(const std::string& customer = "cus_1") {
    auto tx = database_.db().begin(TxMode::read);
    const usage::UsageRange days[] = {{customer, kDay, kNextDay + std::chrono::hours(24)}};
    return usage::stale_days_many(*tx, kTenant, kMeter, days);
  }

  static std::string text(const std::optional<domain::Decimal>& value) {
    return value ? value->to_string() : "null";
  }

  TestDatabase database_;
};

TEST_P(UsageRollups, ADayHoldsItsHoursMergedByTheAggregateRules) {
  // 09:00: 2 events, sum 1.5, max 1.5, latest at 100 µs "evt_b" = 3.
  // 15:00: 3 events, sum 2.25, max 1.50, latest at 100 µs "evt_c" = 7.
  // Next day 01:00 (another day): 4 events, sum 10.
  ASSERT_TRUE(
      add({bucket(kDay + std::chrono::hours(9), "{}", 2, "1.5", "1.5", 100, "evt_b", "3"),
           bucket(kDay + std::chrono::hours(15), "{}", 3, "2.25", "1.50", 100, "evt_c", "7"),
           bucket(kNextDay + std::chrono::hours(1), "{}", 4, "10", "10", 200, "evt_d", "10")}));
  EXPECT_EQ(roll(kDay, kNextDay), 1u);
  auto rows = daily();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].bucket_start, kDay);
  EXPECT_EQ(rows[0].aggregate.events, 5);                 // 2 + 3
  EXPECT_EQ(text(rows[0].aggregate.sum), "3.75");         // 1.5 + 2.25
  EXPECT_EQ(text(rows[0].aggregate.max), "1.50");         // equal maxima: more decimal places
  EXPECT_EQ(rows[0].aggregate.latest_event_id, "evt_c");  // same instant: greater event id
  EXPECT_EQ(text(rows[0].aggregate.latest_value), "7");
  // Rolled again over both days: the first unchanged, the second on its own (4 events, 10).
  EXPECT_EQ(roll(kDay, kNextDay + std::chrono::hours(24)), 2u);
  rows = daily();
  ASSERT_EQ(rows.size(), 2u);
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.bucket_start < b.bucket_start; });
  EXPECT_EQ(rows[0].aggregate.events, 5);
  EXPECT_EQ(rows[1].bucket_start, kNextDay);
  EXPECT_EQ(rows[1].aggregate.events, 4);
  EXPECT_EQ(text(rows[1].aggregate.sum), "10");
}

TEST_P(UsageRollups, BucketWritesBeforeTheMarkMarkTheirDayStale) {
  set_state(kNextDay, kNextDay);
  // 23:00 of kDay is before the mark: stale; 00:00 of the next day is not.
  ASSERT_TRUE(add({bucket(kDay + std::chrono::hours(23), "{}", 1, "1", "1", 1, "evt_a", "1"),
                   bucket(kNextDay, "{}", 1, "1", "1", 2, "evt_b", "1")}));
  const auto marks = stale();
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].first, "cus_1");
  EXPECT_EQ(marks[0].second, kDay);
  // store_buckets (the ingest fallback and a new meter's backfill) marks the same way.
  {
    auto tx = database_.db().begin(TxMode::write);
    usage::store_buckets(
        *tx, kTenant,
        {bucket(kDay + std::chrono::hours(1), "{}", 1, "1", "1", 1, "evt_c", "1", "cus_2")});
    tx->commit();
  }
  EXPECT_EQ(stale("cus_2").size(), 1u);
}

TEST_P(UsageRollups, ADayThatWouldOverflowKeepsNoRowAndStaysStale) {
  const std::string nines(36, '9');
  ASSERT_TRUE(
      add({bucket(kDay + std::chrono::hours(1), "{}", 1, nines.c_str(), "1", 1, "a", "1"),
           bucket(kDay + std::chrono::hours(2), "{}", 1, nines.c_str(), "1", 2, "b", "1")}));
  EXPECT_EQ(roll(kDay, kNextDay), 0u);
  EXPECT_TRUE(daily().empty());
  ASSERT_EQ(stale().size(), 1u);
  EXPECT_EQ(stale()[0].second, kDay);
}

TEST_P(UsageRollups, RebuildMakesTheRolledDaysAnewFromTheHourlyBuckets) {
  ASSERT_TRUE(add(
      {bucket(kDay + std::chrono::hours(9), "{}", 2, "1.5", "1.5", 100, "evt_b", "3"),
       bucket(kDay + std::chrono::hours(9), R"({"region":"eu"})", 1, "4", "4", 50, "evt_x", "4"),
       bucket(kNextDay + std::chrono::hours(1), "{}", 4, "10", "10", 200, "evt_d", "10")}));
  set_state(kNextDay, kNextDay);  // kDay is rolled; the next day is not
  EXPECT_EQ(roll(kDay, kNextDay), 2u);
  // Derived state gone wrong: a changed total, a row of a day never rolled, a stray stale mark.
  database_.raw_exec("UPDATE usage_daily SET event_count = 999, sum_value = '0'");
  database_.raw_exec(
      "INSERT INTO usage_daily (tenant_id, meter_id, customer_id, bucket_start, group_key, "
      "event_count) VALUES ('ten_rollups', 'mtr_sum', 'cus_1', 1767657600000000, '{}', 7)");
  database_.raw_exec(
      "INSERT INTO usage_daily_stale (tenant_id, meter_id, customer_id, day_start) VALUES "
      "('ten_rollups', 'mtr_sum', 'cus_1', 1767571200000000)");
  {
    auto tx = database_.db().begin(TxMode::write);
    EXPECT_EQ(usage::rebuild_rollups(*tx, kTenant), 2u);  // kDay's two groups
    tx->commit();
  }
  auto rows = daily();
  ASSERT_EQ(rows.size(), 2u);  // the next day's row is gone: it is not rolled
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.group_key < b.group_key; });
  EXPECT_EQ(rows[0].group_key, R"({"region":"eu"})");
  EXPECT_EQ(rows[0].aggregate.events, 1);
  EXPECT_EQ(text(rows[0].aggregate.sum), "4");
  EXPECT_EQ(rows[1].group_key, "{}");
  EXPECT_EQ(rows[1].aggregate.events, 2);
  EXPECT_EQ(text(rows[1].aggregate.sum), "1.5");
  EXPECT_TRUE(stale().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageRollups, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);

}  // namespace
}  // namespace neruba::storage
