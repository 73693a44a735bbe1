#pragma once
// The ledger's use cases that the CLI (`neruba ledger verify`) and the HTTP API share (issue 17):
// its verification, and its reads (GET /v1/ledger/balances, GET /v1/ledger/transactions) with
// customers named by their external_id, as the API names them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "domain/currency.hpp"
#include "domain/ledger/ledger.hpp"
#include "services/context.hpp"
#include "services/page.hpp"
#include "storage/db.hpp"
#include "storage/ledger.hpp"

namespace neruba::services::ledger {

// The first violation of the tenant's ledger, in words that name the transaction or account it
// is about; none when every rule holds. Run it in a read transaction: it reads the ledger a page
// at a time and wants one snapshot of it.
std::optional<std::string> verify(storage::Tx& tx, const TenantId& tenant);

// How many transactions and accounts the tenant's ledger holds: what a clean verify vouched for.
storage::ledger::LedgerSize size(storage::Tx& tx, const TenantId& tenant);

// An account as the API names it: its kind, currency and — for a customer's account — the
// customer's external_id.
struct Account {
  domain::ledger::AccountKind kind = domain::ledger::AccountKind::revenue;
  domain::Currency currency;
  std::optional<std::string> customer;
};

// An account's running totals and its balance on its normal side (domain::ledger): debits −
// credits for a debit-normal account, credits − debits for a credit-normal one. Minor units.
struct AccountBalance {
  Account account;
  std::int64_t debits_minor = 0;
  std::int64_t credits_minor = 0;
  std::int64_t balance_minor = 0;
};

struct Entry {
  Account account;
  domain::ledger::Side side = domain::ledger::Side::debit;
  std::int64_t amount_minor = 0;
};

// One balanced money movement: what it records (kind and cause: an invoice's finalization, a
// grant, a payment…), the transaction it corrects if any, and its entries in posting order.
struct Transaction {
  std::string id;
  std::string kind;
  std::string cause;
  std::optional<std::string> corrects;
  std::optional<std::string> customer;  // external_id
  domain::Currency currency;
  Instant effective_at;
  Instant recorded_at;
  std::vector<Entry> entries;
};

// GET /v1/ledger/balances?customer=: a customer's accounts (by external_id), or without one the
// tenant's own and every customer's, in account order, a page at a time. `cursor` is a
// next_cursor this returned (empty for the first page).
struct BalancesQuery {
  std::optional<std::string> customer;
  std::string cursor;
  std::size_t limit = 100;
};
Result<Page<AccountBalance>> balances(storage::Tx& tx, const RequestContext& ctx,
                                      const BalancesQuery& query);

// GET /v1/ledger/transactions?customer=&from=&to=: the transactions effective in [from, to) (each
// bound optional), of one customer or of the whole tenant, in (effective_at, id) order, a page at
// a time.
struct TransactionsQuery {
  std::optional<std::string> customer;
  std::optional<Instant> from;
  std::optional<Instant> to;
  std::string cursor;
  std::size_t limit = 100;
};
Result<Page<Transaction>> transactions(storage::Tx& tx, const RequestContext& ctx,
                                       const TransactionsQuery& query);

}  // namespace neruba::services::ledger
