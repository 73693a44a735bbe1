// Storage conformance of usage bucket merges: usage::add_to_buckets adds partial aggregates to
// the stored totals the same way on every backend (both merge inside the upsert with exact
// decimal SQL functions), all or nothing.
#include <gtest/gtest.h>

#include "domain/decimal.hpp"
#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/locks.hpp"
#include "storage/usage.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace {

using test::Backend;
using test::TestDatabase;

const TenantId kTenant("ten_buckets");
const Instant kHour = domain::from_unix_micros(1'767'603'600'000'000);  // 2026-01-05T09:00:00Z
const Instant kNextHour = kHour + std::chrono::hours(1);

domain::Decimal decimal(const char* text) { return *domain::Decimal::parse(text); }

UsageBucket bucket(const std::string& meter, const std::string& group, std::int64_t events,
                   const char* sum, const char* max, std::optional<std::int64_t> latest_at = {},
                   const std::string& latest_event_id = "", const char* latest_value = nullptr) {
  UsageBucket out{MeterId(meter), "cus_1", kHour, group, {}};
  out.aggregate.events = events;
  if (sum != nullptr) out.aggregate.sum = decimal(sum);
  if (max != nullptr) out.aggregate.max = decimal(max);
  if (latest_at) out.aggregate.latest_at = domain::from_unix_micros(*latest_at);
  out.aggregate.latest_event_id = latest_event_id;
  if (latest_value != nullptr) out.aggregate.latest_value = decimal(latest_value);
  return out;
}

class UsageBuckets : public ::testing::TestWithParam<Backend> {
 protected:
  UsageBuckets() : database_(GetParam()) {}

  bool add(const std::vector<UsageBucket>& deltas) {
    auto tx = database_.db().begin(TxMode::write);
    locks::bucket_merge(*tx, kTenant);
    const usage::TenantDeltas one[] = {{&kTenant, &deltas}};
    const bool added = usage::add_to_buckets(*tx, one);
    tx->commit();
    return added;
  }

  // The stored bucket of `meter` and `group`, as the reads see it.
  UsageBucket stored(const std::string& meter, const std::string& group = "{}") {
    auto tx = database_.db().begin(TxMode::read);
    for (auto& found : usage::buckets(*tx, kTenant, MeterId(meter), "cus_1", kHour, kNextHour)) {
      if (found.group_key == group) return found;
    }
    ADD_FAILURE() << "no bucket of " << meter << " " << group;
    return {};
  }

  static std::string text(const std::optional<domain::Decimal>& value) {
    return value ? value->to_string() : "null";
  }

  TestDatabase database_;
};

TEST_P(UsageBuckets, NewBucketsAreCreatedWithTheDelta) {
  ASSERT_TRUE(add({bucket("mtr_sum", "{}", 2, "1.5", "1.5", 100, "evt_b", "1.5")}));
  const auto got = stored("mtr_sum");
  EXPECT_EQ(got.aggregate.events, 2);
  EXPECT_EQ(text(got.aggregate.sum), "1.5");
  EXPECT_EQ(text(got.aggregate.max), "1.5");
  EXPECT_EQ(got.aggregate.latest_at, domain::from_unix_micros(100));
  EXPECT_EQ(got.aggregate.latest_event_id, "evt_b");
  EXPECT_EQ(text(got.aggregate.latest_value), "1.5");
}

TEST_P(UsageBuckets, DeltasAddToStoredTotalsByTheAggregateRules) {
  ASSERT_TRUE(add({bucket("mtr_sum", "{}", 2, "1.5", "1.5", 100, "evt_b", "3"),
                   bucket("mtr_cnt", R"({"region":"eu"})", 4, nullptr, nullptr)}));
  // sum 1.5 + 2.25 = 3.75; max: 1.50 equals 1.5 with more decimal places, so 1.50 wins; latest:
  // the same instant, and "evt_c" > "evt_b" breaks the tie, so 7 replaces 3; count 4 + 3 = 7.
  ASSERT_TRUE(add({bucket("mtr_sum", "{}", 3, "2.25", "1.50", 100, "evt_c", "7"),
                   bucket("mtr_cnt", R"({"region":"eu"})", 3, nullptr, nullptr)}));
  auto got = stored("mtr_sum");
  EXPECT_EQ(got.aggregate.events, 5);
  EXPECT_EQ(text(got.aggregate.sum), "3.75");
  EXPECT_EQ(text(got.aggregate.max), "1.50");
  EXPECT_EQ(got.aggregate.latest_event_id, "evt_c");
  EXPECT_EQ(text(got.aggregate.latest_value), "7");
  EXPECT_EQ(stored("mtr_cnt", R"({"region":"eu"})").aggregate.events, 7);
  EXPECT_EQ(text(stored("mtr_cnt", R"({"region":"eu"})").aggregate.sum), "null");

  // An older latest and a smaller max change neither; a larger max replaces it.
  ASSERT_TRUE(add({bucket("mtr_sum", "{}", 1, "-0.75", "1.2", 99, "evt_z", "5")}));
  got = stored("mtr_sum");
  EXPECT_EQ(got.aggregate.events, 6);
  EXPECT_EQ(text(got.aggregate.sum), "3.00");
  EXPECT_EQ(text(got.aggregate.max), "1.50");
  EXPECT_EQ(got.aggregate.latest_at, domain::from_unix_micros(100));
  EXPECT_EQ(got.aggregate.latest_event_id, "evt_c");
  ASSERT_TRUE(add({bucket("mtr_sum", "{}", 1, "0", "12", 101, "evt_a", "0.5")}));
  got = stored("mtr_sum");
  EXPECT_EQ(text(got.aggregate.max), "12");
  EXPECT_EQ(got.aggregate.latest_at, domain::from_unix_micros(101));
  EXPECT_EQ(got.aggregate.latest_event_id, "evt_a");
  EXPECT_EQ(text(got.aggregate.latest_value), "0.5");
}

TEST_P(UsageBuckets, AnOverflowingTotalWritesNothingAtAll) {
  const std::string nines(36, '9');
  ASSERT_TRUE(add({bucket("mtr_cnt", "{}", 1, nullptr, nullptr),
                   bucket("mtr_sum", "{}", 1, nines.c_str(), nines.c_str())}));
  // The count bucket comes first and would merge fine; the sum overflows 36 digits: neither
  // changes, and nothing new is created.
  EXPECT_FALSE(add({bucket("mtr_cnt", "{}", 5, nullptr, nullptr),
                    bucket("mtr_new", "{}", 1, "1", "1"), bucket("mtr_sum", "{}", 1, "1", "1")}));
  EXPECT_EQ(stored("mtr_cnt").aggregate.events, 1);
  EXPECT_EQ(stored("mtr_sum").aggregate.events, 1);
  EXPECT_EQ(text(stored("mtr_sum").aggregate.sum), nines);
  auto tx = database_.db().begin(TxMode::read);
  EXPECT_TRUE(usage::buckets(*tx, kTenant, MeterId("mtr_new"), "cus_1", kHour, kNextHour).empty());
}

// Several tenants at once, all or nothing over all of them: the second tenant's overflow leaves
// the first tenant's sums (written first, and fine) unwritten too, and the transaction goes on.
TEST_P(UsageBuckets, SeveralTenantsAddAllOrNothing) {
  const TenantId other("ten_buckets_other");
  const std::string nines(36, '9');
  ASSERT_TRUE(add({bucket("mtr_sum", "{}", 1, nines.c_str(), nines.c_str())}));
  const std::vector<UsageBucket> fine{bucket("mtr_cnt", "{}", 3, nullptr, nullptr)};
  const std::vector<UsageBucket> overflowing{bucket("mtr_sum", "{}", 1, "1", "1")};
  {
    auto tx = database_.db().begin(TxMode::write);
    locks::bucket_merge(*tx, kTenant);
    locks::bucket_merge(*tx, other);
    const usage::TenantDeltas both[] = {{&other, &fine}, {&kTenant, &overflowing}};
    EXPECT_FALSE(usage::add_to_buckets(*tx, both));
    const usage::TenantDeltas first_only[] = {{&other, &fine}};
    EXPECT_TRUE(usage::add_to_buckets(*tx, first_only));
    tx->commit();
  }
  auto tx = database_.db().begin(TxMode::read);
  const auto counted = usage::buckets(*tx, other, MeterId("mtr_cnt"), "cus_1", kHour, kNextHour);
  ASSERT_EQ(counted.size(), 1u);
  EXPECT_EQ(counted[0].aggregate.events, 3);  // once: the undone pass left nothing
  const auto full = usage::buckets(*tx, kTenant, MeterId("mtr_sum"), "cus_1", kHour, kNextHour);
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].aggregate.events, 1);
  EXPECT_EQ(text(full[0].aggregate.sum), nines);
}

// Issue 15, defect 8: a group key longer than any index takes (PostgreSQL's B-tree refuses entries
// over ~2.7 KB) is stored by its digest, in full beside it; it reads back in full, merges into the
// same bucket, and distinct values of that group do the same, on every backend.
TEST_P(UsageBuckets, GroupKeysOfAnyLengthAreStoredAndReadBackInFull) {
  const std::string long_group = R"({"g":")" + std::string(3000, 'x') + R"("})";
  const std::string other_long_group = R"({"g":")" + std::string(3000, 'y') + R"("})";
  ASSERT_TRUE(add({bucket("mtr_sum", long_group, 1, "1", "1"),
                   bucket("mtr_sum", other_long_group, 1, "5", "5")}));
  ASSERT_TRUE(add({bucket("mtr_sum", long_group, 2, "2", "2")}));
  EXPECT_EQ(stored("mtr_sum", long_group).aggregate.events, 3);
  EXPECT_EQ(text(stored("mtr_sum", long_group).aggregate.sum), "3");
  EXPECT_EQ(text(stored("mtr_sum", other_long_group).aggregate.sum), "5");
  {
    auto tx = database_.db().begin(TxMode::write);
    usage::insert_distinct(*tx, kTenant,
                           {DistinctValue{MeterId("mtr_sum"), "cus_1", kHour, long_group, "ann"},
                            DistinctValue{MeterId("mtr_sum"), "cus_1", kHour, long_group, "ann"},
                            DistinctValue{MeterId("mtr_sum"), "cus_1", kHour, long_group, "bob"}});
    tx->commit();
  }
  auto tx = database_.db().begin(TxMode::read);
  const auto values = usage::distinct(*tx, kTenant, MeterId("mtr_sum"), "cus_1", kHour, kNextHour);
  ASSERT_EQ(values.size(), 2u);
  for (const auto& value : values) EXPECT_EQ(value.group_key, long_group);
  // What the index holds is the digest, not the 3 KB key.
  EXPECT_EQ(tx->query("SELECT COUNT(*) FROM usage_buckets WHERE group_key = $1",
                      {columns::group_key_digest(long_group)})
                .at(0)
                .integer(0),
            1);
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageBuckets, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);

}  // namespace
}  // namespace neruba::storage
