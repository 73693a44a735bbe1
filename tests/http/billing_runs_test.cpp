// Billing runs are idempotent and lock-aware (issue 17) on both backends: the same window run
// again, two runs at once (in parallel, and forced one behind the other), a run failing part way,
// and the unique keys that hold exactly-once in storage without the lock. The world and its
// hand-computed outcome are in billing_runs_support.hpp.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "billing_runs_support.hpp"
#include "storage/invoices.hpp"
#include "storage/locks.hpp"
#include "support/lock_waiters.hpp"

namespace neruba::test::http_tests {
namespace {

using namespace std::chrono_literals;

class BillingRuns : public BillingRunTest {
 protected:
  TestResponse run(const World& world, const std::string& body) {
    return api().post("/v1/billing-runs", world.tenant.key, body);
  }
};

// A customer whose invoice cannot be billed (add_unbillable_customer) is reported, and billed by
// no run; every other customer of the tenant is billed exactly once, by the first run, and a
// second run changes nothing else. (It used to fail the whole run, 422, every time: one customer
// stopped the tenant's billing for good.)
TEST_P(BillingRuns, ACustomerThatCannotBeBilledIsReportedAndTheOthersAreBilled) {
  World world = make_world("Poisoned Co");
  add_unbillable_customer(world);
  api().clock().set(instant(kWorldRun));
  for (int attempt = 0; attempt < 2; ++attempt) {
    SCOPED_TRACE("run " + std::to_string(attempt + 1));
    const auto response = run(world, R"({"as_of":"2026-02-01T01:00:00Z"})");
    ASSERT_EQ(response.status, 201) << response.body;
    EXPECT_EQ(int_of(response.json, "invoices_created"), attempt == 0 ? 5 : 0) << response.body;
    EXPECT_EQ(int_of(response.json, "customers_failed"), 1) << response.body;
    const auto& failures = member(response.json, "failures").items();
    ASSERT_EQ(failures.size(), 1u) << response.body;
    EXPECT_EQ(text_of(failures[0], "customer"), "big");
    EXPECT_EQ(text_of(failures[0], "type"), std::string(kErrorTypePrefix) + "value-out-of-range");
    EXPECT_NE(text_of(failures[0], "detail").find("2^63"), std::string::npos) << response.body;
    expect_world_billed_once(world);
  }
  // The run's audit record names the customer it could not bill.
  const auto trail = api().get("/v1/audit?action=billing_run.completed", world.tenant.key);
  ASSERT_EQ(member(trail.json, "data").items().size(), 2u) << trail.body;
  for (const auto& record : member(trail.json, "data").items()) {
    const auto& after = member(record, "after");
    EXPECT_EQ(int_of(after, "customers_failed"), 1) << trail.body;
    EXPECT_EQ(text_of(member(after, "failures").items().at(0), "customer"), "big") << trail.body;
  }
  // Asked for that customer alone, the run answers its problem and writes nothing.
  const std::string before = fingerprint(world.tenant.id);
  const auto alone = run(world, R"({"as_of":"2026-02-01T01:00:00Z","customer":"big"})");
  expect_problem(alone, 422, "value-out-of-range");
  EXPECT_UNCHANGED(before, fingerprint(world.tenant.id));
}

// The same, called as `neruba bill-run` calls the service, with chunks of one, two and three
// customers: the failing customer's chunk is rolled back and billed again without it, whichever
// chunk it is in, and the chunks after it are billed too.
TEST_P(BillingRuns, ACustomerThatCannotBeBilledLeavesEveryChunkBilled) {
  for (const std::size_t chunk : {1u, 2u, 3u}) {
    SCOPED_TRACE("chunks of " + std::to_string(chunk));
    World world = make_world("Chunked Co " + std::to_string(chunk));
    add_unbillable_customer(world);
    api().clock().set(instant(kWorldRun));
    services::billing::RunRequest request;
    request.as_of = instant(kWorldRun);
    request.chunk_customers = chunk;
    const auto report =
        services::billing::bill_and_record(db(), service_context(world.tenant.id), request);
    ASSERT_TRUE(report.ok()) << report.error().detail;
    EXPECT_EQ(report->record.invoices_created, 5);
    EXPECT_EQ(report->record.customers, 3);
    ASSERT_EQ(report->failures.size(), 1u);
    EXPECT_EQ(report->failures[0].external_id, "big");
    EXPECT_EQ(report->failures[0].error.code, ErrorCode::out_of_range);
    expect_world_billed_once(world);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BillingRuns, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
