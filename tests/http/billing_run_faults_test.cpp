// A billing run failing at each of its statements and commits in turn, on both backends (issue
// 17): through FaultyDb (tests/support/faulty_db.hpp), the k-th statement (or commit) of the run
// throws; what the failure left must verify (ledger and audit, numbers without gaps), and a run
// after it must leave the world of billing_runs_support.hpp billed exactly as by hand, every
// invoice, ledger transaction and audit record exactly once. The service runs one customer a
// chunk, so that a failure finds earlier chunks committed; the API's run (the default chunk, its
// Idempotency-Key completed with the receipt) is failed the same way and retried with its key.
#include <gtest/gtest.h>

#include "billing_runs_support.hpp"

namespace neruba::test::http_tests {
namespace {

using storage::StorageError;

OperationPredicate any_statement() {
  return [](const OperationInfo& info) {
    return info.operation == Operation::statement || info.operation == Operation::copy;
  };
}

class BillingRunFaults : public BillingRunTest {
 protected:
  // The faults tried, for the summary.
  struct Tally {
    int failed = 0;    // runs the fault stopped
    int recorded = 0;  // of which the receipt committed all the same (a commit failed after it)
  };

  // Runs the world's billing through the service with `fault` armed at the `skip`-th matching
  // operation; false when the run got through without reaching it (every operation tried).
  bool fail_service_run_at(const World& world, const OperationPredicate& fault, std::size_t skip,
                           FaultyDb::When when, Tally& tally) {
    const std::string context = "fault after " + std::to_string(skip) + " operations";
    api().faults().fail_once(fault, skip, StorageError::Kind::other, when);
    const std::size_t injected = api().faults().faults_injected();
    services::billing::RunRequest request;
    request.as_of = instant(kWorldRun);
    request.chunk_customers = 1;
    bool stopped = false;
    try {
      const auto report = services::billing::bill_and_record(
          api().faults(), service_context(world.tenant.id), request);
      EXPECT_TRUE(report.ok()) << context << ": " << report.error().detail;
    } catch (const StorageError&) {
      stopped = true;
    }
    api().faults().clear();
    const bool reached = api().faults().faults_injected() > injected;
    EXPECT_EQ(stopped, reached) << context;
    if (!reached) {
      expect_world_billed_once(world, context + " (never reached)");
      return false;
    }
    ++tally.failed;
    if (!run_ids(world.tenant.id).empty()) ++tally.recorded;
    expect_consistent(world, context);
    const auto again = services::billing::bill_and_record(
        api().faults(), service_context(world.tenant.id), request);
    EXPECT_TRUE(again.ok()) << context << ": " << again.error().detail;
    expect_world_billed_once(world, context);
    return true;
  }

  // What a failure leaves: the ledger and the audit chain verify, finalized numbers have no gap,
  // and nothing is billed twice (at most the world's invoices, each at most once).
  void expect_consistent(const World& world, const std::string& context) {
    expect_verified(world.tenant.id, context + ", before running again");
    const auto numbered = numbers(world.tenant.id);
    for (std::size_t i = 0; i < numbered.size(); ++i) {
      EXPECT_EQ(numbered[i], static_cast<std::int64_t>(i + 1)) << context;
    }
    const auto ids = invoice_ids(world.tenant.id);
    EXPECT_LE(ids.size(), 5u) << context;
    const auto booked = ledger_causes(world.tenant.id, "invoice_finalized");
    EXPECT_EQ(booked.size(), numbered.size()) << context;
    EXPECT_EQ(audit_targets(world.tenant.id, "invoice.finalized"), booked) << context;
  }

  // Fails each operation matching `fault` of a fresh world's run in turn, until a run gets
  // through without reaching the fault; returns how many were failed.
  Tally fail_each(const std::string& name, const OperationPredicate& fault, FaultyDb::When when) {
    Tally tally;
    for (std::size_t skip = 0; skip < 2000; ++skip) {
      SCOPED_TRACE(name + " " + std::to_string(skip));
      const World world = make_world(name + " " + std::to_string(skip));
      api().clock().set(instant(kWorldRun));
      if (!fail_service_run_at(world, fault, skip, when, tally)) return tally;
      if (HasFatalFailure()) return tally;
    }
    ADD_FAILURE() << "the run never got past its faults";
    return tally;
  }
};

TEST_P(BillingRunFaults, EachStatementFailedInTurnThenRunAgainBillsEverythingOnce) {
  const Tally tally = fail_each("Statement", any_statement(), FaultyDb::When::before);
  // Three customers' billing (expiry, invoices, lines, numbers, ledger, draws, audit) in three
  // chunks, the run's receipt and audit record: well over a hundred statements, each failed.
  EXPECT_GT(tally.failed, 100);
  EXPECT_EQ(tally.recorded, 0);  // a failed statement rolls its transaction back
  std::cout << "statements failed in turn: " << tally.failed << "\n";
}

TEST_P(BillingRunFaults, EachCommitFailedInTurnBeforeOrAfterItHappenedThenRunAgain) {
  // Eight commits: the usage roll-up's four (it rolls closed days up before the run bills, in
  // transactions of its own), three chunks, then the receipt; on SQLite a ninth, the planner
  // statistics' refresh after the roll-up.
  const int commits = GetParam() == Backend::sqlite ? 9 : 8;
  const Tally before = fail_each("Commit lost", is(Operation::commit), FaultyDb::When::before);
  EXPECT_EQ(before.failed, commits);
  EXPECT_EQ(before.recorded, 0);
  // Committed, but the answer lost: the last one leaves the first run recorded, the second run
  // records itself beside it with nothing billed.
  const Tally after = fail_each("Commit unanswered", is(Operation::commit), FaultyDb::When::after);
  EXPECT_EQ(after.failed, commits);
  EXPECT_EQ(after.recorded, 1);
}

// The API's run: one chunk and the receipt with the Idempotency-Key's completion. Each statement
// failed in turn answers 500 and releases the key; the same request with the same key then bills
// everything once.
TEST_P(BillingRunFaults, EachStatementOfTheApisRunFailedInTurnThenTheSameRequestAgain) {
  int failed = 0;
  for (std::size_t skip = 0; skip < 2000; ++skip) {
    const std::string context = "API statement " + std::to_string(skip);
    SCOPED_TRACE(context);
    const World world = make_world("Api " + std::to_string(skip));
    api().clock().set(instant(kWorldRun));
    const Headers key{{"Idempotency-Key", "run-1"}};
    const std::string body = R"({"as_of":"2026-02-01T01:00:00Z"})";
    api().faults().fail_once(any_statement(), skip);
    const std::size_t injected = api().faults().faults_injected();
    const auto response = api().post("/v1/billing-runs", world.tenant.key, body, key);
    api().faults().clear();
    if (api().faults().faults_injected() == injected) {
      EXPECT_EQ(response.status, 201) << response.body;
      expect_world_billed_once(world, context + " (never reached)");
      break;
    }
    ++failed;
    expect_problem(response, 500, "internal-error", context);
    expect_consistent(world, context);
    const auto again = api().post("/v1/billing-runs", world.tenant.key, body, key);
    ASSERT_EQ(again.status, 201) << again.body;
    EXPECT_EQ(again.header("Idempotent-Replayed"), nullptr) << context;
    expect_world_billed_once(world, context);
    if (HasFailure()) break;
  }
  EXPECT_GT(failed, 50);
  std::cout << "API statements failed in turn: " << failed << "\n";
}

INSTANTIATE_TEST_SUITE_P(Backends, BillingRunFaults, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
