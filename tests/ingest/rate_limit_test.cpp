// Per-tenant ingest rate limits (DESIGN.md principle 7, API.md "Platform" settings
// ingest_events_per_second / ingest_burst): a token bucket per tenant, one token per event. A batch
// over the remaining budget is answered 429 with an integer Retry-After and writes nothing; once
// the clock has moved far enough the same batch is accepted. One tenant exhausting its budget
// never stops another tenant's batches, also under concurrent load.
//
// The test clock is a ManualClock: it only moves when the test advances it, so the token
// arithmetic below is exact.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <thread>

#include "http/api.hpp"
#include "ingest_test_support.hpp"
#include "services/ingest.hpp"
#include "storage/locks.hpp"
#include "storage/meters.hpp"

namespace neruba::test::ingest_tests {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDayFrom = "2026-01-05T00:00:00Z";
constexpr const char* kDayTo = "2026-01-06T00:00:00Z";

class RateLimit : public IngestTest {
 protected:
  Tenant tenant_with_meter(const std::string& name) {
    Tenant tenant = make_tenant(name);
    create_customer(tenant, "alice");
    create_meter(
        tenant,
        R"({"code":"tokens","event_type":"api_call","aggregation":"sum","field":"tokens"})");
    return tenant;
  }

  // `count` events with ids prefix0..prefix{count-1}, one token each, at 2026-01-05T10:00:00Z.
  static std::vector<std::string> batch(const std::string& prefix, int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
      out.push_back(event_json(prefix + std::to_string(i), "alice", "api_call",
                               "2026-01-05T10:00:00Z", R"({"tokens":1})"));
    }
    return out;
  }

  static int retry_after(const TestResponse& response) {
    const auto* header = response.header("Retry-After");
    if (header == nullptr) {
      ADD_FAILURE() << "429 without Retry-After: " << response.body;
      return -1;
    }
    // An integer number of seconds: digits only.
    EXPECT_FALSE(header->empty());
    for (const char c : *header) EXPECT_TRUE(c >= '0' && c <= '9') << *header;
    return std::stoi(*header);
  }

  std::pair<std::string, std::int64_t> tokens(const Tenant& tenant) {
    return value_and_events(tenant, "alice", "tokens", kDayFrom, kDayTo);
  }
};

TEST_P(RateLimit, BatchOverTheBudgetIs429WritesNothingAndIsAcceptedLater) {
  const Tenant tenant = tenant_with_meter("Limited");
  patch_settings(tenant, R"({"ingest_events_per_second":1,"ingest_burst":10})");

  // Bucket starts full: 10 tokens. 8 events → 2 left.
  post_expect(tenant, batch("a", 8), 8);
  const auto before_events = stored_events(tenant);
  const auto before_counted = counted_in_buckets(tenant);

  // 5 events need 5 tokens, 2 are there: 3 missing at 1 token/s → Retry-After 3.
  const auto refused = post_events(tenant, batch("b", 5), {{"Idempotency-Key", "b-batch"}});
  expect_problem(refused, 429, "rate-limited");
  EXPECT_EQ(retry_after(refused), 3);
  EXPECT_EQ(stored_events(tenant), before_events);
  EXPECT_EQ(counted_in_buckets(tenant), before_counted);
  EXPECT_EQ(tokens(tenant), std::make_pair(std::string("8"), std::int64_t{8}));

  // After 2 s: 2 + 2 = 4 tokens, still 1 short → 429, Retry-After 1; a refusal takes nothing.
  api().clock().advance(2s);
  const auto still = post_events(tenant, batch("b", 5), {{"Idempotency-Key", "b-batch"}});
  expect_problem(still, 429, "rate-limited");
  EXPECT_EQ(retry_after(still), 1);
  EXPECT_EQ(stored_events(tenant), before_events);

  // After 1 s more: 5 tokens → the same batch (same Idempotency-Key: the refusals kept nothing
  // of it) is accepted.
  api().clock().advance(1s);
  const auto accepted = post_events(tenant, batch("b", 5), {{"Idempotency-Key", "b-batch"}});
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(int_of(accepted.json, "accepted"), 5) << accepted.body;
  EXPECT_EQ(accepted.header("Idempotent-Replayed"), nullptr);
  // 8 + 5 = 13.
  EXPECT_EQ(tokens(tenant), std::make_pair(std::string("13"), std::int64_t{13}));
  // The bucket is empty now: one more event waits 1 s.
  const auto empty = post_events(tenant, batch("c", 1));
  expect_problem(empty, 429, "rate-limited");
  EXPECT_EQ(retry_after(empty), 1);
}

TEST_P(RateLimit, BucketRefillsUpToTheBurstOnly) {
  const Tenant tenant = tenant_with_meter("Refill");
  patch_settings(tenant, R"({"ingest_events_per_second":2,"ingest_burst":6})");
  post_expect(tenant, batch("a", 6), 6);  // 6 − 6 = 0 left
  // An hour later the bucket holds the burst (6), not 0 + 3600 × 2 = 7200: 6 events pass and
  // leave it empty, so one more event waits.
  api().clock().advance(1h);
  post_expect(tenant, batch("b", 6), 6);
  const auto one = post_events(tenant, batch("c", 1));
  expect_problem(one, 429, "rate-limited");
  EXPECT_EQ(retry_after(one), 1);  // 1 missing at 2/s: ceil(0.5) = 1
  // 3 events need 3 tokens at 2/s: ceil(3 / 2) = 2 s.
  const auto again = post_events(tenant, batch("c", 3));
  expect_problem(again, 429, "rate-limited");
  EXPECT_EQ(retry_after(again), 2);
  api().clock().advance(1500ms);  // 3 tokens
  post_expect(tenant, batch("c", 3), 3);
  EXPECT_EQ(tokens(tenant), std::make_pair(std::string("15"), std::int64_t{15}));  // 6 + 6 + 3
}

// rate_limit.hpp: a batch larger than the burst is admitted when the bucket is full and puts the
// bucket into debt (otherwise it could never be admitted); the debt delays the next batch.
TEST_P(RateLimit, BatchLargerThanTheBurstRunsIntoDebt) {
  const Tenant tenant = tenant_with_meter("Debt");
  patch_settings(tenant, R"({"ingest_events_per_second":2,"ingest_burst":10})");
  post_expect(tenant, batch("a", 15), 15);  // 10 − 15 = −5
  // One event: needs 1, has −5 → 6 missing at 2/s → Retry-After 3.
  const auto refused = post_events(tenant, batch("b", 1));
  expect_problem(refused, 429, "rate-limited");
  EXPECT_EQ(retry_after(refused), 3);
  api().clock().advance(3s);  // −5 + 6 = 1
  post_expect(tenant, batch("b", 1), 1);
  EXPECT_EQ(tokens(tenant), std::make_pair(std::string("16"), std::int64_t{16}));
}

TEST_P(RateLimit, OneTenantsExhaustedBudgetDoesNotStopAnother) {
  const Tenant a = tenant_with_meter("Tenant A");
  const Tenant b = tenant_with_meter("Tenant B");
  patch_settings(a, R"({"ingest_events_per_second":1,"ingest_burst":5})");
  patch_settings(b, R"({"ingest_events_per_second":1,"ingest_burst":5})");

  post_expect(a, batch("a", 5), 5);  // A: 0 left
  expect_problem(post_events(a, batch("x", 1)), 429, "rate-limited");
  // B has its own bucket, full: 5 events pass while A is refused.
  post_expect(b, batch("b", 5), 5);
  expect_problem(post_events(a, batch("x", 1)), 429, "rate-limited");
  expect_problem(post_events(b, batch("y", 1)), 429, "rate-limited");
  // A tenant with the default limits is not affected at all.
  const Tenant c = tenant_with_meter("Tenant C");
  post_expect(c, batch("c", 500), 500);
  EXPECT_EQ(tokens(a), std::make_pair(std::string("5"), std::int64_t{5}));
  EXPECT_EQ(tokens(b), std::make_pair(std::string("5"), std::int64_t{5}));
  EXPECT_EQ(tokens(c), std::make_pair(std::string("500"), std::int64_t{500}));
}

TEST_P(RateLimit, ConcurrentHammeringOfOneTenantDoesNotStopAnother) {
  const Tenant a = tenant_with_meter("Hammer");
  const Tenant b = tenant_with_meter("Bystander");
  // A: 20 tokens and (the clock being frozen) no refill → exactly 4 batches of 5 pass.
  patch_settings(a, R"({"ingest_events_per_second":1,"ingest_burst":20})");

  constexpr int kHammerRequests = 200;
  constexpr int kBystanderBatches = 25;
  constexpr int kBystanderBatchSize = 10;
  std::atomic<int> a_ok{0};
  std::atomic<int> a_limited{0};
  std::atomic<int> a_other{0};
  std::atomic<bool> b_done{false};

  std::thread hammer([&] {
    for (int i = 0; i < kHammerRequests; ++i) {
      const auto response = post_events(a, batch("h" + std::to_string(i) + "-", 5));
      if (response.status == 200) {
        ++a_ok;
      } else if (response.status == 429) {
        ++a_limited;
      } else {
        ++a_other;
      }
    }
  });
  std::vector<int> b_statuses;
  std::vector<std::int64_t> b_accepted;
  std::thread bystander([&] {
    for (int i = 0; i < kBystanderBatches; ++i) {
      const auto response =
          post_events(b, batch("b" + std::to_string(i) + "-", kBystanderBatchSize));
      b_statuses.push_back(response.status);
      b_accepted.push_back(int_of(response.json, "accepted"));
    }
    b_done = true;
  });
  hammer.join();
  bystander.join();

  ASSERT_TRUE(b_done.load());
  ASSERT_EQ(b_statuses.size(), static_cast<std::size_t>(kBystanderBatches));
  for (int i = 0; i < kBystanderBatches; ++i) {
    EXPECT_EQ(b_statuses[i], 200) << "bystander batch " << i;
    EXPECT_EQ(b_accepted[i], kBystanderBatchSize) << "bystander batch " << i;
  }
  EXPECT_EQ(a_ok.load(), 4);  // 20 tokens / 5 per batch
  EXPECT_EQ(a_limited.load(), kHammerRequests - 4);
  EXPECT_EQ(a_other.load(), 0);
  // B: 25 × 10 = 250 events; A: 4 × 5 = 20.
  EXPECT_EQ(tokens(b), std::make_pair(std::string("250"), std::int64_t{250}));
  EXPECT_EQ(tokens(a), std::make_pair(std::string("20"), std::int64_t{20}));
  EXPECT_EQ(stored_events(a), 20);
}

// The in-flight budget (events queued or being written, per tenant) is checked and taken in one
// step: of concurrent requests only as many as fit get a share, a refused request takes nothing,
// and a share dropped before its job is queued is given back.
TEST_P(RateLimit, TheInFlightBudgetIsCheckedAndTakenInOneStep) {
  services::ingest::Pipeline pipeline(db(), 20'000, 1, 10);
  const TenantId a("ten_a");
  const TenantId b("ten_b");
  auto first = pipeline.reserve(a, 6);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(pipeline.reserve(a, 5).has_value());  // 6 + 5 > 10
  EXPECT_EQ(pipeline.in_flight(a), 6u);
  EXPECT_TRUE(pipeline.reserve(b, 10).has_value());  // B's budget is its own (given back at once)
  EXPECT_EQ(pipeline.in_flight(b), 0u);
  {
    auto second = pipeline.reserve(a, 4);
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(pipeline.in_flight(a), 10u);
  }
  EXPECT_EQ(pipeline.in_flight(a), 6u);
  first.reset();
  EXPECT_EQ(pipeline.in_flight(a), 0u);

  // Eight requests of 3 events at once: three fit (9 of 10), whatever the interleaving.
  constexpr int kThreads = 8;
  std::vector<std::optional<services::ingest::Pipeline::Reservation>> taken(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      if (auto reservation = pipeline.reserve(a, 3)) taken[t].emplace(std::move(*reservation));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(std::count_if(taken.begin(), taken.end(), [](const auto& r) { return r.has_value(); }),
            3);
  EXPECT_EQ(pipeline.in_flight(a), 9u);
  taken.clear();
  EXPECT_EQ(pipeline.in_flight(a), 0u);
}

// Over its in-flight budget (limits::ingest_in_flight_events_max events queued or being written)
// a tenant's batch is refused with 429 and Retry-After, and the refusal takes nothing: no event,
// no token of its rate limit. Another tenant's batch is admitted meanwhile. The writer is held by a
// transaction of the test (SQLite: the write lock; PostgreSQL: the busy tenant's meters), so the
// first 50,000 events stay in flight.
TEST_P(RateLimit, OverTheInFlightBudgetIs429AndTakesNothing) {
  const Tenant busy = tenant_with_meter("Busy");
  const Tenant neighbour = tenant_with_meter("Neighbour");
  // 50,001 tokens and a clock that stands still: after the 50,000 in flight, exactly one is left.
  patch_settings(busy, R"({"ingest_events_per_second":1,"ingest_burst":50001})");
  auto& pipeline = api().api().ingest().pipeline();
  const TenantId busy_id(busy.id);
  auto hold = db().begin(storage::TxMode::write);
  storage::locks::meters_exclusive(*hold, busy_id);  // PostgreSQL; SQLite: the write lock

  static_assert(limits::ingest_in_flight_events_max == 5 * limits::events_per_batch_max);
  std::vector<std::future<TestResponse>> filling;
  for (int i = 0; i < 5; ++i) {
    filling.push_back(std::async(std::launch::async, [&, i] {
      return post_events(busy, batch("f" + std::to_string(i) + "_", 10'000));
    }));
  }
  for (int i = 0; i < 6000 && pipeline.in_flight(busy_id) < 50'000; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(pipeline.in_flight(busy_id), 50'000u);

  const auto refused = post_events(busy, batch("over", 1));
  expect_problem(refused, 429, "rate-limited");
  EXPECT_EQ(retry_after(refused), 1);
  EXPECT_EQ(pipeline.in_flight(busy_id), 50'000u);
  auto admitted =
      std::async(std::launch::async, [&] { return post_events(neighbour, batch("n", 3)); });

  hold->commit();
  for (auto& future : filling) {
    const auto response = future.get();
    ASSERT_EQ(response.status, 200) << response.body.substr(0, 300);
    EXPECT_EQ(int_of(response.json, "accepted"), 10'000);
  }
  const auto other = admitted.get();
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(int_of(other.json, "accepted"), 3);
  EXPECT_EQ(stored_events(busy), 50'000);
  EXPECT_EQ(pipeline.in_flight(busy_id), 0u);

  // The refusal left its token: sent again, the batch is accepted with the last one.
  const auto again = post_events(busy, batch("over", 1));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(int_of(again.json, "accepted"), 1);
  expect_problem(post_events(busy, batch("after", 1)), 429, "rate-limited");
  EXPECT_EQ(stored_events(busy), 50'001);
}

// A batch refused for the in-flight budget keeps nothing of its Idempotency-Key either: once the
// budget has room, the same request with the same key is written (not a replay of the 429), and
// sent once more it is the replay of that 200. The budget is held by a reservation of the test, so
// no database lock stands between the key's claim and the writer (both backends).
TEST_P(RateLimit, AnInFlightRefusalKeepsNothingOfItsIdempotencyKey) {
  const Tenant busy = tenant_with_meter("Busy");
  auto& pipeline = api().api().ingest().pipeline();
  const TenantId busy_id(busy.id);
  const Headers key = {{"Idempotency-Key", "over-budget"}};
  {
    auto held = pipeline.reserve(busy_id, limits::ingest_in_flight_events_max);
    ASSERT_TRUE(held.has_value());
    const auto refused = post_events(busy, batch("k", 2), key);
    expect_problem(refused, 429, "rate-limited");
    EXPECT_EQ(retry_after(refused), 1);
    EXPECT_EQ(stored_events(busy), 0);
  }  // the reservation is dropped: its events leave the budget
  EXPECT_EQ(pipeline.in_flight(busy_id), 0u);

  const auto accepted = post_events(busy, batch("k", 2), key);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(int_of(accepted.json, "accepted"), 2) << accepted.body;
  EXPECT_EQ(accepted.header("Idempotent-Replayed"), nullptr);
  const auto replayed = post_events(busy, batch("k", 2), key);
  ASSERT_EQ(replayed.status, 200) << replayed.body;
  ASSERT_NE(replayed.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(replayed.body, accepted.body);
  EXPECT_EQ(stored_events(busy), 2);
  EXPECT_EQ(tokens(busy), std::make_pair(std::string("2"), std::int64_t{2}));
}

INSTANTIATE_TEST_SUITE_P(Backends, RateLimit, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::ingest_tests
