#pragma once
// The double-entry ledger's rows (issue 17; domain/ledger holds the rules). Accounts per tenant,
// currency and (for a customer's kinds) customer, each with its running debit and credit totals;
// transactions of entries, never updated or deleted. Amounts are whole minor units (BIGINT), so
// the balance rules live in the schema, enforced at write time on both backends, as TigerBeetle's
// account flags do: a credit wallet's debits never exceed its credits (it never goes below zero),
// and a receivable's credits never exceed its debits (nothing is paid beyond what is owed). A
// transaction records one cause (an invoice's finalization, a grant, a payment…): its kind and
// cause are unique per tenant, so a finalized invoice's ledger effect cannot be written twice. A
// correction is a new transaction that names the one it corrects.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "domain/ledger/ledger.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct LedgerEntry {
  domain::ledger::Account account;
  domain::ledger::Side side = domain::ledger::Side::debit;
  std::int64_t amount_minor = 0;  // > 0, in the account currency's minor units
};

struct LedgerTransactionRecord {
  TenantId tenant;
  std::string id;     // ltx_…
  std::string kind;   // invoice_finalized | credit_grant | credit_draw | credit_expiry | payment |
                      // invoice_void | … (services/billing names them)
  std::string cause;  // the id of what it records (inv_…, grt_…, pay_…); unique with kind
  std::optional<std::string> corrects;  // the transaction this one reverses or corrects
  std::optional<CustomerId> customer;   // the customer whose accounts it moves, if any
  std::string currency;
  Instant effective_at;  // when the movement takes effect (a grant's expiry instant, …)
  Instant recorded_at;   // when it was written
  std::vector<LedgerEntry> entries;  // in posting order
};

struct AccountBalance {
  domain::ledger::Account account;
  std::int64_t debits_minor = 0;
  std::int64_t credits_minor = 0;
};

namespace ledger {

// A stable account id within a tenant: "kind:currency" or "kind:currency:customer".
std::string account_id(const domain::ledger::Account& account);

enum class PostOutcome {
  posted,
  already_posted,  // a transaction of this kind and cause exists: nothing written
  limit_exceeded,  // an account's balance rule would break (a wallet below zero, a receivable
                   // paid beyond its debits): nothing written
};

// Writes the transaction, its entries and the accounts' new totals (creating accounts on first
// use). The caller has checked it with domain::ledger::check_transaction. All or nothing (a
// savepoint): on already_posted or limit_exceeded the database is as it was.
[[nodiscard]] PostOutcome post(Tx& tx, const LedgerTransactionRecord& transaction);
// Many transactions of one tenant, recorded at one instant, as one: all posted, or (the same
// outcomes) none. Each account's totals move once, by the sum of its entries in the batch, and
// its balance rule is checked on the result — the batch's transactions are posted together, so
// no reader sees the totals between them.
[[nodiscard]] PostOutcome post_many(Tx& tx, std::span<const LedgerTransactionRecord> transactions);

// The balances of a customer's accounts, or with no customer the tenant's own and every
// customer's, in account id order.
std::vector<AccountBalance> balances(Tx& tx, const TenantId& tenant,
                                     const std::optional<CustomerId>& customer);
std::optional<AccountBalance> balance(Tx& tx, const TenantId& tenant,
                                      const domain::ledger::Account& account);

// A page of balances, as balances() orders them: the accounts after `after` (an account id; empty
// for the first page), at most `limit` of them (GET /v1/ledger/balances).
struct BalanceFilter {
  std::optional<CustomerId> customer;
  std::string after;
  std::size_t limit = 100;
};
std::vector<AccountBalance> balances(Tx& tx, const TenantId& tenant, const BalanceFilter& filter);

struct TransactionFilter {
  std::optional<CustomerId> customer;
  std::optional<Instant> from;  // effective_at, inclusive
  std::optional<Instant> to;    // effective_at, exclusive
  // Cursor: transactions after this (effective_at, id), in (effective_at, id) order.
  std::optional<std::pair<Instant, std::string>> after;
  std::size_t limit = 100;
};
std::vector<LedgerTransactionRecord> transactions(Tx& tx, const TenantId& tenant,
                                                  const TransactionFilter& filter);
std::optional<LedgerTransactionRecord> find_by_cause(Tx& tx, const TenantId& tenant,
                                                     const std::string& kind,
                                                     const std::string& cause);

// The first violation of the ledger's own invariants for the tenant, none when all hold: every
// transaction has two entries or more, positive amounts, accounts of its currency, and balances
// per currency; every account's totals equal the sums of its entries; no account breaks its
// balance rule. (services/billing adds the invoice checks.)
std::optional<std::string> first_violation(Tx& tx, const TenantId& tenant);

// How many transactions and accounts the tenant's ledger holds (ledger verify's summary).
struct LedgerSize {
  std::int64_t transactions = 0;
  std::int64_t accounts = 0;
};
LedgerSize size(Tx& tx, const TenantId& tenant);

}  // namespace ledger

}  // namespace neruba::storage
