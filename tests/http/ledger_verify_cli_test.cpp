// `neruba ledger verify --tenant T --db URL` (issue 17), on every backend: exit 0 with a one-line
// summary when the tenant's ledger holds, 1 naming the first violation when raw SQL tampered with
// it, 2 without a tenant. Another tenant's ledger is never affected.
#include <gtest/gtest.h>

#include "cli_run.hpp"
#include "domain/time.hpp"
#include "services/billing/ledger.hpp"
#include "storage/ledger.hpp"
#include "support/test_db.hpp"

namespace neruba::test::http_tests {
namespace {

using domain::ledger::Account;
using domain::ledger::AccountKind;
using domain::ledger::Side;

// cus_1 is invoiced 49.00 (ltx_1) and pays 19.00 of it (ltx_2), in EUR cents.
storage::LedgerTransactionRecord movement(const std::string& tenant, const std::string& id,
                                          const std::string& kind, const std::string& cause,
                                          const Account& to, const Account& from,
                                          std::int64_t amount) {
  storage::LedgerTransactionRecord t;
  t.tenant = TenantId(tenant);
  t.id = id;
  t.kind = kind;
  t.cause = cause;
  t.customer = CustomerId("cus_1");
  t.currency = "EUR";
  t.effective_at = *domain::parse_rfc3339("2026-02-01T00:00:00Z");
  t.recorded_at = t.effective_at;
  t.entries = {{to, Side::debit, amount}, {from, Side::credit, amount}};
  return t;
}

class LedgerVerifyCli : public ::testing::TestWithParam<Backend> {
 protected:
  LedgerVerifyCli() : database_(GetParam()) {}

  void SetUp() override {
    const Account receivable{AccountKind::receivable, "EUR", "cus_1"};
    const Account cash{AccountKind::cash, "EUR", "cus_1"};
    const Account revenue{AccountKind::revenue, "EUR", std::nullopt};
    for (const char* tenant : {"ten_a", "ten_b"}) {
      auto tx = database_.db().begin(storage::TxMode::write);
      ASSERT_EQ(storage::ledger::post(*tx, movement(tenant, "ltx_1", "invoice_finalized", "inv_1",
                                                    receivable, revenue, 4900)),
                storage::ledger::PostOutcome::posted);
      ASSERT_EQ(storage::ledger::post(
                    *tx, movement(tenant, "ltx_2", "payment", "pay_1", cash, receivable, 1900)),
                storage::ledger::PostOutcome::posted);
      tx->commit();
    }
  }

  CliResult verify(const std::string& tenant) {
    return run_cli("ledger verify --tenant " + tenant + " --db '" + database_.url() + "'");
  }

  // Tampers with one row of ten_a's ledger; the CLI exits 1 naming `violation`, as the service
  // the HTTP API will call does, and ten_b's ledger still verifies.
  void expect_broken(const std::string& statement, const std::string& violation) {
    ASSERT_EQ(database_.raw_exec(statement), 1) << statement;
    const auto cli = verify("ten_a");
    EXPECT_EQ(cli.exit_code, 1) << cli.output;
    EXPECT_EQ(cli.output, "ledger of ten_a is broken: " + violation + "\n");
    auto tx = database_.db().begin(storage::TxMode::read);
    EXPECT_EQ(services::ledger::verify(*tx, TenantId("ten_a")), violation);
    EXPECT_EQ(services::ledger::verify(*tx, TenantId("ten_b")), std::nullopt);
    const auto bystander = verify("ten_b");
    EXPECT_EQ(bystander.exit_code, 0) << bystander.output;
  }

  TestDatabase database_;
};

TEST_P(LedgerVerifyCli, ACleanLedgerExitsZeroWithItsSize) {
  const auto cli = verify("ten_a");
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_EQ(cli.output, "ledger of ten_a ok: 2 transactions, 3 accounts\n");
  const auto empty = verify("ten_none");
  EXPECT_EQ(empty.exit_code, 0) << empty.output;
  EXPECT_EQ(empty.output, "ledger of ten_none ok: 0 transactions, 0 accounts\n");
}

TEST_P(LedgerVerifyCli, ATamperedEntryExitsOneNamingIt) {
  expect_broken(
      "UPDATE ledger_entries SET amount = 2000 WHERE tenant_id = 'ten_a' AND transaction_id = "
      "'ltx_2' AND entry_index = 1",
      "transaction ltx_2 does not balance: debits 1900, credits 2000 (EUR minor units)");
}

TEST_P(LedgerVerifyCli, ATamperedAccountExitsOneNamingIt) {
  expect_broken(
      "UPDATE ledger_accounts SET debits = 100 WHERE tenant_id = 'ten_a' AND account_id = "
      "'revenue:EUR'",
      "account revenue:EUR: debits 100, its debit entries sum to 0");
}

TEST_P(LedgerVerifyCli, WithoutATenantItExitsTwo) {
  const auto cli = run_cli("ledger verify --db '" + database_.url() + "'");
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  EXPECT_NE(cli.output.find("usage: neruba ledger verify --tenant ID"), std::string::npos)
      << cli.output;
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerVerifyCli, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
