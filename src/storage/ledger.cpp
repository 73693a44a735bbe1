#include "storage/ledger.hpp"

#include <limits>
#include <map>
#include <span>

#include "common/assert.hpp"
#include "common/limits.hpp"
#include "domain/time.hpp"
#include "storage/columns.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::ledger {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;
using domain::ledger::Account;
using domain::ledger::AccountKind;
using domain::ledger::Side;
__extension__ using Int128 = __int128;

constexpr std::int64_t total_max = std::numeric_limits<std::int64_t>::max();

std::string_view side_name(Side side) { return side == Side::debit ? "debit" : "credit"; }

// The balance rule of an account's kind, stored beside it (migration v13 ties the two and checks
// the totals against it): TigerBeetle's account flags.
std::string_view rule_of(AccountKind kind) {
  switch (kind) {
    case AccountKind::prepaid_credit:
    case AccountKind::promotional_credit:
      return "debits_must_not_exceed_credits";  // a wallet never below zero
    case AccountKind::receivable:
      return "credits_must_not_exceed_debits";  // nothing paid beyond what is owed
    case AccountKind::cash:
    case AccountKind::promotions_expense:
    case AccountKind::revenue:
    case AccountKind::breakage:
      return "none";
  }
  return "none";
}

Account account_from(const Row& row, std::size_t kind, std::size_t currency, std::size_t customer) {
  const auto parsed = domain::ledger::parse_account_kind(row.text(kind));
  if (!parsed) {
    throw StorageError(StorageError::Kind::other,
                       "stored ledger account kind is unknown: " + row.text(kind));
  }
  return Account{*parsed, row.text(currency), row.optional_text(customer)};
}

// ---- post

// The entries' sums per account, in account id order: the order post locks the accounts in, so
// that two posts touching the same accounts never deadlock. Nullopt when a sum overflows.
struct AccountDelta {
  Account account;
  std::int64_t debits = 0;
  std::int64_t credits = 0;
};
std::optional<std::map<std::string, AccountDelta>> deltas_of(
    std::span<const LedgerTransactionRecord> transactions) {
  std::map<std::string, AccountDelta> deltas;
  for (const auto& t : transactions) {
    for (const auto& entry : t.entries) {
      auto& delta =
          deltas.try_emplace(account_id(entry.account), AccountDelta{entry.account}).first->second;
      std::int64_t& total = entry.side == Side::debit ? delta.debits : delta.credits;
      if (__builtin_add_overflow(total, entry.amount_minor, &total)) return std::nullopt;
    }
  }
  return deltas;
}

// What the caller promised (domain::ledger::check_transaction accepted it), checked again at the
// door: storage never writes an unbalanced transaction.
void assert_well_formed(const LedgerTransactionRecord& t) {
  NERUBA_ASSERT_MSG(t.entries.size() >= 2, "a ledger transaction has two entries or more");
  Int128 debits = 0;
  Int128 credits = 0;
  for (const auto& entry : t.entries) {
    NERUBA_ASSERT_MSG(entry.amount_minor > 0, "a ledger entry's amount is positive");
    NERUBA_ASSERT_MSG(entry.account.currency == t.currency,
                      "a ledger entry's account is in its transaction's currency");
    (entry.side == Side::debit ? debits : credits) += entry.amount_minor;
  }
  NERUBA_ASSERT_MSG(debits == credits, "a ledger transaction balances");
}

void insert_entries(Tx& tx, std::span<const LedgerTransactionRecord> transactions) {
  struct Item {
    const LedgerTransactionRecord* transaction;
    std::int64_t index;
  };
  std::vector<Item> items;
  for (const auto& t : transactions) {
    for (std::size_t i = 0; i < t.entries.size(); ++i) {
      items.push_back({&t, static_cast<std::int64_t>(i)});
    }
  }
  const std::int64_t written = sql::insert_rows<Item>(
      tx,
      "INSERT INTO ledger_entries (tenant_id, transaction_id, entry_index, account_id, side, "
      "amount)",
      "", 6, items, [&](const Item& item, std::vector<Param>& p) {
        const LedgerTransactionRecord& t = *item.transaction;
        const LedgerEntry& entry = t.entries[static_cast<std::size_t>(item.index)];
        p.emplace_back(TextRef{t.tenant.str()});
        p.emplace_back(TextRef{t.id});
        p.emplace_back(item.index);
        p.emplace_back(account_id(entry.account));
        p.emplace_back(std::string(side_name(entry.side)));
        p.emplace_back(entry.amount_minor);
      });
  NERUBA_ASSERT_MSG(written == static_cast<std::int64_t>(items.size()),
                    "a ledger entry row was not written");
}

// Adds each account's delta to its totals, creating the accounts that do not exist yet at zero
// first: a few statements for any number of accounts. False when a total would pass the int64
// range (the caller rolls back to its savepoint); a balance rule broken by the new totals is the
// schema's CHECK violation.
bool add_to_accounts(Tx& tx, const LedgerTransactionRecord& t,  // t: the batch's first
                     const std::map<std::string, AccountDelta>& deltas) {
  using Delta = std::pair<const std::string, AccountDelta>;
  std::vector<const Delta*> rows;
  std::vector<std::string> ids;
  rows.reserve(deltas.size());
  ids.reserve(deltas.size());
  for (const auto& delta : deltas) {
    rows.push_back(&delta);
    ids.push_back(delta.first);
  }
  // Not one upsert: both backends check an INSERT's CHECK constraints on the proposed row before
  // they look for a conflict, so a draw (debits only) would break a wallet's rule there.
  const std::int64_t created = sql::insert_rows<const Delta*>(
      tx,
      "INSERT INTO ledger_accounts (tenant_id, account_id, kind, currency, customer_id, debits, "
      "credits, rule, created_at)",
      " ON CONFLICT DO NOTHING", 9, rows, [&](const Delta* const& row, std::vector<Param>& p) {
        const Account& account = row->second.account;
        p.emplace_back(TextRef{t.tenant.str()});
        p.emplace_back(TextRef{row->first});
        p.emplace_back(std::string(domain::ledger::account_kind_name(account.kind)));
        p.emplace_back(TextRef{account.currency});
        p.emplace_back(columns::optional_text(account.customer));
        p.emplace_back(std::int64_t{0});
        p.emplace_back(std::int64_t{0});
        p.emplace_back(std::string(rule_of(account.kind)));
        p.emplace_back(to_unix_micros(t.recorded_at));
      });
  (void)created;  // the accounts that exist already are skipped here and moved below
  if (tx.dialect() == Dialect::postgres && ids.size() > 1) {
    // Locked in account id order before they are moved (a joined UPDATE locks in the order its
    // plan visits rows): two posts that share accounts wait for each other, never deadlock.
    sql::query_in(tx, "SELECT account_id FROM ledger_accounts WHERE tenant_id = $1 AND account_id",
                  " ORDER BY account_id FOR NO KEY UPDATE", {t.tenant.str()}, ids,
                  [](const Rows&) {});
  }
  // The guards keep each sum within int64 (SQLite would turn an overflowing sum into a REAL,
  // PostgreSQL raise an error that aborts the transaction); on PostgreSQL the UPDATE waits for a
  // concurrent post of an account and then adds to, and checks, the totals it committed.
  constexpr std::size_t update_chunk = 200;
  std::vector<Param> params;
  for (std::size_t start = 0; start < rows.size(); start += update_chunk) {
    const std::size_t count = std::min(update_chunk, rows.size() - start);
    std::string statement =
        "WITH v (account_id, debits, credits, debits_max, credits_max) AS (VALUES ";
    params.clear();
    params.emplace_back(TextRef{t.tenant.str()});
    for (std::size_t i = start; i < start + count; ++i) {
      const AccountDelta& delta = rows[i]->second;
      const auto next = [&]() { return "$" + std::to_string(params.size()); };
      statement += i == start ? "(" : ", (";
      params.emplace_back(TextRef{rows[i]->first});
      statement += next();
      for (const std::int64_t value :
           {delta.debits, delta.credits, total_max - delta.debits, total_max - delta.credits}) {
        params.emplace_back(value);
        statement += ", CAST(" + next() + " AS BIGINT)";
      }
      statement += ")";
    }
    statement +=
        ") UPDATE ledger_accounts SET debits = ledger_accounts.debits + v.debits, credits = "
        "ledger_accounts.credits + v.credits FROM v WHERE ledger_accounts.tenant_id = $1 AND "
        "ledger_accounts.account_id = v.account_id AND ledger_accounts.debits <= v.debits_max AND "
        "ledger_accounts.credits <= v.credits_max";
    if (tx.exec(statement, params) != static_cast<std::int64_t>(count)) return false;
  }
  return true;
}

// ---- reads

constexpr std::string_view transaction_columns =
    "transaction_id, kind, cause, corrects, customer_id, currency, effective_at, recorded_at";

LedgerTransactionRecord transaction_from_row(const TenantId& tenant, const Row& row) {
  LedgerTransactionRecord t;
  t.tenant = tenant;
  t.id = row.text(0);
  t.kind = row.text(1);
  t.cause = row.text(2);
  t.corrects = row.optional_text(3);
  if (!row.is_null(4)) t.customer = CustomerId(row.text(4));
  t.currency = row.text(5);
  t.effective_at = from_unix_micros(row.integer(6));
  t.recorded_at = from_unix_micros(row.integer(7));
  return t;
}

// Reads the transactions of `rows` with their entries (one query for all of them).
std::vector<LedgerTransactionRecord> with_entries(Tx& tx, const TenantId& tenant,
                                                  const Rows& rows) {
  std::vector<LedgerTransactionRecord> out;
  if (rows.empty()) return out;
  out.reserve(rows.size());
  std::map<std::string, std::size_t> position;
  std::vector<Param> params{tenant.str()};
  std::string in_list;
  for (const auto& row : rows) {
    out.push_back(transaction_from_row(tenant, row));
    position.emplace(out.back().id, out.size() - 1);
    params.emplace_back(out.back().id);
    in_list += (in_list.empty() ? "$" : ", $") + std::to_string(params.size());
  }
  const auto entries = tx.query(
      "SELECT e.transaction_id, e.side, e.amount, a.kind, a.currency, a.customer_id FROM "
      "ledger_entries e JOIN ledger_accounts a ON a.tenant_id = e.tenant_id AND a.account_id = "
      "e.account_id WHERE e.tenant_id = $1 AND e.transaction_id IN (" +
          in_list + ") ORDER BY e.transaction_id, e.entry_index",
      params);
  for (const auto& row : entries) {
    out[position.at(row.text(0))].entries.push_back(
        LedgerEntry{account_from(row, 3, 4, 5), row.text(1) == "debit" ? Side::debit : Side::credit,
                    row.integer(2)});
  }
  return out;
}

AccountBalance balance_from_row(const Row& row) {
  return AccountBalance{account_from(row, 0, 1, 2), row.integer(3), row.integer(4)};
}

// ---- first_violation

std::string text_of(Int128 value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  std::string digits;
  for (; value != 0; value /= 10) {
    const int digit = static_cast<int>(value % 10);
    digits.push_back(static_cast<char>('0' + (digit < 0 ? -digit : digit)));
  }
  if (negative) digits.push_back('-');
  return {digits.rbegin(), digits.rend()};
}

// One transaction's entries as verify reads them.
struct TransactionCheck {
  std::string id;
  std::string currency;
  std::size_t entries = 0;
  Int128 debits = 0;
  Int128 credits = 0;
  std::optional<std::string> violation;  // the first of its entries'
};

// Columns: transaction_id, currency, entry_index, account_id, side, amount, the account's currency.
std::optional<std::string> entry_violation(const Row& row, const TransactionCheck& t) {
  const std::string where =
      "transaction " + t.id + " entry " + row.text(2) + " (account " + row.text(3) + ")";
  if (row.integer(5) <= 0) return where + ": amount " + row.text(5) + " is not positive";
  if (row.text(4) != "debit" && row.text(4) != "credit") {
    return where + ": side '" + row.text(4) + "' is neither debit nor credit";
  }
  if (row.is_null(6)) return where + ": the account does not exist";
  if (row.text(6) != t.currency) {
    return where + ": the account is in " + row.text(6) + ", the transaction in " + t.currency;
  }
  return std::nullopt;
}

std::optional<std::string> transaction_violation(const TransactionCheck& t) {
  if (t.violation) return t.violation;
  if (t.entries < 2) {
    return "transaction " + t.id + " has " + std::to_string(t.entries) +
           " entries: a transaction has two or more";
  }
  if (t.debits != t.credits) {
    return "transaction " + t.id + " does not balance: debits " + text_of(t.debits) + ", credits " +
           text_of(t.credits) + " (" + t.currency + " minor units)";
  }
  return std::nullopt;
}

// Transactions in id order, a page at a time, each with its entries and their accounts'
// currencies (one statement a page, so one snapshot however the tenant's ledger grows meanwhile).
std::optional<std::string> first_transaction_violation(Tx& tx, const TenantId& tenant) {
  const auto page_size = static_cast<std::int64_t>(limits::ledger_verify_page_size);
  std::string after;
  for (;;) {
    const auto rows = tx.query(
        "WITH page AS (SELECT transaction_id, currency FROM ledger_transactions WHERE tenant_id = "
        "$1 AND transaction_id > $2 ORDER BY transaction_id LIMIT $3) SELECT p.transaction_id, "
        "p.currency, e.entry_index, e.account_id, e.side, e.amount, a.currency FROM page p LEFT "
        "JOIN ledger_entries e ON e.tenant_id = $1 AND e.transaction_id = p.transaction_id LEFT "
        "JOIN ledger_accounts a ON a.tenant_id = $1 AND a.account_id = e.account_id ORDER BY "
        "p.transaction_id, e.entry_index",
        {tenant.str(), after, page_size});
    if (rows.empty()) return std::nullopt;
    std::int64_t read = 0;
    TransactionCheck current;
    for (const auto& row : rows) {
      if (read == 0 || current.id != row.text(0)) {
        if (read > 0) {
          if (auto violation = transaction_violation(current)) return violation;
        }
        current = TransactionCheck{row.text(0), row.text(1)};
        ++read;
      }
      if (row.is_null(2)) continue;  // a transaction without entries
      ++current.entries;
      if (!current.violation) current.violation = entry_violation(row, current);
      (row.text(4) == "debit" ? current.debits : current.credits) += row.integer(5);
    }
    if (auto violation = transaction_violation(current)) return violation;
    if (read < page_size) return std::nullopt;
    after = current.id;
  }
}

// A sum of amounts read as its high and low 32 bits (columns `high` and `high + 1`, NULL when
// there were none): SQLite's SUM fails past int64, and a tampered account may sum past it.
Int128 split_sum(const Row& row, std::size_t high) {
  if (row.is_null(high)) return 0;
  return (static_cast<Int128>(row.integer(high)) << 32) + row.integer(high + 1);
}

// Columns: account_id, kind, currency, customer_id, rule, debits, credits, then the split sums
// of its debit entries and of its credit entries.
std::optional<std::string> account_violation(const Row& row) {
  const std::string where = "account " + row.text(0);
  const auto kind = domain::ledger::parse_account_kind(row.text(1));
  if (!kind) return where + ": kind '" + row.text(1) + "' is unknown";
  const Account account{*kind, row.text(2), row.optional_text(3)};
  if (account_id(account) != row.text(0)) {
    return where + ": its kind, currency and customer make " + account_id(account);
  }
  if (!domain::Currency::of(account.currency)) return where + ": its currency is unknown";
  if (domain::ledger::is_customer_account(*kind) != account.customer.has_value()) {
    return where + (account.customer ? ": a tenant account with a customer"
                                     : ": a customer's account without a customer");
  }
  const std::string_view rule = rule_of(*kind);
  if (row.text(4) != rule)
    return where + ": rule " + row.text(4) + ", its kind's is " + std::string(rule);
  const std::int64_t debits = row.integer(5);
  const std::int64_t credits = row.integer(6);
  const Int128 entry_debits = split_sum(row, 7);
  const Int128 entry_credits = split_sum(row, 9);
  if (debits != entry_debits) {
    return where + ": debits " + std::to_string(debits) + ", its debit entries sum to " +
           text_of(entry_debits);
  }
  if (credits != entry_credits) {
    return where + ": credits " + std::to_string(credits) + ", its credit entries sum to " +
           text_of(entry_credits);
  }
  if (rule == "debits_must_not_exceed_credits" && debits > credits) {
    return where + ": debits " + std::to_string(debits) + " exceed credits " +
           std::to_string(credits) + " (a credit wallet below zero)";
  }
  if (rule == "credits_must_not_exceed_debits" && credits > debits) {
    return where + ": credits " + std::to_string(credits) + " exceed debits " +
           std::to_string(debits) + " (paid beyond what is owed)";
  }
  return std::nullopt;
}

// Accounts in id order, a page at a time, each with the sums of its entries (one statement a
// page).
std::optional<std::string> first_account_violation(Tx& tx, const TenantId& tenant) {
  const auto page_size = static_cast<std::int64_t>(limits::ledger_verify_page_size);
  std::string after;
  for (;;) {
    const auto rows = tx.query(
        "WITH page AS (SELECT account_id, kind, currency, customer_id, rule, debits, credits FROM "
        "ledger_accounts WHERE tenant_id = $1 AND account_id > $2 ORDER BY account_id LIMIT $3) "
        "SELECT p.account_id, p.kind, p.currency, p.customer_id, p.rule, p.debits, p.credits, "
        "SUM(CASE WHEN e.side = 'debit' THEN e.amount >> 32 END), SUM(CASE WHEN e.side = 'debit' "
        "THEN e.amount & 4294967295 END), SUM(CASE WHEN e.side = 'credit' THEN e.amount >> 32 "
        "END), SUM(CASE WHEN e.side = 'credit' THEN e.amount & 4294967295 END) FROM page p LEFT "
        "JOIN ledger_entries e ON e.tenant_id = $1 AND e.account_id = p.account_id GROUP BY "
        "p.account_id, p.kind, p.currency, p.customer_id, p.rule, p.debits, p.credits ORDER BY "
        "p.account_id",
        {tenant.str(), after, page_size});
    for (const auto& row : rows) {
      if (auto violation = account_violation(row)) return violation;
    }
    if (rows.size() < static_cast<std::size_t>(page_size)) return std::nullopt;
    after = rows.back().text(0);
  }
}

}  // namespace

std::string account_id(const Account& account) {
  std::string id(domain::ledger::account_kind_name(account.kind));
  id += ':';
  id += account.currency;
  if (account.customer) {
    id += ':';
    id += *account.customer;
  }
  return id;
}

PostOutcome post(Tx& tx, const LedgerTransactionRecord& transaction) {
  return post_many(tx, std::span<const LedgerTransactionRecord>(&transaction, 1));
}

PostOutcome post_many(Tx& tx, std::span<const LedgerTransactionRecord> transactions) {
  if (transactions.empty()) return PostOutcome::posted;
  const LedgerTransactionRecord& first = transactions.front();
  for (const auto& t : transactions) {
    assert_well_formed(t);
    NERUBA_ASSERT_MSG(t.tenant == first.tenant && t.recorded_at == first.recorded_at,
                      "a batch of ledger transactions is one tenant's, recorded at one instant");
  }
  const auto deltas = deltas_of(transactions);
  if (!deltas) return PostOutcome::limit_exceeded;  // one account's entries alone overflow
  const auto undo = [&tx](PostOutcome outcome) {
    tx.exec("ROLLBACK TO ledger_post");
    tx.exec("RELEASE ledger_post");
    return outcome;
  };
  tx.exec("SAVEPOINT ledger_post");
  try {
    // A transaction of this kind and cause exists (or, on PostgreSQL, one being written commits
    // first): the effect is written already. A taken transaction id is a caller's bug: it throws.
    const std::int64_t inserted = sql::insert_rows<LedgerTransactionRecord>(
        tx,
        "INSERT INTO ledger_transactions (tenant_id, transaction_id, kind, cause, corrects, "
        "customer_id, currency, effective_at, recorded_at)",
        " ON CONFLICT (tenant_id, kind, cause) DO NOTHING", 9, transactions,
        [](const LedgerTransactionRecord& t, std::vector<Param>& p) {
          p.emplace_back(t.tenant.str());
          p.emplace_back(t.id);
          p.emplace_back(t.kind);
          p.emplace_back(t.cause);
          p.emplace_back(columns::optional_text(t.corrects));
          p.emplace_back(t.customer ? Param(t.customer->str()) : Param());
          p.emplace_back(t.currency);
          p.emplace_back(to_unix_micros(t.effective_at));
          p.emplace_back(to_unix_micros(t.recorded_at));
        });
    if (inserted != static_cast<std::int64_t>(transactions.size())) {
      return undo(PostOutcome::already_posted);
    }
    insert_entries(tx, transactions);
    if (!add_to_accounts(tx, first, *deltas)) return undo(PostOutcome::limit_exceeded);
  } catch (const StorageError& error) {
    if (error.kind() != StorageError::Kind::check_violation) throw;
    return undo(PostOutcome::limit_exceeded);  // a balance rule would break
  }
  tx.exec("RELEASE ledger_post");
  return PostOutcome::posted;
}

std::vector<AccountBalance> balances(Tx& tx, const TenantId& tenant,
                                     const std::optional<CustomerId>& customer) {
  constexpr std::string_view columns = "kind, currency, customer_id, debits, credits";
  const auto rows =
      customer ? tx.query(sql::select_from(columns,
                                           "FROM ledger_accounts WHERE tenant_id = $1 AND "
                                           "customer_id = $2 ORDER BY account_id"),
                          {tenant.str(), customer->str()})
               : tx.query(sql::select_from(columns,
                                           "FROM ledger_accounts WHERE tenant_id = $1 ORDER BY "
                                           "account_id"),
                          {tenant.str()});
  std::vector<AccountBalance> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(balance_from_row(row));
  return out;
}

std::vector<AccountBalance> balances(Tx& tx, const TenantId& tenant, const BalanceFilter& filter) {
  std::vector<Param> params{tenant.str(), filter.after};
  std::string where = "FROM ledger_accounts WHERE tenant_id = $1 AND account_id > $2";
  if (filter.customer) {
    params.emplace_back(filter.customer->str());
    where += " AND customer_id = $3";
  }
  params.emplace_back(static_cast<std::int64_t>(filter.limit));
  where += " ORDER BY account_id LIMIT $" + std::to_string(params.size());
  std::vector<AccountBalance> out;
  for (const auto& row :
       tx.query(sql::select_from("kind, currency, customer_id, debits, credits", where), params)) {
    out.push_back(balance_from_row(row));
  }
  return out;
}

std::optional<AccountBalance> balance(Tx& tx, const TenantId& tenant, const Account& account) {
  const auto rows = tx.query(
      "SELECT kind, currency, customer_id, debits, credits FROM ledger_accounts WHERE tenant_id "
      "= $1 AND account_id = $2",
      {tenant.str(), account_id(account)});
  if (rows.empty()) return std::nullopt;
  return balance_from_row(rows.front());
}

std::vector<LedgerTransactionRecord> transactions(Tx& tx, const TenantId& tenant,
                                                  const TransactionFilter& filter) {
  std::vector<Param> params{tenant.str()};
  const auto next = [&params](Param value) {
    params.push_back(std::move(value));
    return "$" + std::to_string(params.size());
  };
  std::string where = "FROM ledger_transactions WHERE tenant_id = $1";
  if (filter.customer) where += " AND customer_id = " + next(filter.customer->str());
  if (filter.from) where += " AND effective_at >= " + next(to_unix_micros(*filter.from));
  if (filter.to) where += " AND effective_at < " + next(to_unix_micros(*filter.to));
  if (filter.after) {
    const std::string at = next(to_unix_micros(filter.after->first));
    where += " AND (effective_at > " + at + " OR (effective_at = " + at + " AND transaction_id > " +
             next(filter.after->second) + "))";
  }
  where += " ORDER BY effective_at, transaction_id LIMIT " +
           next(static_cast<std::int64_t>(filter.limit));
  return with_entries(tx, tenant, tx.query(sql::select_from(transaction_columns, where), params));
}

std::optional<LedgerTransactionRecord> find_by_cause(Tx& tx, const TenantId& tenant,
                                                     const std::string& kind,
                                                     const std::string& cause) {
  auto found = with_entries(
      tx, tenant,
      tx.query(sql::select_from(transaction_columns,
                                "FROM ledger_transactions WHERE tenant_id = $1 AND kind = $2 AND "
                                "cause = $3"),
               {tenant.str(), kind, cause}));
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

std::optional<std::string> first_violation(Tx& tx, const TenantId& tenant) {
  if (auto violation = first_transaction_violation(tx, tenant)) return violation;
  return first_account_violation(tx, tenant);
}

LedgerSize size(Tx& tx, const TenantId& tenant) {
  const auto rows = tx.query(
      "SELECT (SELECT COUNT(*) FROM ledger_transactions WHERE tenant_id = $1), (SELECT COUNT(*) "
      "FROM ledger_accounts WHERE tenant_id = $1)",
      {tenant.str()});
  return LedgerSize{rows.at(0).integer(0), rows.at(0).integer(1)};
}

}  // namespace neruba::storage::ledger
