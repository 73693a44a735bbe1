// Concurrent requests through one Api (as the server's worker threads do): the per-tenant audit
// chain stays gap-free and verifiable, and one Idempotency-Key raced from many threads creates
// exactly one object.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

class ConcurrentRequests : public HttpTest {};

TEST_P(ConcurrentRequests, ParallelWritesAndAdminReadsKeepTheChainContiguous) {
  const Tenant a = make_tenant("A");
  const Tenant b = make_tenant("B");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const Tenant& tenant = (t % 2 == 0) ? a : b;
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (create_customer(tenant, id).status != 201) ++failures;
        if (t == 0 && admin_read("/v1/customers?limit=1", b.id, "parallel look").status != 200) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);

  for (const Tenant* tenant : {&a, &b}) {
    const auto trail = audit_trail(*tenant);
    for (std::size_t i = 0; i < trail.size(); ++i) {
      EXPECT_EQ(int_of(trail[i], "seq"), static_cast<std::int64_t>(i + 1));
      if (i > 0) {
        EXPECT_EQ(text_of(trail[i], "prev_hash"), text_of(trail[i - 1], "hash"));
      }
    }
    const auto verify = api().get("/v1/audit/verify", tenant->key);
    ASSERT_EQ(verify.status, 200);
    EXPECT_TRUE(member(verify.json, "ok").as_bool()) << verify.body;
    EXPECT_EQ(int_of(verify.json, "records"), static_cast<std::int64_t>(trail.size()));
  }
  EXPECT_EQ(customer_count(a.id), 2 * kPerThread);
  EXPECT_EQ(customer_count(b.id), 2 * kPerThread);
  // A: 2 setup + 10 customers. B: 2 setup + 10 customers + 5 admin reads.
  EXPECT_EQ(audit_count(a.id), 2 + 2 * kPerThread);
  EXPECT_EQ(audit_count(b.id), 2 + 2 * kPerThread + kPerThread);
}

// Two requests with one Idempotency-Key, the second sent while the first is held inside its
// request — after its claim, before its write (the FaultyDb gate on its second write transaction):
// the second is refused 409 in flight, and once the first goes on, it creates the customer once
// and a third request replays it. The interleaving is forced, on both backends.
TEST_P(ConcurrentRequests, ASecondRequestWhileTheFirstIsInFlightIsRefused) {
  const Tenant tenant = make_tenant("Acme");
  // The first request's write transactions: its claim, then its work — held at the second.
  const auto held = api().faults().pause_once(is(Operation::begin_write), 1);
  auto first = std::async(std::launch::async, [&] {
    return create_customer(tenant, "raced", "", {{"Idempotency-Key", "race-1"}});
  });
  ASSERT_TRUE(held->wait_until_reached()) << "the first request never reached its write";
  const auto second = create_customer(tenant, "raced", "", {{"Idempotency-Key", "race-1"}});
  expect_problem(second, 409, "idempotency-request-in-flight");
  EXPECT_EQ(customer_count(tenant.id), 0);
  held->open();
  const auto original = first.get();
  ASSERT_EQ(original.status, 201) << original.body;
  EXPECT_EQ(original.header("Idempotent-Replayed"), nullptr);
  const auto third = create_customer(tenant, "raced", "", {{"Idempotency-Key", "race-1"}});
  EXPECT_EQ(third.status, 201);
  ASSERT_NE(third.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(third.body, original.body);
  EXPECT_EQ(customer_count(tenant.id), 1);
  std::int64_t created = 0;
  for (const auto& record : audit_trail(tenant)) {
    created += text_of(record, "action") == "customer.created" ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
}

// The same race with many: while one request holds the key in flight (held after its claim), five
// more race for it at once and every one is refused 409; once the first goes on, one customer
// exists, made once, and a late request replays it. Nothing here depends on how the threads
// happen to be scheduled.
TEST_P(ConcurrentRequests, RacingTheSameIdempotencyKeyCreatesOneCustomer) {
  const Tenant tenant = make_tenant("Acme");
  constexpr int kThreads = 5;
  const auto held = api().faults().pause_once(is(Operation::begin_write), 1);
  auto first = std::async(std::launch::async, [&] {
    return create_customer(tenant, "raced", "", {{"Idempotency-Key", "race-1"}});
  });
  ASSERT_TRUE(held->wait_until_reached()) << "the first request never reached its write";
  auto responses = run_together(kThreads, [&](int) {
    return create_customer(tenant, "raced", "", {{"Idempotency-Key", "race-1"}});
  });
  held->open();
  responses.push_back(first.get());
  responses.push_back(create_customer(tenant, "raced", "", {{"Idempotency-Key", "race-1"}}));

  EXPECT_EQ(customer_count(tenant.id), 1);
  int originals = 0;
  int refused = 0;
  std::string original_body;
  for (const auto& response : responses) {
    if (response.status == 201 && response.header("Idempotent-Replayed") == nullptr) {
      ++originals;
      original_body = response.body;
    }
  }
  EXPECT_EQ(originals, 1);
  for (const auto& response : responses) {
    if (response.status == 201) {
      EXPECT_EQ(response.body, original_body);
    } else {
      expect_problem(response, 409, "idempotency-request-in-flight");
      ++refused;
    }
  }
  EXPECT_EQ(refused, kThreads);  // every racer found the key in flight
  ASSERT_NE(responses.back().header("Idempotent-Replayed"), nullptr);
  std::int64_t created = 0;
  for (const auto& record : audit_trail(tenant)) {
    created += text_of(record, "action") == "customer.created" ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrentRequests, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
