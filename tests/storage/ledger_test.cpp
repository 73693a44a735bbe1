// Storage conformance for the double-entry ledger (issue 17), on every backend: transactions and
// their entries read back as posted; balances are the sums of the entries; a cause's effect is
// written once; a balance rule (a wallet below zero, a receivable paid beyond its debits) or an
// int64 total that would overflow refuses the whole transaction and writes nothing; and
// first_violation names the row that raw SQL tampered with. Amounts are EUR cents, by hand.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <limits>

#include "common/limits.hpp"
#include "domain/time.hpp"
#include "storage/ledger.hpp"
#include "support/lock_waiters.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace ledger {
// Lets gtest print an outcome by name (found by argument-dependent lookup).
inline void PrintTo(PostOutcome outcome, std::ostream* out) {
  *out << (outcome == PostOutcome::posted           ? "posted"
           : outcome == PostOutcome::already_posted ? "already_posted"
                                                    : "limit_exceeded");
}
}  // namespace ledger

namespace {

using domain::ledger::Account;
using domain::ledger::AccountKind;
using domain::ledger::Side;
using ledger::PostOutcome;
using test::Backend;
using test::TestDatabase;

Instant at(const char* text) { return *domain::parse_rfc3339(text); }

const TenantId kTenant("ten_a");
const TenantId kOther("ten_b");
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

Account customer_account(AccountKind kind, const std::string& customer) {
  return Account{kind, "EUR", customer};
}
Account cash(const std::string& customer) { return customer_account(AccountKind::cash, customer); }
Account wallet(const std::string& customer) {
  return customer_account(AccountKind::prepaid_credit, customer);
}
Account receivable(const std::string& customer) {
  return customer_account(AccountKind::receivable, customer);
}
Account revenue() { return Account{AccountKind::revenue, "EUR", std::nullopt}; }
Account breakage() { return Account{AccountKind::breakage, "EUR", std::nullopt}; }

LedgerEntry debit(const Account& account, std::int64_t amount) {
  return LedgerEntry{account, Side::debit, amount};
}
LedgerEntry credit(const Account& account, std::int64_t amount) {
  return LedgerEntry{account, Side::credit, amount};
}

// A transaction moving `amount` from `from` (credited) to `to` (debited), for cus_… `customer`.
LedgerTransactionRecord movement(const std::string& id, const std::string& kind,
                                 const std::string& cause, const std::string& customer,
                                 const char* effective_at, const Account& to, const Account& from,
                                 std::int64_t amount, const TenantId& tenant = kTenant) {
  LedgerTransactionRecord t;
  t.tenant = tenant;
  t.id = id;
  t.kind = kind;
  t.cause = cause;
  t.customer = CustomerId(customer);
  t.currency = "EUR";
  t.effective_at = at(effective_at);
  t.recorded_at = at("2026-03-01T12:00:00Z");
  t.entries = {debit(to, amount), credit(from, amount)};
  return t;
}

// The ledger of the tests below: cus_1 buys 100.00 of credit (ltx_1), is invoiced 49.00 (ltx_2),
// pays 30.00 of it from the wallet (ltx_3) and 19.00 in cash (ltx_4); cus_2 is invoiced 25.00
// (ltx_5), at the same instant as cus_1's invoice.
std::vector<LedgerTransactionRecord> story(const TenantId& tenant = kTenant) {
  return {
      movement("ltx_1", "credit_grant", "grt_1", "cus_1", "2026-01-05T00:00:00Z", cash("cus_1"),
               wallet("cus_1"), 10000, tenant),
      movement("ltx_2", "invoice_finalized", "inv_1", "cus_1", "2026-02-01T00:00:00Z",
               receivable("cus_1"), revenue(), 4900, tenant),
      movement("ltx_3", "credit_draw", "inv_1", "cus_1", "2026-02-01T00:00:00Z", wallet("cus_1"),
               receivable("cus_1"), 3000, tenant),
      movement("ltx_4", "payment", "pay_1", "cus_1", "2026-02-10T00:00:00Z", cash("cus_1"),
               receivable("cus_1"), 1900, tenant),
      movement("ltx_5", "invoice_finalized", "inv_2", "cus_2", "2026-02-01T00:00:00Z",
               receivable("cus_2"), revenue(), 2500, tenant),
  };
}

std::vector<std::string> ids_of(const std::vector<LedgerTransactionRecord>& transactions) {
  std::vector<std::string> ids;
  for (const auto& t : transactions) ids.push_back(t.id);
  return ids;
}

struct Totals {
  std::string account;
  std::int64_t debits;
  std::int64_t credits;
  friend bool operator==(const Totals&, const Totals&) = default;
};
void PrintTo(const Totals& t, std::ostream* out) {
  *out << t.account << " " << t.debits << "/" << t.credits;
}
std::vector<Totals> totals_of(const std::vector<AccountBalance>& balances) {
  std::vector<Totals> out;
  for (const auto& b : balances) {
    out.push_back({ledger::account_id(b.account), b.debits_minor, b.credits_minor});
  }
  return out;
}

class LedgerConformance : public ::testing::TestWithParam<Backend> {
 protected:
  LedgerConformance() : database_(GetParam()) {}

  std::unique_ptr<Tx> write() { return database_.db().begin(TxMode::write); }
  std::unique_ptr<Tx> read() { return database_.db().begin(TxMode::read); }

  PostOutcome post(const LedgerTransactionRecord& t) {
    auto tx = write();
    const PostOutcome outcome = ledger::post(*tx, t);
    tx->commit();
    return outcome;
  }
  void post_story(const TenantId& tenant = kTenant) {
    for (const auto& t : story(tenant)) ASSERT_EQ(post(t), PostOutcome::posted) << t.id;
  }
  std::vector<Totals> balances(const TenantId& tenant,
                               const std::optional<CustomerId>& customer = std::nullopt) {
    auto tx = read();
    return totals_of(ledger::balances(*tx, tenant, customer));
  }
  std::int64_t rows(const std::string& table) {
    auto tx = read();
    return tx->query("SELECT COUNT(*) FROM " + table).at(0).integer(0);
  }
  std::optional<std::string> violation(const TenantId& tenant = kTenant) {
    auto tx = read();
    return ledger::first_violation(*tx, tenant);
  }
  std::vector<std::string> listed(const ledger::TransactionFilter& filter) {
    auto tx = read();
    return ids_of(ledger::transactions(*tx, kTenant, filter));
  }
  // Tampers with ten_a's rows; exactly one row changes.
  void tamper(const std::string& statement) {
    ASSERT_EQ(database_.raw_exec(statement), 1) << statement;
  }
  void expect_violation(const std::string& expected) {
    EXPECT_EQ(violation(), expected);
    EXPECT_EQ(violation(kOther), std::nullopt) << "another tenant's ledger is not affected";
  }

  TestDatabase database_;
};

const std::vector<Totals> kStoryBalances = {
    {"cash:EUR:cus_1", 11900, 0},
    {"prepaid_credit:EUR:cus_1", 3000, 10000},
    {"receivable:EUR:cus_1", 4900, 4900},
    {"receivable:EUR:cus_2", 2500, 0},
    {"revenue:EUR", 0, 7400},
};

TEST_P(LedgerConformance, PostedTransactionsReadBackWithTheirEntries) {
  post_story();
  LedgerTransactionRecord reversal =
      movement("ltx_6", "invoice_void", "inv_2", "cus_2", "2026-02-15T00:00:00Z", revenue(),
               receivable("cus_2"), 2500);
  reversal.corrects = "ltx_5";
  reversal.entries.push_back(debit(revenue(), 100));  // two postings to one account
  reversal.entries.push_back(credit(receivable("cus_2"), 100));
  reversal.entries[0].amount_minor = 2400;
  reversal.entries[1].amount_minor = 2400;
  ASSERT_EQ(post(reversal), PostOutcome::posted);

  auto tx = read();
  const auto found = ledger::find_by_cause(*tx, kTenant, "invoice_void", "inv_2");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->tenant, kTenant);
  EXPECT_EQ(found->id, "ltx_6");
  EXPECT_EQ(found->corrects, "ltx_5");
  EXPECT_EQ(found->customer, CustomerId("cus_2"));
  EXPECT_EQ(found->currency, "EUR");
  EXPECT_EQ(found->effective_at, at("2026-02-15T00:00:00Z"));
  EXPECT_EQ(found->recorded_at, at("2026-03-01T12:00:00Z"));
  ASSERT_EQ(found->entries.size(), 4u);
  const std::vector<std::tuple<std::string, Side, std::int64_t>> expected = {
      {"revenue:EUR", Side::debit, 2400},
      {"receivable:EUR:cus_2", Side::credit, 2400},
      {"revenue:EUR", Side::debit, 100},
      {"receivable:EUR:cus_2", Side::credit, 100}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(ledger::account_id(found->entries[i].account), std::get<0>(expected[i])) << i;
    EXPECT_EQ(found->entries[i].side, std::get<1>(expected[i])) << i;
    EXPECT_EQ(found->entries[i].amount_minor, std::get<2>(expected[i])) << i;
  }
  EXPECT_EQ(found->entries[1].account, receivable("cus_2"));
  const auto grant = ledger::find_by_cause(*tx, kTenant, "credit_grant", "grt_1");
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->corrects, std::nullopt);
  EXPECT_EQ(grant->entries[0].account, cash("cus_1"));
  EXPECT_EQ(grant->entries[1].account, wallet("cus_1"));
  EXPECT_FALSE(ledger::find_by_cause(*tx, kTenant, "credit_grant", "grt_2").has_value());
  // cus_2's receivable: 2500 invoiced, 2500 voided; revenue 7400 − 2500.
  EXPECT_EQ(balances(kTenant, CustomerId("cus_2")),
            (std::vector<Totals>{{"receivable:EUR:cus_2", 2500, 2500}}));
  EXPECT_EQ(ledger::balance(*tx, kTenant, revenue())->debits_minor, 2500);
  EXPECT_EQ(ledger::balance(*tx, kTenant, revenue())->credits_minor, 7400);
  EXPECT_EQ(violation(), std::nullopt);
}

TEST_P(LedgerConformance, BalancesPerCustomerAndForTheTenant) {
  post_story();
  EXPECT_EQ(balances(kTenant), kStoryBalances);
  EXPECT_EQ(balances(kTenant, CustomerId("cus_1")),
            (std::vector<Totals>{{"cash:EUR:cus_1", 11900, 0},
                                 {"prepaid_credit:EUR:cus_1", 3000, 10000},
                                 {"receivable:EUR:cus_1", 4900, 4900}}));
  EXPECT_TRUE(balances(kTenant, CustomerId("cus_3")).empty());
  auto tx = read();
  const auto held = ledger::balance(*tx, kTenant, wallet("cus_1"));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->account, wallet("cus_1"));
  // The wallet holds 100.00 − 30.00, read on its normal side.
  const auto eur = *domain::Currency::of("EUR");
  EXPECT_EQ(domain::ledger::balance_of(AccountKind::prepaid_credit,
                                       domain::from_minor_units(held->debits_minor, eur),
                                       domain::from_minor_units(held->credits_minor, eur))
                .value()
                .to_string(),
            "70.00");
  EXPECT_FALSE(ledger::balance(*tx, kTenant, wallet("cus_2")).has_value());
  EXPECT_EQ(ledger::size(*tx, kTenant).transactions, 5);
  EXPECT_EQ(ledger::size(*tx, kTenant).accounts, 5);
}

TEST_P(LedgerConformance, ACauseIsPostedOnceAndTheSecondWritesNothing) {
  post_story();
  const auto transactions = rows("ledger_transactions");
  const auto entries = rows("ledger_entries");
  // inv_1's finalization again, under a new id and another amount: refused whole.
  const auto again = movement("ltx_9", "invoice_finalized", "inv_1", "cus_1",
                              "2026-02-01T00:00:00Z", receivable("cus_1"), revenue(), 9900);
  auto tx = write();
  EXPECT_EQ(ledger::post(*tx, again), PostOutcome::already_posted);
  // The transaction goes on: the savepoint undid only the refused post.
  EXPECT_EQ(
      ledger::post(*tx, movement("ltx_10", "invoice_finalized", "inv_3", "cus_1",
                                 "2026-03-01T00:00:00Z", receivable("cus_1"), revenue(), 100)),
      PostOutcome::posted);
  tx->commit();
  EXPECT_EQ(rows("ledger_transactions"), transactions + 1);
  EXPECT_EQ(rows("ledger_entries"), entries + 2);
  auto check = read();
  EXPECT_EQ(ledger::find_by_cause(*check, kTenant, "invoice_finalized", "inv_1")->id, "ltx_2");
  EXPECT_EQ(ledger::balance(*check, kTenant, receivable("cus_1"))->debits_minor, 4900 + 100);
  EXPECT_EQ(ledger::balance(*check, kTenant, revenue())->credits_minor, 7400 + 100);
  EXPECT_EQ(violation(), std::nullopt);
}

// post_many (a billing run's chunk) writes a batch whole or not at all: a broken balance rule or
// a cause posted before anywhere in it refuses all of it; a batch of 150 (more than one multi-row
// INSERT) moves each account once by the sum of its entries.
TEST_P(LedgerConformance, ABatchIsPostedWholeOrNotAtAll) {
  post_story();  // the wallet holds 7000; cus_1 owes nothing
  const auto transactions = rows("ledger_transactions");
  const auto entries = rows("ledger_entries");
  const auto fine = movement("ltx_30", "invoice_finalized", "inv_30", "cus_2",
                             "2026-03-01T00:00:00Z", receivable("cus_2"), revenue(), 200);
  const auto overdraw = movement("ltx_31", "credit_draw", "inv_31", "cus_1", "2026-03-01T00:00:00Z",
                                 wallet("cus_1"), breakage(), 7001);
  const auto again = movement("ltx_32", "invoice_finalized", "inv_1", "cus_1",
                              "2026-03-01T00:00:00Z", receivable("cus_1"), revenue(), 100);
  const auto post_batch = [&](const std::vector<LedgerTransactionRecord>& batch) {
    auto tx = write();
    const PostOutcome outcome = ledger::post_many(*tx, batch);
    tx->commit();
    return outcome;
  };
  EXPECT_EQ(post_batch({fine, overdraw}), PostOutcome::limit_exceeded);
  EXPECT_EQ(post_batch({fine, again}), PostOutcome::already_posted);
  EXPECT_EQ(rows("ledger_transactions"), transactions);
  EXPECT_EQ(rows("ledger_entries"), entries);
  EXPECT_EQ(balances(kTenant), kStoryBalances);

  // An invoice of cus_1 and the draw paying it from the wallet, cus_2's, and 150 of a cent each
  // for cus_3: by hand, cus_1's receivable +100/+100, its wallet debits +100, revenue +300+150.
  std::vector<LedgerTransactionRecord> batch{
      movement("ltx_33", "invoice_finalized", "inv_33", "cus_1", "2026-03-01T00:00:00Z",
               receivable("cus_1"), revenue(), 100),
      movement("ltx_34", "credit_draw", "inv_33", "cus_1", "2026-03-01T00:00:00Z", wallet("cus_1"),
               receivable("cus_1"), 100),
      fine};
  for (int i = 0; i < 150; ++i) {
    batch.push_back(movement("ltx_c" + std::to_string(i), "invoice_finalized",
                             "inv_c" + std::to_string(i), "cus_3", "2026-03-01T00:00:00Z",
                             receivable("cus_3"), revenue(), 1));
  }
  EXPECT_EQ(post_batch(batch), PostOutcome::posted);
  EXPECT_EQ(rows("ledger_transactions"), transactions + 153);
  EXPECT_EQ(rows("ledger_entries"), entries + 306);
  EXPECT_EQ(balances(kTenant), (std::vector<Totals>{
                                   {"cash:EUR:cus_1", 11900, 0},
                                   {"prepaid_credit:EUR:cus_1", 3100, 10000},
                                   {"receivable:EUR:cus_1", 5000, 5000},
                                   {"receivable:EUR:cus_2", 2700, 0},
                                   {"receivable:EUR:cus_3", 150, 0},
                                   {"revenue:EUR", 0, 7400 + 300 + 150},
                               }));
  EXPECT_EQ(violation(), std::nullopt);
}

// A batch over more accounts than one multi-row statement moves (450 receivables and the
// revenue account): every account gets its own sum. Then a batch whose only overflowing account
// (cus_zzz, near 2^63 − 1, 451st of 452 in id order) is moved by its last statement is refused
// whole: the accounts its earlier statements moved are as they were. Amounts by hand: customer i
// owes i + 1 cents; revenue 1 + 2 + … + 450 = 101,475.
TEST_P(LedgerConformance, ABatchMovesAccountsBeyondOneStatementAndIsRefusedWhole) {
  ASSERT_EQ(post(movement("ltx_big", "invoice_finalized", "inv_big", "cus_zzz",
                          "2026-01-01T00:00:00Z", receivable("cus_zzz"), breakage(), kInt64Max)),
            PostOutcome::posted);
  const auto customer = [](int i) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "cus_%03d", i);
    return std::string(buffer);
  };
  std::vector<LedgerTransactionRecord> batch;
  std::vector<Totals> expected;
  for (int i = 0; i < 450; ++i) {
    batch.push_back(movement("ltx_" + customer(i), "invoice_finalized", "inv_" + customer(i),
                             customer(i), "2026-03-01T00:00:00Z", receivable(customer(i)),
                             revenue(), i + 1));
    expected.push_back({"receivable:EUR:" + customer(i), i + 1, 0});
  }
  const auto post_batch = [&](const std::vector<LedgerTransactionRecord>& transactions) {
    auto tx = write();
    const PostOutcome outcome = ledger::post_many(*tx, transactions);
    tx->commit();
    return outcome;
  };
  std::vector<LedgerTransactionRecord> overflowing = batch;
  for (auto& t : overflowing) t.cause += "_again";
  overflowing.push_back(movement("ltx_more", "invoice_finalized", "inv_more", "cus_zzz",
                                 "2026-03-01T00:00:00Z", receivable("cus_zzz"), revenue(), 1));
  EXPECT_EQ(post_batch(batch), PostOutcome::posted);
  expected.insert(expected.begin(), {"breakage:EUR", 0, kInt64Max});
  expected.push_back({"receivable:EUR:cus_zzz", kInt64Max, 0});
  expected.push_back({"revenue:EUR", 0, 101475});
  EXPECT_EQ(balances(kTenant), expected);
  for (auto& t : overflowing) t.id += "_b";
  EXPECT_EQ(post_batch(overflowing), PostOutcome::limit_exceeded);
  EXPECT_EQ(balances(kTenant), expected);
  EXPECT_EQ(rows("ledger_transactions"), 451);
  EXPECT_EQ(violation(), std::nullopt);
}

TEST_P(LedgerConformance, AWalletNeverGoesBelowZero) {
  post_story();  // the wallet holds 7000
  const auto transactions = rows("ledger_transactions");
  const auto entries = rows("ledger_entries");
  const auto overdraw = movement("ltx_20", "credit_draw", "inv_7", "cus_1", "2026-03-01T00:00:00Z",
                                 wallet("cus_1"), receivable("cus_1"), 7001);
  // An invoice and its draw in one transaction: its row and entries are written before the
  // wallet refuses, and the savepoint takes them back.
  LedgerTransactionRecord invoice_and_draw = overdraw;
  invoice_and_draw.entries = {debit(receivable("cus_1"), 7001), credit(revenue(), 7001),
                              debit(wallet("cus_1"), 7001), credit(receivable("cus_1"), 7001)};
  EXPECT_EQ(post(invoice_and_draw), PostOutcome::limit_exceeded);
  EXPECT_EQ(post(overdraw), PostOutcome::limit_exceeded);
  EXPECT_EQ(rows("ledger_transactions"), transactions);
  EXPECT_EQ(rows("ledger_entries"), entries);
  EXPECT_EQ(balances(kTenant), kStoryBalances);
  {
    auto tx = read();
    EXPECT_FALSE(ledger::find_by_cause(*tx, kTenant, "credit_draw", "inv_7").has_value());
  }
  // A customer without a wallet draws from none: not even the empty account stays.
  EXPECT_EQ(post(movement("ltx_21", "credit_draw", "inv_8", "cus_2", "2026-03-01T00:00:00Z",
                          wallet("cus_2"), receivable("cus_2"), 1)),
            PostOutcome::limit_exceeded);
  EXPECT_EQ(rows("ledger_accounts"), 5);
  // Exactly what it holds leaves it (the grant expires); then nothing more.
  EXPECT_EQ(post(movement("ltx_23", "credit_expiry", "grt_1", "cus_1", "2026-04-01T00:00:00Z",
                          wallet("cus_1"), breakage(), 7000)),
            PostOutcome::posted);
  EXPECT_EQ(post(movement("ltx_24", "credit_expiry", "grt_2", "cus_1", "2026-04-01T00:00:00Z",
                          wallet("cus_1"), breakage(), 1)),
            PostOutcome::limit_exceeded);
  EXPECT_EQ(balances(kTenant, CustomerId("cus_1"))[1],
            (Totals{"prepaid_credit:EUR:cus_1", 10000, 10000}));
  EXPECT_EQ(violation(), std::nullopt);
}

TEST_P(LedgerConformance, AReceivableIsNeverPaidBeyondItsDebits) {
  post_story();  // cus_2 owes 2500
  const auto transactions = rows("ledger_transactions");
  EXPECT_EQ(post(movement("ltx_30", "payment", "pay_2", "cus_2", "2026-02-20T00:00:00Z",
                          cash("cus_2"), receivable("cus_2"), 2501)),
            PostOutcome::limit_exceeded);
  EXPECT_EQ(rows("ledger_transactions"), transactions);
  EXPECT_EQ(balances(kTenant), kStoryBalances);
  EXPECT_EQ(post(movement("ltx_31", "payment", "pay_3", "cus_2", "2026-02-20T00:00:00Z",
                          cash("cus_2"), receivable("cus_2"), 2500)),
            PostOutcome::posted);
  EXPECT_EQ(post(movement("ltx_32", "payment", "pay_4", "cus_2", "2026-02-21T00:00:00Z",
                          cash("cus_2"), receivable("cus_2"), 1)),
            PostOutcome::limit_exceeded);
  EXPECT_EQ(
      balances(kTenant, CustomerId("cus_2")),
      (std::vector<Totals>{{"cash:EUR:cus_2", 2500, 0}, {"receivable:EUR:cus_2", 2500, 2500}}));
}

// An account's totals are int64 minor units: a post that would carry one past 2^63 − 1 is refused
// whole instead of wrapping (or, on SQLite, turning into a floating-point REAL).
TEST_P(LedgerConformance, TotalsNeverWrapPastInt64) {
  ASSERT_EQ(post(movement("ltx_40", "invoice_finalized", "inv_40", "cus_9", "2026-01-01T00:00:00Z",
                          receivable("cus_9"), revenue(), kInt64Max)),
            PostOutcome::posted);
  EXPECT_EQ(violation(), std::nullopt) << "a total of 2^63 − 1 verifies";
  EXPECT_EQ(post(movement("ltx_41", "invoice_finalized", "inv_41", "cus_9", "2026-01-02T00:00:00Z",
                          receivable("cus_9"), revenue(), 1)),
            PostOutcome::limit_exceeded);
  // Two entries on one account whose sum alone passes int64.
  LedgerTransactionRecord twice =
      movement("ltx_42", "invoice_finalized", "inv_42", "cus_8", "2026-01-02T00:00:00Z",
               receivable("cus_8"), revenue(), kInt64Max);
  twice.entries.push_back(debit(receivable("cus_8"), 1));
  twice.entries.push_back(credit(revenue(), 1));
  EXPECT_EQ(post(twice), PostOutcome::limit_exceeded);
  EXPECT_EQ(rows("ledger_transactions"), 1);
  EXPECT_EQ(balances(kTenant), (std::vector<Totals>{{"receivable:EUR:cus_9", kInt64Max, 0},
                                                    {"revenue:EUR", 0, kInt64Max}}));
  // Paying it back to zero and invoicing again is fine: only the running totals are bounded.
  EXPECT_EQ(post(movement("ltx_43", "payment", "pay_43", "cus_9", "2026-01-03T00:00:00Z",
                          cash("cus_9"), receivable("cus_9"), kInt64Max)),
            PostOutcome::posted);
  EXPECT_EQ(violation(), std::nullopt);
  // Tampered entries whose sums pass int64 are told, not an overflow error.
  tamper(
      "INSERT INTO ledger_entries (tenant_id, transaction_id, entry_index, account_id, side, "
      "amount) VALUES ('ten_a', 'ltx_43', 2, 'cash:EUR:cus_9', 'debit', 10)");
  EXPECT_EQ(violation(),
            "transaction ltx_43 does not balance: debits 9223372036854775817, credits "
            "9223372036854775807 (EUR minor units)");
  tamper(
      "UPDATE ledger_entries SET side = 'credit' WHERE tenant_id = 'ten_a' AND transaction_id = "
      "'ltx_43' AND entry_index = 2");
  tamper(
      "INSERT INTO ledger_entries (tenant_id, transaction_id, entry_index, account_id, side, "
      "amount) VALUES ('ten_a', 'ltx_43', 3, 'cash:EUR:cus_9', 'debit', 10)");
  EXPECT_EQ(violation(),
            "account cash:EUR:cus_9: debits 9223372036854775807, its debit entries sum to "
            "9223372036854775817");
}

TEST_P(LedgerConformance, TransactionsFilterByCustomerAndTimeInCursorPages) {
  post_story();
  EXPECT_EQ(listed({}), (std::vector<std::string>{"ltx_1", "ltx_2", "ltx_3", "ltx_5", "ltx_4"}));
  EXPECT_EQ(listed({.customer = CustomerId("cus_1")}),
            (std::vector<std::string>{"ltx_1", "ltx_2", "ltx_3", "ltx_4"}));
  EXPECT_EQ(listed({.customer = CustomerId("cus_2")}), (std::vector<std::string>{"ltx_5"}));
  // [from, to): the payment of 2026-02-10 is outside.
  EXPECT_EQ(listed({.from = at("2026-02-01T00:00:00Z"), .to = at("2026-02-10T00:00:00Z")}),
            (std::vector<std::string>{"ltx_2", "ltx_3", "ltx_5"}));
  EXPECT_EQ(listed({.customer = CustomerId("cus_1"), .from = at("2026-02-01T00:00:01Z")}),
            (std::vector<std::string>{"ltx_4"}));
  // Pages of two; the cursor is the last (effective_at, id) seen, so ltx_3 and ltx_5 of one
  // instant are split by id.
  ledger::TransactionFilter page{.limit = 2};
  std::vector<std::vector<std::string>> pages;
  for (int i = 0; i < 4; ++i) {
    auto tx = read();
    const auto found = ledger::transactions(*tx, kTenant, page);
    pages.push_back(ids_of(found));
    if (found.empty()) break;
    page.after = std::make_pair(found.back().effective_at, found.back().id);
  }
  EXPECT_EQ(pages, (std::vector<std::vector<std::string>>{
                       {"ltx_1", "ltx_2"}, {"ltx_3", "ltx_5"}, {"ltx_4"}, {}}));
  auto tx = read();
  const auto listed_entries = ledger::transactions(*tx, kTenant, {.limit = 1});
  ASSERT_EQ(listed_entries.size(), 1u);
  ASSERT_EQ(listed_entries[0].entries.size(), 2u);
  EXPECT_EQ(listed_entries[0].entries[0].account, cash("cus_1"));
  EXPECT_EQ(listed_entries[0].entries[0].side, Side::debit);
  EXPECT_EQ(listed_entries[0].entries[0].amount_minor, 10000);
  EXPECT_EQ(listed_entries[0].entries[1].account, wallet("cus_1"));
}

TEST_P(LedgerConformance, AnotherTenantsLedgerNeverShows) {
  post_story();
  // The same ids, kinds and causes in another tenant are its own.
  auto other = story(kOther);
  other.resize(2);
  for (const auto& t : other) ASSERT_EQ(post(t), PostOutcome::posted) << t.id;
  EXPECT_EQ(balances(kTenant), kStoryBalances);
  EXPECT_EQ(balances(kOther), (std::vector<Totals>{{"cash:EUR:cus_1", 10000, 0},
                                                   {"prepaid_credit:EUR:cus_1", 0, 10000},
                                                   {"receivable:EUR:cus_1", 4900, 0},
                                                   {"revenue:EUR", 0, 4900}}));
  EXPECT_EQ(listed({.customer = CustomerId("cus_1")}),
            (std::vector<std::string>{"ltx_1", "ltx_2", "ltx_3", "ltx_4"}));
  auto tx = read();
  EXPECT_EQ(ids_of(ledger::transactions(*tx, kOther, {})),
            (std::vector<std::string>{"ltx_1", "ltx_2"}));
  EXPECT_FALSE(ledger::find_by_cause(*tx, kOther, "payment", "pay_1").has_value());
  EXPECT_EQ(ledger::size(*tx, kOther).transactions, 2);
  EXPECT_TRUE(ledger::balances(*tx, TenantId("ten_c"), std::nullopt).empty());
  EXPECT_EQ(ledger::first_violation(*tx, TenantId("ten_c")), std::nullopt);
  EXPECT_EQ(violation(kOther), std::nullopt);
  EXPECT_EQ(violation(), std::nullopt);
}

// first_violation reads a page of transactions, then of accounts, at a time: a ledger one more
// than a page long (501 invoices of 1.00, each to its own customer: 501 receivables and revenue)
// is read to its last page.
TEST_P(LedgerConformance, FirstViolationReadsPastItsFirstPage) {
  const std::size_t count = limits::ledger_verify_page_size + 1;
  {
    auto tx = write();
    for (std::size_t i = 0; i < count; ++i) {
      char suffix[8];
      std::snprintf(suffix, sizeof suffix, "%03zu", i);
      const std::string customer = std::string("cus_") + suffix;
      ASSERT_EQ(
          ledger::post(*tx, movement(std::string("ltx_") + suffix, "invoice_finalized",
                                     std::string("inv_") + suffix, customer, "2026-02-01T00:00:00Z",
                                     receivable(customer), revenue(), 100)),
          PostOutcome::posted);
    }
    tx->commit();
  }
  EXPECT_EQ(violation(), std::nullopt);
  tamper(
      "UPDATE ledger_accounts SET credits = 50000 WHERE tenant_id = 'ten_a' AND account_id = "
      "'revenue:EUR'");
  EXPECT_EQ(violation(), "account revenue:EUR: credits 50000, its credit entries sum to 50100");
  tamper(
      "UPDATE ledger_entries SET amount = 99 WHERE tenant_id = 'ten_a' AND transaction_id = "
      "'ltx_500' AND entry_index = 1");
  EXPECT_EQ(violation(),
            "transaction ltx_500 does not balance: debits 100, credits 99 (EUR minor "
            "units)");
}

// ---- first_violation: each tampering by raw SQL is named; the other tenant's ledger stays clean.

class LedgerTampering : public LedgerConformance {
 protected:
  void SetUp() override {
    post_story();
    post_story(kOther);
    ASSERT_EQ(violation(), std::nullopt);
  }
};

TEST_P(LedgerTampering, AnEntrysAmountChanged) {
  tamper(
      "UPDATE ledger_entries SET amount = 5000 WHERE tenant_id = 'ten_a' AND transaction_id = "
      "'ltx_2' AND entry_index = 0");
  expect_violation(
      "transaction ltx_2 does not balance: debits 5000, credits 4900 (EUR minor units)");
}

TEST_P(LedgerTampering, AnAccountsTotalsChanged) {
  tamper(
      "UPDATE ledger_accounts SET credits = 7500 WHERE tenant_id = 'ten_a' AND account_id = "
      "'revenue:EUR'");
  expect_violation("account revenue:EUR: credits 7500, its credit entries sum to 7400");
}

TEST_P(LedgerTampering, AWalletTopUpWithoutEntries) {
  tamper(
      "UPDATE ledger_accounts SET credits = 20000 WHERE tenant_id = 'ten_a' AND account_id = "
      "'prepaid_credit:EUR:cus_1'");
  expect_violation(
      "account prepaid_credit:EUR:cus_1: credits 20000, its credit entries sum to 10000");
}

TEST_P(LedgerTampering, AnEntryDeleted) {
  tamper(
      "DELETE FROM ledger_entries WHERE tenant_id = 'ten_a' AND transaction_id = 'ltx_4' AND "
      "entry_index = 1");
  expect_violation("transaction ltx_4 has 1 entries: a transaction has two or more");
}

// The invoice's revenue moved to a USD account, both accounts' totals adjusted to match: every
// account agrees with its entries and the transaction balances, but across currencies.
TEST_P(LedgerTampering, AnEntryOnAnAccountOfAnotherCurrency) {
  tamper(
      "INSERT INTO ledger_accounts (tenant_id, account_id, kind, currency, customer_id, debits, "
      "credits, rule, created_at) VALUES ('ten_a', 'revenue:USD', 'revenue', 'USD', NULL, 0, "
      "4900, 'none', 0)");
  tamper(
      "UPDATE ledger_entries SET account_id = 'revenue:USD' WHERE tenant_id = 'ten_a' AND "
      "transaction_id = 'ltx_2' AND entry_index = 1");
  tamper(
      "UPDATE ledger_accounts SET credits = 2500 WHERE tenant_id = 'ten_a' AND account_id = "
      "'revenue:EUR'");
  expect_violation(
      "transaction ltx_2 entry 1 (account revenue:USD): the account is in USD, the transaction in "
      "EUR");
}

TEST_P(LedgerTampering, AnEntryOnAMissingAccount) {
  tamper(
      "UPDATE ledger_entries SET account_id = 'revenue:GBP' WHERE tenant_id = 'ten_a' AND "
      "transaction_id = 'ltx_5' AND entry_index = 1");
  expect_violation("transaction ltx_5 entry 1 (account revenue:GBP): the account does not exist");
}

TEST_P(LedgerTampering, AnAccountsKindChanged) {
  tamper(
      "UPDATE ledger_accounts SET kind = 'breakage' WHERE tenant_id = 'ten_a' AND account_id = "
      "'revenue:EUR'");
  expect_violation("account revenue:EUR: its kind, currency and customer make breakage:EUR");
}

TEST_P(LedgerTampering, ATransactionWithoutEntries) {
  tamper(
      "INSERT INTO ledger_transactions (tenant_id, transaction_id, kind, cause, corrects, "
      "customer_id, currency, effective_at, recorded_at) VALUES ('ten_a', 'ltx_0', 'payment', "
      "'pay_0', NULL, 'cus_1', 'EUR', 0, 0)");
  expect_violation("transaction ltx_0 has 0 entries: a transaction has two or more");
}

// The schema refuses what would break a balance rule, whoever writes: raw SQL too.
TEST_P(LedgerTampering, TheSchemaRefusesABrokenBalanceRule) {
  for (const char* statement :
       {"UPDATE ledger_accounts SET debits = 10001 WHERE tenant_id = 'ten_a' AND account_id = "
        "'prepaid_credit:EUR:cus_1'",
        "UPDATE ledger_accounts SET credits = 4901 WHERE tenant_id = 'ten_a' AND account_id = "
        "'receivable:EUR:cus_1'",
        "UPDATE ledger_accounts SET rule = 'none' WHERE tenant_id = 'ten_a' AND account_id = "
        "'prepaid_credit:EUR:cus_1'",
        "UPDATE ledger_accounts SET debits = -1 WHERE tenant_id = 'ten_a' AND account_id = "
        "'revenue:EUR'",
        "UPDATE ledger_entries SET amount = 0 WHERE tenant_id = 'ten_a' AND transaction_id = "
        "'ltx_1' AND entry_index = 0"}) {
    try {
      database_.raw_exec(statement);
      ADD_FAILURE() << "accepted: " << statement;
    } catch (const StorageError& error) {
      EXPECT_EQ(error.kind(), StorageError::Kind::check_violation) << error.what();
    }
  }
  EXPECT_EQ(balances(kTenant), kStoryBalances);
}

// ---- PostgreSQL: two posts at once.

class LedgerRace : public LedgerConformance {};

// Two draws of 60.00 from a wallet of 100.00 at once, towards 200.00 owed: the second waits for
// the first's account row, then sees its committed totals and is refused.
TEST_P(LedgerRace, TheSecondDrawOfAWalletWaitsAndIsRefused) {
  ASSERT_EQ(post(movement("ltx_1", "credit_grant", "grt_1", "cus_1", "2026-01-05T00:00:00Z",
                          cash("cus_1"), wallet("cus_1"), 10000)),
            PostOutcome::posted);
  ASSERT_EQ(post(movement("ltx_0", "invoice_finalized", "inv_0", "cus_1", "2026-01-31T00:00:00Z",
                          receivable("cus_1"), revenue(), 20000)),
            PostOutcome::posted);
  auto hold = write();
  ASSERT_EQ(
      ledger::post(*hold, movement("ltx_2", "credit_draw", "inv_1", "cus_1", "2026-02-01T00:00:00Z",
                                   wallet("cus_1"), receivable("cus_1"), 6000)),
      PostOutcome::posted);
  auto second = std::async(std::launch::async, [&] {
    auto tx = write();
    const PostOutcome outcome =
        ledger::post(*tx, movement("ltx_3", "credit_draw", "inv_2", "cus_1", "2026-02-01T00:00:00Z",
                                   wallet("cus_1"), receivable("cus_1"), 6000));
    tx->commit();
    return outcome;
  });
  EXPECT_EQ(test::wait_for_transaction_waiters(*hold, 1), 1) << "the second draw did not wait";
  EXPECT_EQ(second.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  hold->commit();
  EXPECT_EQ(second.get(), PostOutcome::limit_exceeded);
  EXPECT_EQ(rows("ledger_transactions"), 3);
  EXPECT_EQ(balances(kTenant, CustomerId("cus_1")),
            (std::vector<Totals>{{"cash:EUR:cus_1", 10000, 0},
                                 {"prepaid_credit:EUR:cus_1", 6000, 10000},
                                 {"receivable:EUR:cus_1", 20000, 6000}}));
}

// The same cause posted twice at once: the second waits for the first's row and writes nothing.
TEST_P(LedgerRace, TheSameCausePostedTwiceAtOnceIsWrittenOnce) {
  const auto first = movement("ltx_1", "invoice_finalized", "inv_1", "cus_1",
                              "2026-02-01T00:00:00Z", receivable("cus_1"), revenue(), 4900);
  auto hold = write();
  ASSERT_EQ(ledger::post(*hold, first), PostOutcome::posted);
  auto second = std::async(std::launch::async, [&] {
    auto tx = write();
    auto again = first;
    again.id = "ltx_2";
    const PostOutcome outcome = ledger::post(*tx, again);
    tx->commit();
    return outcome;
  });
  EXPECT_EQ(test::wait_for_transaction_waiters(*hold, 1), 1) << "the second post did not wait";
  hold->commit();
  EXPECT_EQ(second.get(), PostOutcome::already_posted);
  EXPECT_EQ(rows("ledger_transactions"), 1);
  EXPECT_EQ(balances(kTenant),
            (std::vector<Totals>{{"receivable:EUR:cus_1", 4900, 0}, {"revenue:EUR", 0, 4900}}));
}

// A batch over many accounts reaches an account another transaction is moving: it waits for it
// (its accounts are locked in id order, as one-at-a-time posts lock them), then adds to the
// totals the other committed.
TEST_P(LedgerRace, ABatchWaitsForAnAccountAnotherPostHolds) {
  auto hold = write();
  ASSERT_EQ(
      ledger::post(*hold, movement("ltx_1", "invoice_finalized", "inv_1", "cus_150",
                                   "2026-02-01T00:00:00Z", receivable("cus_150"), revenue(), 1000)),
      PostOutcome::posted);
  auto batch = std::async(std::launch::async, [&] {
    std::vector<LedgerTransactionRecord> transactions;
    for (int i = 100; i < 400; ++i) {
      transactions.push_back(movement("ltx_b" + std::to_string(i), "invoice_finalized",
                                      "inv_b" + std::to_string(i), "cus_" + std::to_string(i),
                                      "2026-02-01T00:00:00Z",
                                      receivable("cus_" + std::to_string(i)), revenue(), 1));
    }
    auto tx = write();
    const PostOutcome outcome = ledger::post_many(*tx, transactions);
    tx->commit();
    return outcome;
  });
  EXPECT_EQ(test::wait_for_transaction_waiters(*hold, 1), 1) << "the batch did not wait";
  EXPECT_EQ(batch.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  hold->commit();
  EXPECT_EQ(batch.get(), PostOutcome::posted);
  EXPECT_EQ(rows("ledger_transactions"), 301);
  EXPECT_EQ(balances(kTenant, CustomerId("cus_150")),
            (std::vector<Totals>{{"receivable:EUR:cus_150", 1001, 0}}));
  const auto all = balances(kTenant);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back(), (Totals{"revenue:EUR", 0, 1300}));
  EXPECT_EQ(violation(), std::nullopt);
}

std::vector<Backend> postgres_backends() {
  auto backends = test::test_backends();
  std::erase(backends, Backend::sqlite);
  return backends;
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerConformance, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, LedgerTampering, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, LedgerRace, ::testing::ValuesIn(postgres_backends()),
                         test::backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LedgerRace);

}  // namespace
}  // namespace neruba::storage
