#pragma once
// Ledger rules (DESIGN.md "ledger"; issue 17): accounts, balanced transactions and balances, as
// values. Pure: no storage, clock or I/O. The services write a transaction only after
// `check_transaction` accepts it, in the same database transaction as the business change it
// records; storage enforces the balance constraints (a wallet never below zero) at write time.
//
// Double entry: every money movement is one transaction of postings, each a debit or a credit of
// a positive amount to one account; per currency, the debits equal the credits. An account has a
// normal side: assets and expenses grow by debits (receivable, cash and clearing, promotions
// expense), liabilities and revenue by credits (prepaid credit, promotional credit, revenue). Its
// balance is read on its normal side: debits − credits for a debit-normal account, credits −
// debits for a credit-normal one — so a customer's receivable and a wallet's credit are both
// positive while money is owed and held.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "domain/currency.hpp"
#include "domain/decimal.hpp"

namespace neruba::domain::ledger {

enum class AccountKind {
  receivable,          // what a customer owes on finalized invoices (asset)
  cash,                // money received, before and after a provider settles it (asset)
  prepaid_credit,      // credit a customer bought and has not used yet (liability)
  promotional_credit,  // credit a tenant granted for free and the customer has not used (liability)
  promotions_expense,  // what granted promotional credit costs the tenant (expense)
  revenue,             // what finalized invoices earned (revenue)
  breakage,  // prepaid credit that expired unused: earned, but not by an invoice (revenue)
};

enum class Side { debit, credit };

std::string_view account_kind_name(AccountKind kind);
std::optional<AccountKind> parse_account_kind(std::string_view name);
// The side an account of this kind grows by.
Side normal_side(AccountKind kind);

// An account: its kind and currency, and the customer it belongs to (none for the tenant's own,
// such as revenue).
struct Account {
  AccountKind kind = AccountKind::revenue;
  std::string currency;  // ISO 4217 code
  std::optional<std::string> customer;
  friend bool operator==(const Account& a, const Account& b) = default;
};

struct Posting {
  Account account;
  Side side = Side::debit;
  Decimal amount;  // > 0, with at most the currency's minor-unit digits
};

enum class LedgerError {
  too_few_postings,       // a transaction moves money from somewhere to somewhere: two at least
  amount_not_positive,    // a posting of zero or less
  amount_too_precise,     // more fraction digits than the currency's minor unit
  unknown_currency,       // a code the currency table does not know
  customer_missing,       // a customer's account kind without a customer
  customer_not_expected,  // a tenant account kind (revenue, promotions expense) with a customer
  unbalanced,             // debits and credits of some currency differ
  amount_out_of_range,    // a total beyond the 36 digits of Decimal
};
ErrorReason reason_of(LedgerError error);

// Whether the account kind belongs to a customer (receivable, cash, the credits) or to the tenant.
bool is_customer_account(AccountKind kind);

// Accepts a transaction that balances per currency and whose postings are each well formed; the
// first problem otherwise, with the index of the posting it is about (none for `unbalanced` and
// `too_few_postings`).
struct LedgerProblem {
  LedgerError error = LedgerError::unbalanced;
  std::optional<std::size_t> posting;
};
std::optional<LedgerProblem> check_transaction(std::span<const Posting> postings);

// The balance of an account from the sums of its debits and credits, read on its normal side.
Result<Decimal, LedgerError> balance_of(AccountKind kind, const Decimal& debits,
                                        const Decimal& credits);

}  // namespace neruba::domain::ledger
