// The billing scheduler of `neruba serve --billing-interval` (services/billing/scheduler.hpp) on
// both backends: a pass bills every tenant's due work once, as the platform; an idle pass writes
// nothing; two nodes passing at once bill nothing twice; a tenant whose run fails is passed over
// and billed by a later pass; the scheduler's thread passes at start and again after each
// interval, and stops when told. The world and its outcome are in billing_runs_support.hpp.
#include <gtest/gtest.h>

#include <future>

#include "billing_runs_support.hpp"
#include "services/billing/scheduler.hpp"

namespace neruba::test::http_tests {
namespace {

using namespace std::chrono_literals;
namespace billing = services::billing;

class BillingScheduler : public BillingRunTest {
 protected:
  billing::DuePass pass(storage::Db& database) {
    return billing::bill_due(database, api().clock(), api().api().ids());
  }
  billing::DuePass pass() { return pass(api().faults()); }

  std::string all_fingerprints(const std::vector<const World*>& worlds) {
    std::string out;
    for (const World* world : worlds) out += fingerprint(world->tenant.id);
    return out;
  }
};

TEST_P(BillingScheduler, APassBillsEveryTenantOnceAsThePlatformAndAnIdlePassWritesNothing) {
  const World first = make_world("Scheduled One");
  const World second = make_world("Scheduled Two");
  const Tenant idle = make_tenant("Nothing To Bill");
  api().clock().set(instant(kWorldRun));
  const auto billed = pass();
  EXPECT_EQ(billed.tenants, 3);
  EXPECT_EQ(billed.runs_recorded, 2);
  EXPECT_EQ(billed.tenants_failed, 0);
  EXPECT_EQ(billed.customers_failed, 0);
  expect_world_billed_once(first, "first");
  expect_world_billed_once(second, "second");
  EXPECT_EQ(run_ids(first.tenant.id).size(), 1u);
  EXPECT_TRUE(run_ids(idle.id).empty()) << "a run that changed nothing is not recorded";
  for (const World* world : {&first, &second}) {
    for (const auto& record :
         walk("/v1/audit?action=billing_run.completed", world->tenant.key, 100)) {
      const auto& actor = member(record, "actor");
      EXPECT_EQ(text_of(actor, "type") + " " + text_of(actor, "id") + " " + text_of(actor, "name"),
                "admin admin billing scheduler");
      EXPECT_EQ(text_of(member(record, "after"), "as_of"), kWorldRun);
    }
  }
  // An hour later nothing more is due: the pass writes nothing at all.
  api().clock().advance(std::chrono::hours(1));
  const std::string before = all_fingerprints({&first, &second}) + fingerprint(idle.id);
  const auto again = pass();
  EXPECT_EQ(again.tenants, 3);
  EXPECT_EQ(again.runs_recorded, 0);
  EXPECT_UNCHANGED(before, all_fingerprints({&first, &second}) + fingerprint(idle.id));
}

// Two nodes passing at once, in several rounds of new tenants: every invoice, ledger transaction
// and audit record once, and one recorded run per tenant between them (a tenant's work is one
// chunk: the node that waits for the other's lock finds it all done). On PostgreSQL the second
// node has a database connection pool of its own, as another process would.
TEST_P(BillingScheduler, TwoNodesPassingAtOnceBillNothingTwice) {
  std::unique_ptr<storage::Db> other_node;
  if (GetParam() == Backend::postgres) other_node = storage::open_database(api().database().url());
  storage::Db& second_db = other_node ? *other_node : api().faults();
  std::vector<World> worlds;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    api().clock().set(instant(kWorldStart));
    const World first = make_world("Nodes A " + std::to_string(round));
    const World second = make_world("Nodes B " + std::to_string(round));
    api().clock().set(instant(kWorldRun));
    auto node_a = std::async(std::launch::async, [&] { return pass(api().faults()); });
    auto node_b = std::async(std::launch::async, [&] { return pass(second_db); });
    const auto a = node_a.get();
    const auto b = node_b.get();
    EXPECT_EQ(a.tenants_failed + b.tenants_failed, 0);
    EXPECT_EQ(a.runs_recorded + b.runs_recorded, 2) << a.runs_recorded << " + " << b.runs_recorded;
    for (const World* world : {&first, &second}) {
      expect_world_billed_once(*world, world->tenant.id);
      EXPECT_EQ(run_ids(world->tenant.id).size(), 1u);
    }
  }
}

// A tenant whose run fails (here every statement naming it) is logged and passed over; the
// others are billed; a later pass bills it.
TEST_P(BillingScheduler, ATenantWhoseRunFailsIsPassedOverAndBilledLater) {
  const World broken = make_world("Broken For Now");
  const World fine = make_world("Fine");
  api().clock().set(instant(kWorldRun));
  api().faults().fail_always(statement_with("", broken.tenant.id));
  const auto first = pass();
  api().faults().clear();
  EXPECT_EQ(first.tenants_failed, 1);
  EXPECT_EQ(first.tenants, 1);
  EXPECT_EQ(first.runs_recorded, 1);
  expect_world_billed_once(fine, "fine");
  EXPECT_TRUE(invoices(broken.tenant.id).empty());
  const auto later = pass();
  EXPECT_EQ(later.tenants_failed, 0);
  EXPECT_EQ(later.runs_recorded, 1);
  expect_world_billed_once(broken, "broken, later");
  expect_world_billed_once(fine, "fine, later");
}

// The thread: a pass at start, another after each interval; destroyed, it stops.
TEST_P(BillingScheduler, TheSchedulerPassesAtStartThenEveryIntervalUntilStopped) {
  const World world = make_world("Threaded");
  api().clock().set(instant(kWorldRun));
  {
    billing::Scheduler scheduler(api().faults(), api().clock(), api().api().ids(), 20ms);
    for (int i = 0; i < 1000 && scheduler.passes() < 3; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_GE(scheduler.passes(), 3);
  }
  expect_world_billed_once(world);
  EXPECT_EQ(run_ids(world.tenant.id).size(), 1u);
  // A day's interval: the first pass happens at once, and stopping does not wait for the next.
  api().clock().set(instant("2026-03-01T00:00:00Z"));
  const auto started = std::chrono::steady_clock::now();
  {
    billing::Scheduler scheduler(api().faults(), api().clock(), api().api().ids(), 24h);
    for (int i = 0; i < 1000 && scheduler.passes() < 1; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(scheduler.passes(), 1);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  // March's invoices (c1 and c2 at 03-01) were billed by that first pass.
  EXPECT_EQ(invoices(world.tenant.id).size(), 7u);
  EXPECT_EQ(run_ids(world.tenant.id).size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, BillingScheduler, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
