// Billing runs are idempotent and lock-aware (issue 17) on both backends: the same window run
// again, two runs at once (in parallel, and forced one behind the other), a run failing part way,
// and the unique keys that hold exactly-once in storage without the lock. The world and its
// hand-computed outcome are in billing_runs_support.hpp.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "billing_runs_support.hpp"
#include "services/billing/internal.hpp"
#include "storage/credit_grants.hpp"
#include "storage/invoices.hpp"
#include "storage/ledger.hpp"
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

  // Returns once `count` transactions wait behind another's: on PostgreSQL for a tenant's
  // billing lock (pg_locks), on SQLite for its one writer (FaultyDb::writers_waiting: the API
  // begins its transactions through it). Fails the test after 10 s.
  void wait_for_billing_waiters(std::int64_t count) {
    if (GetParam() == Backend::sqlite) return wait_for_writers(count);
    std::int64_t waiting = 0;
    for (int i = 0; i < 1000 && waiting < count; ++i) {
      if (i > 0) std::this_thread::sleep_for(10ms);
      waiting = scalar(
          "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND "
          "classid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = "
          "current_database())",
          {static_cast<std::int64_t>(storage::locks::LockClass::billing)});
    }
    EXPECT_GE(waiting, count) << "runs waiting for the billing lock";
  }

  void wait_for_writers(std::int64_t count) {
    std::int64_t waiting = 0;
    for (int i = 0; i < 1000 && waiting < count; ++i) {
      if (i > 0) std::this_thread::sleep_for(10ms);
      waiting = static_cast<std::int64_t>(api().faults().writers_waiting());
    }
    EXPECT_GE(waiting, count) << "transactions waiting for SQLite's writer";
  }

  // The invoices rows of a fingerprint.
  static std::vector<std::string> invoices_in(const std::string& fingerprint) {
    std::vector<std::string> rows;
    const auto start = fingerprint.find("\ninvoices:\n");
    if (start == std::string::npos) return rows;
    std::size_t at = start + std::string("\ninvoices:\n").size();
    while (at < fingerprint.size()) {
      const auto end = fingerprint.find('\n', at);
      const std::string line = fingerprint.substr(at, end - at);
      if (line.find('|') == std::string::npos) break;
      rows.push_back(line);
      at = end + 1;
    }
    return rows;
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

// A chunk's ledger transactions and audit records are written together when the chunk ends; a
// refusal of that batch names no customer, so the chunk is billed again customer by customer and
// the refusal lands on its own customer. Here c3's invoice finds the ledger already holding an
// invoice_finalized transaction for it (written around the service): c3 is reported, c1 and c2
// are billed as by hand, and nothing of c3's is written.
TEST_P(BillingRuns, ABatchTheLedgerRefusesIsBilledAgainCustomerByCustomer) {
  const World world = make_world("Refused Batch Co");
  const TenantId tenant(world.tenant.id);
  const CustomerId c3(world.customers.at("c3"));
  const std::string c3_invoice =
      services::billing::internal::invoice_id_of(tenant, c3, instant(kWorldRun));
  {
    const domain::ledger::Account receivable{domain::ledger::AccountKind::receivable, "USD",
                                             c3.str()};
    const domain::ledger::Account revenue{domain::ledger::AccountKind::revenue, "USD",
                                          std::nullopt};
    auto tx = db().begin(storage::TxMode::write);
    ASSERT_EQ(storage::ledger::post(*tx, {tenant,
                                          "ltx_planted",
                                          "invoice_finalized",
                                          c3_invoice,
                                          std::nullopt,
                                          c3,
                                          "USD",
                                          instant(kWorldStart),
                                          instant(kWorldStart),
                                          {{receivable, domain::ledger::Side::debit, 100},
                                           {revenue, domain::ledger::Side::credit, 100}}}),
              storage::ledger::PostOutcome::posted);
    tx->commit();
  }
  api().clock().set(instant(kWorldRun));
  services::billing::RunRequest request;
  request.as_of = instant(kWorldRun);
  const auto report =
      services::billing::bill_and_record(db(), service_context(world.tenant.id), request);
  ASSERT_TRUE(report.ok()) << report.error().detail;
  ASSERT_EQ(report->failures.size(), 1u);
  EXPECT_EQ(report->failures[0].external_id, "c3");
  EXPECT_EQ(report->failures[0].error.code, ErrorCode::internal);
  EXPECT_NE(report->failures[0].error.detail.find(c3_invoice), std::string::npos)
      << report->failures[0].error.detail;
  EXPECT_EQ(report->record.invoices_created, 4);
  EXPECT_EQ(report->record.invoices_finalized, 4);
  auto expected = billed_at_run().invoices;
  expected.pop_back();  // c3's
  EXPECT_EQ(invoices(world.tenant.id), expected);
  const auto ids = invoice_ids(world.tenant.id);
  std::vector<std::string> finalized{c3_invoice};
  for (const auto& [key, id] : ids) finalized.push_back(id);
  std::sort(finalized.begin(), finalized.end());
  EXPECT_EQ(ledger_causes(world.tenant.id, "invoice_finalized"), finalized);
  std::vector<std::string> audited;
  for (const auto& [key, id] : ids) audited.push_back(id);
  std::sort(audited.begin(), audited.end());
  EXPECT_EQ(audit_targets(world.tenant.id, "invoice.finalized"), audited);
  auto tx = db().begin(storage::TxMode::read);
  const auto audit = services::audit::verify(*tx, tenant);
  EXPECT_TRUE(audit.ok) << audit.problem;
}

// (a) The same window again, for several customers and several instants, with and without a
// grace period and finalization: a second run (an hour later on the clock, as_of the same)
// changes no stored row of the tenant; it only adds its receipt and audit record. An earlier
// window run after a later one changes nothing either.
TEST_P(BillingRuns, TheSameWindowAgainChangesNothingButItsReceipt) {
  const World world = make_world("Again Co");
  const std::string& tenant = world.tenant.id;
  const auto again = [&](const std::string& as_of, const std::string& extra = "") {
    SCOPED_TRACE("again as of " + as_of + extra);
    api().clock().advance(std::chrono::hours(1));
    const std::string before = fingerprint(tenant);
    const auto response = run(world, R"({"as_of":")" + as_of + R"(")" + extra + "}");
    ASSERT_EQ(response.status, 201) << response.body;
    EXPECT_EQ(int_of(response.json, "invoices_created"), 0) << response.body;
    EXPECT_EQ(int_of(response.json, "invoices_updated"), 0) << response.body;
    EXPECT_EQ(int_of(response.json, "invoices_finalized"), 0) << response.body;
    EXPECT_EQ(changed_tables(before, fingerprint(tenant)), one_run_recorded());
  };
  const auto first = [&](const char* now, const std::string& body, std::int64_t created,
                         std::int64_t finalized) {
    api().clock().set(instant(now));
    const auto response = run(world, body);
    ASSERT_EQ(response.status, 201) << response.body;
    EXPECT_EQ(int_of(response.json, "invoices_created"), created) << response.body;
    EXPECT_EQ(int_of(response.json, "invoices_finalized"), finalized) << response.body;
  };
  // 01-05: c1 and c2 at 01-01 (advance fees), c3's charge on an invoice of its own; c1's charge
  // waits for c1's next invoice.
  first("2026-01-05T10:00:00Z", R"({"as_of":"2026-01-05T10:00:00Z"})", 3, 3);
  again("2026-01-05T10:00:00Z");
  // 02-01, drafts only: c1 and c2 at 02-01.
  first("2026-02-01T01:00:00Z", R"({"as_of":"2026-02-01T01:00:00Z","finalize":false})", 2, 0);
  again("2026-02-01T01:00:00Z", R"(,"finalize":false)");
  again("2026-01-05T10:00:00Z", R"(,"finalize":false)");
  // The same window finalizing them; then again, and again for c1 alone.
  first("2026-02-01T03:00:00Z", R"({"as_of":"2026-02-01T01:00:00Z"})", 0, 2);
  again("2026-02-01T01:00:00Z");
  again("2026-02-01T01:00:00Z", R"(,"customer":"c1")");
  again("2026-01-05T10:00:00Z");
  // A grace period of 3 days: 03-01's invoices stay drafts on 03-02, then are finalized on
  // 03-05; each window again changes nothing.
  const auto patched = api().call("PATCH", "/v1/tenants/" + tenant, test_admin_key,
                                  R"({"settings":{"invoice_grace_period_days":3}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  first("2026-03-02T00:00:00Z", R"({"as_of":"2026-03-02T00:00:00Z"})", 2, 0);
  again("2026-03-02T00:00:00Z");
  first("2026-03-05T00:00:00Z", R"({"as_of":"2026-03-05T00:00:00Z"})", 0, 2);
  again("2026-03-05T00:00:00Z");
  again("2026-03-02T00:00:00Z");
  again("2026-02-01T01:00:00Z");
  EXPECT_EQ(numbers(tenant), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7}));
  expect_verified(tenant);
}

// (b) Two runs at once, as requests in parallel threads, in several rounds: however they
// interleave, every invoice, ledger transaction and audit record is created once, and the
// runs' counts add up to one run's.
TEST_P(BillingRuns, RunsInParallelBillEverythingOnce) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const World world = make_world("Parallel Co " + std::to_string(round));
    api().clock().set(instant(kWorldRun));
    const auto responses =
        run_together(4, [&](int) { return run(world, R"({"as_of":"2026-02-01T01:00:00Z"})"); });
    std::int64_t created = 0;
    std::int64_t finalized = 0;
    for (const auto& response : responses) {
      ASSERT_EQ(response.status, 201) << response.body;
      created += int_of(response.json, "invoices_created");
      finalized += int_of(response.json, "invoices_finalized");
    }
    EXPECT_EQ(created, 5);
    EXPECT_EQ(finalized, 5);
    EXPECT_EQ(run_ids(world.tenant.id).size(), 4u);
    expect_world_billed_once(world);
  }
}

// The same with runs of one customer a chunk, so that two runs may take turns chunk by chunk.
TEST_P(BillingRuns, RunsInParallelTakingTurnsChunkByChunkBillEverythingOnce) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const World world = make_world("Turns Co " + std::to_string(round));
    api().clock().set(instant(kWorldRun));
    services::billing::RunRequest request;
    request.as_of = instant(kWorldRun);
    request.chunk_customers = 1;
    std::vector<std::int64_t> created(3, -1);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < created.size(); ++t) {
      threads.emplace_back([&, t] {
        const auto report = services::billing::bill_and_record(
            api().faults(), service_context(world.tenant.id), request);
        if (report.ok()) created[t] = report->record.invoices_created;
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(created[0] + created[1] + created[2], 5)
        << created[0] << " + " << created[1] << " + " << created[2];
    expect_world_billed_once(world);
  }
}

// (b) forced: the first run is held in the middle of its chunk (after writing its first
// invoice's lines, the tenant's billing lock held; on SQLite, the one writer). A second run,
// started then, waits for it — for the billing lock on PostgreSQL, for the writer on SQLite —
// before it writes anything; let go, the first bills everything and the second nothing.
TEST_P(BillingRuns, ASecondRunWaitsForTheFirstAndFindsItsInvoices) {
  const World world = make_world("Forced Co");
  api().clock().set(instant(kWorldRun));
  const auto held = api().faults().pause_once(statement_containing("INSERT INTO invoice_lines"));
  auto first = std::async(std::launch::async,
                          [&] { return run(world, R"({"as_of":"2026-02-01T01:00:00Z"})"); });
  ASSERT_TRUE(held->wait_until_reached()) << "the first run never wrote an invoice";
  auto second = std::async(std::launch::async,
                           [&] { return run(world, R"({"as_of":"2026-02-01T01:00:00Z"})"); });
  wait_for_billing_waiters(1);
  const std::string waiting = fingerprint(world.tenant.id);
  held->open();
  const auto first_response = first.get();
  const auto second_response = second.get();
  ASSERT_EQ(first_response.status, 201) << first_response.body;
  ASSERT_EQ(second_response.status, 201) << second_response.body;
  EXPECT_EQ(int_of(first_response.json, "invoices_created"), 5) << first_response.body;
  EXPECT_EQ(int_of(first_response.json, "invoices_finalized"), 5) << first_response.body;
  EXPECT_EQ(int_of(second_response.json, "invoices_created"), 0) << second_response.body;
  EXPECT_EQ(int_of(second_response.json, "invoices_finalized"), 0) << second_response.body;
  // While it waited, the second run had written nothing (nor had the first committed).
  EXPECT_TRUE(invoices_in(waiting).empty()) << waiting;
  expect_world_billed_once(world);
}

// PostgreSQL: the tenant's billing lock, held by a transaction of the test, holds a run back
// before it writes anything; let go, the run bills everything once.
TEST_P(BillingRuns, TheTenantsBillingLockHoldsARunBack) {
  if (GetParam() != Backend::postgres) GTEST_SKIP() << "SQLite has one writer, no lock to hold";
  const World world = make_world("Locked Co");
  api().clock().set(instant(kWorldRun));
  auto hold = db().begin(storage::TxMode::write);
  storage::locks::billing(*hold, TenantId(world.tenant.id));
  auto running = std::async(std::launch::async,
                            [&] { return run(world, R"({"as_of":"2026-02-01T01:00:00Z"})"); });
  wait_for_billing_waiters(1);
  EXPECT_TRUE(invoices(world.tenant.id).empty());
  EXPECT_TRUE(ledger_causes(world.tenant.id, "credit_expiry").empty());
  hold->commit();
  const auto response = running.get();
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(int_of(response.json, "invoices_created"), 5) << response.body;
  expect_world_billed_once(world);
}

// The mutant: without the billing lock (and without the customer's row lock a run also takes),
// two transactions writing the same invoice, ledger transaction or credit draw still write it
// once — the unique keys refuse the second, on PostgreSQL after it waited for the first to commit.
// Exactly-once is in storage, not only in the run's code.
TEST_P(BillingRuns, WithoutTheLocksTheUniqueKeysStillRefuseTheSecondWriter) {
  const World world = make_world("Mutant Co");
  const TenantId tenant(world.tenant.id);
  const CustomerId c1(world.customers.at("c1"));
  const auto draft = [&](const std::string& id) {
    const Instant start = instant("2026-01-01T00:00:00Z");
    const Instant made = instant(kWorldStart);
    return storage::InvoiceRecord{tenant,
                                  id,
                                  c1,
                                  start,
                                  *domain::Currency::of("USD"),
                                  storage::InvoiceStatus::draft,
                                  std::nullopt,
                                  start,
                                  instant("2026-02-01T00:00:00Z"),
                                  4000,
                                  4000,
                                  0,
                                  0,
                                  made,
                                  made,
                                  std::nullopt,
                                  std::nullopt,
                                  std::nullopt,
                                  std::nullopt,
                                  {}};
  };
  const auto posting = [&](const std::string& id) {
    const domain::ledger::Account receivable{domain::ledger::AccountKind::receivable, "USD",
                                             c1.str()};
    const domain::ledger::Account revenue{domain::ledger::AccountKind::revenue, "USD",
                                          std::nullopt};
    return storage::LedgerTransactionRecord{tenant,
                                            id,
                                            "invoice_finalized",
                                            "inv_first",
                                            std::nullopt,
                                            c1,
                                            "USD",
                                            instant(kWorldStart),
                                            instant(kWorldStart),
                                            {{receivable, domain::ledger::Side::debit, 4000},
                                             {revenue, domain::ledger::Side::credit, 4000}}};
  };
  // The second writer's outcome, written while the first's transaction is open.
  const auto race = [&](const std::function<void(storage::Tx&)>& first,
                        const std::function<bool(storage::Tx&)>& second) {
    auto tx = db().begin(storage::TxMode::write);
    first(*tx);
    auto other = std::async(std::launch::async, [&] {
      auto tx2 = api().faults().begin(storage::TxMode::write);
      const bool written = second(*tx2);
      tx2->commit();
      return written;
    });
    if (tx->dialect() == storage::Dialect::postgres) {
      wait_for_transaction_waiters(*tx, 1);  // the second waits on the first's rows
    } else {
      wait_for_writers(1);  // the second waits for the one writer
    }
    tx->commit();
    return other.get();
  };
  EXPECT_FALSE(race(
      [&](storage::Tx& tx) {
        ASSERT_TRUE(storage::invoices::insert_draft(tx, draft("inv_first")));
      },
      [&](storage::Tx& tx) { return storage::invoices::insert_draft(tx, draft("inv_second")); }))
      << "a second invoice of c1 at 01-01";
  EXPECT_FALSE(race(
      [&](storage::Tx& tx) {
        ASSERT_EQ(storage::ledger::post(tx, posting("ltx_first")),
                  storage::ledger::PostOutcome::posted);
      },
      [&](storage::Tx& tx) {
        return storage::ledger::post(tx, posting("ltx_second")) ==
               storage::ledger::PostOutcome::posted;
      }))
      << "a second finalization of inv_first in the ledger";
  EXPECT_FALSE(race(
      [&](storage::Tx& tx) {
        ASSERT_TRUE(storage::credit_grants::insert_draw(tx, tenant,
                                                        {"inv_first", world.c1_prepaid, 0, 1500}));
      },
      [&](storage::Tx& tx) {
        return storage::credit_grants::insert_draw(tx, tenant,
                                                   {"inv_first", world.c1_prepaid, 1, 1500});
      }))
      << "a second draw of c1's grant for inv_first";
  EXPECT_EQ(query("SELECT invoice_id FROM invoices WHERE tenant_id = $1", {world.tenant.id}).size(),
            1u);
  EXPECT_EQ(ledger_causes(world.tenant.id, "invoice_finalized"),
            std::vector<std::string>{"inv_first"});
}

INSTANTIATE_TEST_SUITE_P(Backends, BillingRuns, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
