#include "services/billing/ledger.hpp"

#include <charconv>
#include <map>

#include "domain/time.hpp"
#include "services/billing/billing.hpp"
#include "storage/customers.hpp"
#include "storage/ledger.hpp"

namespace neruba::services::ledger {
namespace {

using domain::ledger::AccountKind;
using domain::ledger::Side;

constexpr std::size_t cursor_id_length_max = 128;

FieldError bad_cursor() {
  return FieldError{"cursor", "invalid_value", "is not a cursor this API returned", {}};
}

// `?customer=` names a customer by its external_id, which is never empty.
void check_customer(const std::optional<std::string>& customer, std::vector<FieldError>& errors) {
  if (customer && customer->empty()) {
    errors.push_back(
        FieldError{"customer", "invalid_value", "must be a customer's external_id", {}});
  }
}

// Letters, digits, '_' and '-': what the ids in a cursor are made of.
bool is_id_text(std::string_view text) {
  if (text.empty() || text.size() > cursor_id_length_max) return false;
  for (const char c : text) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A balances cursor is the last account id of a page, "kind:currency[:customer id]"
// (storage::ledger::account_id): anything else was not returned by this API.
bool is_account_cursor(std::string_view cursor) {
  const auto first = cursor.find(':');
  if (first == std::string_view::npos) return false;
  if (!domain::ledger::parse_account_kind(cursor.substr(0, first))) return false;
  const auto rest = cursor.substr(first + 1);
  const auto second = rest.find(':');
  const auto currency = rest.substr(0, second);
  if (currency.size() != 3 || !domain::Currency::of(currency)) return false;
  return second == std::string_view::npos || is_id_text(rest.substr(second + 1));
}

// A transactions cursor is the last transaction of a page, "<effective_at in unix
// microseconds>.<transaction id>", the order transactions are listed in.
std::string transaction_cursor(const Transaction& transaction) {
  return std::to_string(domain::to_unix_micros(transaction.effective_at)) + "." + transaction.id;
}

std::optional<std::pair<Instant, std::string>> parse_transaction_cursor(std::string_view cursor) {
  const auto dot = cursor.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view micros_text = cursor.substr(0, dot);
  const std::string_view id = cursor.substr(dot + 1);
  // As std::to_string wrote it: an optional minus, then digits without leading zeros.
  const std::string_view digits = micros_text.substr(micros_text.starts_with('-') ? 1 : 0);
  if (digits.empty() || (digits.front() == '0' && micros_text != "0")) return std::nullopt;
  std::int64_t micros = 0;
  const auto [end, error] =
      std::from_chars(micros_text.data(), micros_text.data() + micros_text.size(), micros);
  if (error != std::errc() || end != micros_text.data() + micros_text.size()) return std::nullopt;
  if (!is_id_text(id)) return std::nullopt;
  return std::make_pair(domain::from_unix_micros(micros), std::string(id));
}

// Resolves what the API names by external_id into storage's ids and back, once per customer.
class Customers {
 public:
  Customers(storage::Tx& tx, const TenantId& tenant) : tx_(tx), tenant_(tenant) {}

  // The customer with this external_id: 404 when the tenant has none.
  Result<CustomerId> id_of(const std::string& external_id) {
    const auto found = storage::customers::find_by_external_id(tx_, tenant_, external_id);
    if (!found) return Error::not_found("The customer \"" + external_id + "\"");
    external_ids_.emplace(found->id.str(), external_id);
    return found->id;
  }

  Result<std::optional<std::string>> external_id_of(const std::optional<std::string>& id) {
    if (!id) return std::optional<std::string>();
    auto known = external_ids_.find(*id);
    if (known == external_ids_.end()) {
      const auto found = storage::customers::find(tx_, tenant_, CustomerId(*id));
      if (!found) {
        return Error::make(ErrorCode::internal,
                           "The ledger names customer " + *id + ", which does not exist.");
      }
      known = external_ids_.emplace(*id, found->external_id).first;
    }
    return std::optional<std::string>(known->second);
  }

  Result<Account> account(const domain::ledger::Account& stored) {
    const auto currency = domain::Currency::of(stored.currency);
    if (!currency) {
      return Error::make(ErrorCode::internal,
                         "A ledger account is in an unknown currency, " + stored.currency + ".");
    }
    auto customer = external_id_of(stored.customer);
    if (!customer) return customer.take_error();
    return Account{stored.kind, *currency, std::move(*customer)};
  }

 private:
  storage::Tx& tx_;
  const TenantId& tenant_;
  std::map<std::string, std::string> external_ids_;  // customer id → external_id
};

Result<std::optional<CustomerId>> customer_filter(Customers& customers,
                                                  const std::optional<std::string>& external_id) {
  if (!external_id) return std::optional<CustomerId>();
  auto id = customers.id_of(*external_id);
  if (!id) return id.take_error();
  return std::optional<CustomerId>(std::move(*id));
}

Result<Transaction> transaction_of(Customers& customers,
                                   const storage::LedgerTransactionRecord& stored) {
  const auto currency = domain::Currency::of(stored.currency);
  if (!currency) {
    return Error::make(
        ErrorCode::internal,
        "Ledger transaction " + stored.id + " is in an unknown currency, " + stored.currency + ".");
  }
  auto customer = customers.external_id_of(stored.customer ? std::optional(stored.customer->str())
                                                           : std::nullopt);
  if (!customer) return customer.take_error();
  Transaction out{.id = stored.id,
                  .kind = stored.kind,
                  .cause = stored.cause,
                  .corrects = stored.corrects,
                  .customer = std::move(*customer),
                  .currency = *currency,
                  .effective_at = stored.effective_at,
                  .recorded_at = stored.recorded_at,
                  .entries = {}};
  for (const auto& entry : stored.entries) {
    auto account = customers.account(entry.account);
    if (!account) return account.take_error();
    out.entries.push_back(Entry{std::move(*account), entry.side, entry.amount_minor});
  }
  return out;
}

}  // namespace

std::optional<std::string> verify(storage::Tx& tx, const TenantId& tenant) {
  // The ledger's own invariants first: balanced transactions, totals equal to their entries,
  // balance rules; then every issued invoice's ledger effect against its totals.
  if (auto violation = storage::ledger::first_violation(tx, tenant)) return violation;
  return billing::first_invoice_violation(tx, tenant);
}

storage::ledger::LedgerSize size(storage::Tx& tx, const TenantId& tenant) {
  return storage::ledger::size(tx, tenant);
}

Result<Page<AccountBalance>> balances(storage::Tx& tx, const RequestContext& ctx,
                                      const BalancesQuery& query) {
  const TenantId& tenant = ctx.principal.tenant;
  std::vector<FieldError> errors;
  if (!query.cursor.empty() && !is_account_cursor(query.cursor)) errors.push_back(bad_cursor());
  check_customer(query.customer, errors);
  if (!errors.empty()) return Error::invalid(std::move(errors));
  Customers customers(tx, tenant);
  auto customer = customer_filter(customers, query.customer);
  if (!customer) return customer.take_error();
  const auto rows = storage::ledger::balances(
      tx, tenant,
      storage::ledger::BalanceFilter{std::move(*customer), query.cursor, query.limit + 1});
  auto page = page_of(rows, query.limit, [](const storage::AccountBalance& balance) {
    return storage::ledger::account_id(balance.account);
  });
  Page<AccountBalance> out;
  out.next_cursor = std::move(page.next_cursor);
  for (const auto& row : page.items) {
    auto account = customers.account(row.account);
    if (!account) return account.take_error();
    // Both totals are in [0, 2^63) (the schema's CHECKs): their difference cannot overflow.
    const std::int64_t balance = domain::ledger::normal_side(row.account.kind) == Side::debit
                                     ? row.debits_minor - row.credits_minor
                                     : row.credits_minor - row.debits_minor;
    out.items.push_back(
        AccountBalance{std::move(*account), row.debits_minor, row.credits_minor, balance});
  }
  return out;
}

Result<Page<Transaction>> transactions(storage::Tx& tx, const RequestContext& ctx,
                                       const TransactionsQuery& query) {
  const TenantId& tenant = ctx.principal.tenant;
  storage::ledger::TransactionFilter filter;
  std::vector<FieldError> errors;
  if (query.from && query.to && *query.to < *query.from) {
    errors.push_back(FieldError{"to", "invalid_value", "must not be before from", {}});
  }
  if (!query.cursor.empty()) {
    filter.after = parse_transaction_cursor(query.cursor);
    if (!filter.after) errors.push_back(bad_cursor());
  }
  check_customer(query.customer, errors);
  if (!errors.empty()) return Error::invalid(std::move(errors));
  Customers customers(tx, tenant);
  auto customer = customer_filter(customers, query.customer);
  if (!customer) return customer.take_error();
  filter.customer = std::move(*customer);
  filter.from = query.from;
  filter.to = query.to;
  filter.limit = query.limit + 1;
  Page<Transaction> out;
  auto rows = storage::ledger::transactions(tx, tenant, filter);
  const bool more = rows.size() > query.limit;
  if (more) rows.pop_back();
  for (const auto& row : rows) {
    auto transaction = transaction_of(customers, row);
    if (!transaction) return transaction.take_error();
    out.items.push_back(std::move(*transaction));
  }
  if (more) out.next_cursor = transaction_cursor(out.items.back());
  return out;
}

}  // namespace neruba::services::ledger
