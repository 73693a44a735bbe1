// Ledger rules (domain/ledger): which transactions balance, and balances read on an account's
// normal side. Amounts by hand.
#include <gtest/gtest.h>

#include "decimal_test_support.hpp"
#include "domain/ledger/ledger.hpp"

namespace neruba::domain::ledger {
namespace {

using test::dec;

Account of_customer(AccountKind kind, std::string currency = "USD") {
  return Account{kind, std::move(currency), std::string("cus_1")};
}
Account of_tenant(AccountKind kind, std::string currency = "USD") {
  return Account{kind, std::move(currency), std::nullopt};
}

std::string problem(const std::vector<Posting>& postings) {
  const auto found = check_transaction(postings);
  if (!found) return "ok";
  return std::string(reason_of(found->error).slug) +
         (found->posting ? " #" + std::to_string(*found->posting) : "");
}

TEST(LedgerTransaction, TheFlowsOfAnInvoiceBalance) {
  // Finalizing a 100.00 invoice: the customer owes it, the tenant earned it.
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("100.00")},
                     {of_tenant(AccountKind::revenue), Side::credit, dec("100.00")}}),
            "ok");
  // Drawing 30.00 of prepaid credit and 20.00 of promotional credit against it.
  EXPECT_EQ(problem({{of_customer(AccountKind::prepaid_credit), Side::debit, dec("30.00")},
                     {of_customer(AccountKind::promotional_credit), Side::debit, dec("20.00")},
                     {of_customer(AccountKind::receivable), Side::credit, dec("50.00")}}),
            "ok");
  // A payment of the rest.
  EXPECT_EQ(problem({{of_customer(AccountKind::cash), Side::debit, dec("50.00")},
                     {of_customer(AccountKind::receivable), Side::credit, dec("50")}}),
            "ok");
  // Two currencies, each balanced, in one transaction.
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("1.00")},
                     {of_tenant(AccountKind::revenue), Side::credit, dec("1.00")},
                     {of_customer(AccountKind::receivable, "JPY"), Side::debit, dec("150")},
                     {of_tenant(AccountKind::revenue, "JPY"), Side::credit, dec("150")}}),
            "ok");
}

TEST(LedgerTransaction, WhatDoesNotBalanceOrIsMalformedIsRefused) {
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("100.00")},
                     {of_tenant(AccountKind::revenue), Side::credit, dec("99.99")}}),
            "unbalanced");
  // Balanced in amount, not per currency.
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("5")},
                     {of_tenant(AccountKind::revenue, "EUR"), Side::credit, dec("5")}}),
            "unbalanced");
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("5")}}),
            "too_few_postings");
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("0")},
                     {of_tenant(AccountKind::revenue), Side::credit, dec("0")}}),
            "amount_not_positive #0");
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("5")},
                     {of_tenant(AccountKind::revenue), Side::debit, dec("-5")}}),
            "amount_not_positive #1");
  // Money has the currency's minor-unit digits at most; zeros beyond them are the same amount.
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("1.001")},
                     {of_tenant(AccountKind::revenue), Side::credit, dec("1.001")}}),
            "amount_too_precise #0");
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("1.000")},
                     {of_tenant(AccountKind::revenue), Side::credit, dec("1.00")}}),
            "ok");
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable, "JPY"), Side::debit, dec("5.5")},
                     {of_tenant(AccountKind::revenue, "JPY"), Side::credit, dec("5.5")}}),
            "amount_too_precise #0");
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable, "KWD"), Side::debit, dec("0.004")},
                     {of_tenant(AccountKind::revenue, "KWD"), Side::credit, dec("0.004")}}),
            "ok");
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable, "XYZ"), Side::debit, dec("1")},
                     {of_tenant(AccountKind::revenue, "XYZ"), Side::credit, dec("1")}}),
            "unknown_currency #0");
  // A customer's account names its customer; the tenant's do not.
  EXPECT_EQ(problem({{of_tenant(AccountKind::receivable), Side::debit, dec("1")},
                     {of_tenant(AccountKind::revenue), Side::credit, dec("1")}}),
            "customer_missing #0");
  EXPECT_EQ(problem({{of_customer(AccountKind::receivable), Side::debit, dec("1")},
                     {of_customer(AccountKind::revenue), Side::credit, dec("1")}}),
            "customer_not_expected #1");
}

TEST(LedgerBalance, IsReadOnTheAccountsNormalSide) {
  // A receivable debited 100.00 (an invoice) and credited 40.00 (a payment): 60.00 owed.
  EXPECT_EQ(balance_of(AccountKind::receivable, dec("100.00"), dec("40.00"))->to_string(), "60.00");
  // A wallet credited 50.00 (a grant) and debited 20.00 (a draw): 30.00 held.
  EXPECT_EQ(balance_of(AccountKind::prepaid_credit, dec("20.00"), dec("50.00"))->to_string(),
            "30.00");
  EXPECT_EQ(balance_of(AccountKind::revenue, dec("0"), dec("12.5"))->to_string(), "12.5");
  EXPECT_EQ(balance_of(AccountKind::promotions_expense, dec("7"), dec("0"))->to_string(), "7");
  EXPECT_EQ(normal_side(AccountKind::cash), Side::debit);
  EXPECT_EQ(normal_side(AccountKind::promotional_credit), Side::credit);
  for (const AccountKind kind :
       {AccountKind::receivable, AccountKind::cash, AccountKind::prepaid_credit,
        AccountKind::promotional_credit, AccountKind::promotions_expense, AccountKind::revenue}) {
    EXPECT_EQ(parse_account_kind(account_kind_name(kind)), kind);
  }
  EXPECT_FALSE(parse_account_kind("assets").has_value());
}

}  // namespace
}  // namespace neruba::domain::ledger
