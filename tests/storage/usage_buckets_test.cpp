// Storage conformance of usage bucket merges: usage::add_to_buckets adds partial aggregates to
// the stored totals the same way on every backend (both merge inside the upsert with exact
// decimal SQL functions), all or nothing.
#include <gtest/gtest.h>

#include "domain/decimal.hpp"
#include "storage/usage_repository.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace {

using test::Backend;
using test::TestDatabase;

const TenantId kTenant("ten_buckets");
constexpr std::int64_t kHour = 1'767'603'600'000'000;  // 2026-01-05T09:00:00Z in micros

domain::Decimal decimal(const char* text) { return *domain::Decimal::parse(text); }

UsageBucket bucket(const std::string& meter, const std::string& group, std::int64_t events,
                   const char* sum, const char* max, std::optional<std::int64_t> latest_at = {},
                   const std::string& latest_event_id = "", const char* latest_value = nullptr) {
  UsageBucket out{meter, "cus_1", kHour, group, {}};
  out.aggregate.events = events;
  if (sum != nullptr) out.aggregate.sum = decimal(sum);
  if (max != nullptr) out.aggregate.max = decimal(max);
  out.aggregate.latest_at = latest_at;
  out.aggregate.latest_event_id = latest_event_id;
  if (latest_value != nullptr) out.aggregate.latest_value = decimal(latest_value);
  return out;
}

class UsageBuckets : public ::testing::TestWithParam<Backend> {
 protected:
  UsageBuckets() : database_(GetParam()) {}

  bool add(const std::vector<UsageBucket>& deltas) {
    auto tx = database_.db().begin(TxMode::write);
    usage::lock_for_merge(*tx, kTenant);
    const usage::TenantDeltas one[] = {{&kTenant, &deltas}};
    const bool added = usage::add_to_buckets(*tx, one);
    tx->commit();
    return added;
  }

  // The stored bucket of `meter` and `group`, as the reads see it.
  UsageBucket stored(const std::string& meter, const std::string& group = "{}") {
    auto tx = database_.db().begin(TxMode::read);
    for (auto& found : usage::buckets(*tx, kTenant, meter, "cus_1", kHour, kHour + 1)) {
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
  EXPECT_EQ(got.aggregate.latest_at, std::optional<std::int64_t>(100));
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
  EXPECT_EQ(got.aggregate.latest_at, std::optional<std::int64_t>(100));
  EXPECT_EQ(got.aggregate.latest_event_id, "evt_c");
  ASSERT_TRUE(add({bucket("mtr_sum", "{}", 1, "0", "12", 101, "evt_a", "0.5")}));
  got = stored("mtr_sum");
  EXPECT_EQ(text(got.aggregate.max), "12");
  EXPECT_EQ(got.aggregate.latest_at, std::optional<std::int64_t>(101));
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
  EXPECT_TRUE(usage::buckets(*tx, kTenant, "mtr_new", "cus_1", kHour, kHour + 1).empty());
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
    usage::lock_for_merge(*tx, kTenant);
    usage::lock_for_merge(*tx, other);
    const usage::TenantDeltas both[] = {{&other, &fine}, {&kTenant, &overflowing}};
    EXPECT_FALSE(usage::add_to_buckets(*tx, both));
    const usage::TenantDeltas first_only[] = {{&other, &fine}};
    EXPECT_TRUE(usage::add_to_buckets(*tx, first_only));
    tx->commit();
  }
  auto tx = database_.db().begin(TxMode::read);
  const auto counted = usage::buckets(*tx, other, "mtr_cnt", "cus_1", kHour, kHour + 1);
  ASSERT_EQ(counted.size(), 1u);
  EXPECT_EQ(counted[0].aggregate.events, 3);  // once: the undone pass left nothing
  const auto full = usage::buckets(*tx, kTenant, "mtr_sum", "cus_1", kHour, kHour + 1);
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].aggregate.events, 1);
  EXPECT_EQ(text(full[0].aggregate.sum), nines);
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageBuckets, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);

}  // namespace
}  // namespace neruba::storage
