#include "domain/ledger/ledger.hpp"

#include <map>

namespace neruba::domain::ledger {

std::string_view account_kind_name(AccountKind kind) {
  switch (kind) {
    case AccountKind::receivable:
      return "receivable";
    case AccountKind::cash:
      return "cash";
    case AccountKind::prepaid_credit:
      return "prepaid_credit";
    case AccountKind::promotional_credit:
      return "promotional_credit";
    case AccountKind::promotions_expense:
      return "promotions_expense";
    case AccountKind::revenue:
      return "revenue";
    case AccountKind::breakage:
      return "breakage";
  }
  return "revenue";
}

std::optional<AccountKind> parse_account_kind(std::string_view name) {
  for (const AccountKind kind :
       {AccountKind::receivable, AccountKind::cash, AccountKind::prepaid_credit,
        AccountKind::promotional_credit, AccountKind::promotions_expense, AccountKind::revenue,
        AccountKind::breakage}) {
    if (account_kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

Side normal_side(AccountKind kind) {
  switch (kind) {
    case AccountKind::receivable:
    case AccountKind::cash:
    case AccountKind::promotions_expense:
      return Side::debit;
    case AccountKind::prepaid_credit:
    case AccountKind::promotional_credit:
    case AccountKind::revenue:
    case AccountKind::breakage:
      return Side::credit;
  }
  return Side::debit;
}

bool is_customer_account(AccountKind kind) {
  return kind != AccountKind::revenue && kind != AccountKind::promotions_expense &&
         kind != AccountKind::breakage;
}

ErrorReason reason_of(LedgerError error) {
  switch (error) {
    case LedgerError::too_few_postings:
      return {ErrorCode::internal, "too_few_postings"};
    case LedgerError::amount_not_positive:
      return {ErrorCode::internal, "amount_not_positive"};
    case LedgerError::amount_too_precise:
      return {ErrorCode::internal, "amount_too_precise"};
    case LedgerError::unknown_currency:
      return {ErrorCode::internal, "unknown_currency"};
    case LedgerError::customer_missing:
      return {ErrorCode::internal, "customer_missing"};
    case LedgerError::customer_not_expected:
      return {ErrorCode::internal, "customer_not_expected"};
    case LedgerError::unbalanced:
      return {ErrorCode::internal, "unbalanced"};
    case LedgerError::amount_out_of_range:
      return {ErrorCode::out_of_range, "amount_out_of_range"};
  }
  return {ErrorCode::internal, "internal"};
}

std::optional<LedgerProblem> check_transaction(std::span<const Posting> postings) {
  if (postings.size() < 2) return LedgerProblem{LedgerError::too_few_postings, std::nullopt};
  // Per currency: debits − credits, which must come to zero.
  std::map<std::string, Decimal, std::less<>> net;
  for (std::size_t i = 0; i < postings.size(); ++i) {
    const Posting& posting = postings[i];
    const auto currency = Currency::of(posting.account.currency);
    if (!currency) return LedgerProblem{LedgerError::unknown_currency, i};
    if (posting.amount.sign() <= 0) return LedgerProblem{LedgerError::amount_not_positive, i};
    if (posting.amount.scale() > currency->minor_unit_digits()) {
      const DecimalResult rounded =
          posting.amount.round(currency->minor_unit_digits(), RoundingMode::down);
      if (!rounded || !(*rounded == posting.amount)) {
        return LedgerProblem{LedgerError::amount_too_precise, i};
      }
    }
    const bool customer_kind = is_customer_account(posting.account.kind);
    if (customer_kind && !posting.account.customer) {
      return LedgerProblem{LedgerError::customer_missing, i};
    }
    if (!customer_kind && posting.account.customer) {
      return LedgerProblem{LedgerError::customer_not_expected, i};
    }
    Decimal& total = net[posting.account.currency];
    const DecimalResult next =
        posting.side == Side::debit ? total.add(posting.amount) : total.sub(posting.amount);
    if (!next) return LedgerProblem{LedgerError::amount_out_of_range, i};
    total = *next;
  }
  for (const auto& [currency, total] : net) {
    if (!total.is_zero()) return LedgerProblem{LedgerError::unbalanced, std::nullopt};
  }
  return std::nullopt;
}

Result<Decimal, LedgerError> balance_of(AccountKind kind, const Decimal& debits,
                                        const Decimal& credits) {
  const DecimalResult balance =
      normal_side(kind) == Side::debit ? debits.sub(credits) : credits.sub(debits);
  if (!balance) return LedgerError::amount_out_of_range;
  return *balance;
}

}  // namespace neruba::domain::ledger
