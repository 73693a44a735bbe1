// The ledger's balances and transactions.
#include "domain/time.hpp"
#include "http/views/views.hpp"

namespace neruba::http::views {
namespace {

namespace ledger = services::ledger;

json::Value money(std::int64_t minor, const domain::Currency& currency) {
  return json::Value::string(domain::from_minor_units(minor, currency).to_string());
}

json::Value side(domain::ledger::Side side) {
  return json::Value::string(side == domain::ledger::Side::debit ? "debit" : "credit");
}

// { kind, currency, customer? }: a tenant's own account (revenue, …) has no customer.
json::Value account(const ledger::Account& account) {
  json::Value out = json::Value::object();
  out.set("kind",
          json::Value::string(std::string(domain::ledger::account_kind_name(account.kind))));
  out.set("currency", json::Value::string(account.currency.code()));
  if (account.customer) out.set("customer", json::Value::string(*account.customer));
  return out;
}

}  // namespace

json::Value ledger_balance(const ledger::AccountBalance& balance) {
  const domain::Currency& currency = balance.account.currency;
  json::Value out = json::Value::object();
  out.set("account", account(balance.account));
  out.set("normal_side", side(domain::ledger::normal_side(balance.account.kind)));
  out.set("debits", money(balance.debits_minor, currency));
  out.set("credits", money(balance.credits_minor, currency));
  out.set("balance", money(balance.balance_minor, currency));
  return out;
}

json::Value ledger_transaction(const ledger::Transaction& transaction) {
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(transaction.id));
  out.set("kind", json::Value::string(transaction.kind));
  out.set("cause", json::Value::string(transaction.cause));
  if (transaction.corrects) out.set("corrects", json::Value::string(*transaction.corrects));
  if (transaction.customer) out.set("customer", json::Value::string(*transaction.customer));
  out.set("currency", json::Value::string(transaction.currency.code()));
  out.set("effective_at", json::Value::string(domain::format_rfc3339(transaction.effective_at)));
  out.set("recorded_at", json::Value::string(domain::format_rfc3339(transaction.recorded_at)));
  json::Value entries = json::Value::array();
  for (const auto& entry : transaction.entries) {
    json::Value e = json::Value::object();
    e.set("account", account(entry.account));
    e.set("side", side(entry.side));
    e.set("amount", money(entry.amount_minor, entry.account.currency));
    entries.push_back(std::move(e));
  }
  out.set("entries", std::move(entries));
  return out;
}

}  // namespace neruba::http::views
