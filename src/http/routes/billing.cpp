// Billing runs, invoices, credit grants, balances, one-off charges, payments, and the ledger's
// balances and transactions.
#include "services/billing/billing.hpp"
#include "http/routes.hpp"
#include "json/reader.hpp"
#include "services/billing/ledger.hpp"

namespace neruba::http {
namespace {

namespace billing = services::billing;
namespace ledger = services::ledger;

Rendered invoice_ok(const billing::Invoice& invoice) { return ok(views::invoice(invoice)); }

Result<Rendered> create_billing_run(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  auto request = billing::parse_run_request(*body, call.ctx);
  if (!request) return request.take_error();
  // The invoices are written customer by customer in transactions of their own; the run's
  // receipt, its audit record and the Idempotency-Key's response commit together at the end.
  auto run = billing::bill(call.api.db(), call.ctx, *request);
  if (!run) return run.take_error();
  return call.write(
      [&](storage::Tx& tx) { return billing::record_run(tx, call.ctx, *run); },
      [](const billing::RunReport& report) { return created(views::billing_run(report)); });
}

Result<Rendered> list_invoices(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  std::optional<std::string> customer;
  std::optional<std::string> status;
  if (const std::string* value = call.query("customer"); value != nullptr) customer = *value;
  if (const std::string* value = call.query("status"); value != nullptr) status = *value;
  return call.read(
      [&](storage::Tx& tx) {
        return billing::list_invoices(tx, call.ctx, customer, status, page->cursor, page->limit);
      },
      [](const services::Page<billing::Invoice>& invoices) {
        return ok(views::page<billing::Invoice>(invoices, views::invoice_summary));
      });
}

Result<Rendered> get_invoice(Call& call) {
  const std::string id = call.param("invoice_id");
  return call.read([&](storage::Tx& tx) { return billing::get_invoice(tx, call.ctx, id); },
                   invoice_ok);
}

Result<Rendered> explain_invoice(Call& call) {
  const std::string id = call.param("invoice_id");
  return call.read(
      [&](storage::Tx& tx) { return billing::get_invoice(tx, call.ctx, id); },
      [](const billing::Invoice& invoice) { return ok(views::invoice_explanation(invoice)); });
}

Result<Rendered> finalize_invoice(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  // The body is an empty object: like every request object, it names no field it does not know.
  std::vector<FieldError> errors;
  json::ObjectReader(*body, "", errors).reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  const std::string id = call.param("invoice_id");
  return call.write([&](storage::Tx& tx) { return billing::finalize_invoice(tx, call.ctx, id); },
                    invoice_ok);
}

Result<Rendered> void_invoice(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const std::string id = call.param("invoice_id");
  return call.write([&](storage::Tx& tx) { return billing::void_invoice(tx, call.ctx, id, *body); },
                    invoice_ok);
}

Result<Rendered> create_credit_grant(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  std::string customer;
  return call.write(
      [&](storage::Tx& tx) {
        auto grant = billing::grant_credit(tx, call.ctx, *body);
        if (grant) customer = body->find("customer")->text();
        return grant;
      },
      [&](const storage::CreditGrantRecord& grant) {
        return created(views::credit_grant(grant, customer));
      });
}

Result<Rendered> customer_balance(Call& call) {
  const std::string external_id = call.param("external_id");
  return call.read([&](storage::Tx& tx) { return billing::balance(tx, call.ctx, external_id); },
                   [](const billing::Balance& balance) { return ok(views::balance(balance)); });
}

Result<Rendered> create_charge(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  return call.write([&](storage::Tx& tx) { return billing::create_charge(tx, call.ctx, *body); },
                    [](const billing::Charge& charge) {
                      return charge.created ? created(views::charge(charge))
                                            : ok(views::charge(charge));
                    });
}

Result<Rendered> create_payment(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  return call.write(
      [&](storage::Tx& tx) { return billing::record_payment(tx, call.ctx, *body); },
      [](const billing::Payment& payment) { return created(views::payment(payment)); });
}

std::optional<std::string> optional_query(const Call& call, const std::string& name) {
  const std::string* value = call.query(name);
  return value == nullptr ? std::nullopt : std::optional<std::string>(*value);
}

// The value of a parsed query parameter, or none with its errors added to `errors`: a ledger read
// answers every bad parameter of its query at once.
template <typename T>
std::optional<T> collect(Result<T> parsed, std::vector<FieldError>& errors) {
  if (parsed) return std::move(*parsed);
  for (auto& error : parsed.take_error().errors) errors.push_back(std::move(error));
  return std::nullopt;
}

Result<Rendered> ledger_balances(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  const ledger::BalancesQuery query{optional_query(call, "customer"), page->cursor, page->limit};
  return call.read(
      [&](storage::Tx& tx) { return ledger::balances(tx, call.ctx, query); },
      [](const services::Page<ledger::AccountBalance>& balances) {
        return ok(views::page<ledger::AccountBalance>(balances, views::ledger_balance));
      });
}

Result<Rendered> ledger_transactions(Call& call) {
  std::vector<FieldError> errors;
  const auto page = collect(call.page(), errors);
  const auto from = collect(call.instant_query("from"), errors);
  const auto to = collect(call.instant_query("to"), errors);
  if (!errors.empty()) return Error::invalid(std::move(errors));
  const ledger::TransactionsQuery query{optional_query(call, "customer"), *from, *to, page->cursor,
                                        page->limit};
  return call.read(
      [&](storage::Tx& tx) { return ledger::transactions(tx, call.ctx, query); },
      [](const services::Page<ledger::Transaction>& transactions) {
        return ok(views::page<ledger::Transaction>(transactions, views::ledger_transaction));
      });
}

}  // namespace

void add_billing_routes(std::vector<Route>& table) {
  namespace scope = services::scope;
  const std::vector<std::string_view> readers{scope::read, scope::write};
  table.push_back({"POST", "/v1/billing-runs", Access::tenant, {scope::write}, create_billing_run});
  table.push_back({"GET", "/v1/invoices", Access::tenant, readers, list_invoices});
  table.push_back({"GET", "/v1/invoices/{invoice_id}", Access::tenant, readers, get_invoice});
  table.push_back(
      {"GET", "/v1/invoices/{invoice_id}/explain", Access::tenant, readers, explain_invoice});
  table.push_back({"POST",
                   "/v1/invoices/{invoice_id}/finalize",
                   Access::tenant,
                   {scope::write},
                   finalize_invoice});
  table.push_back(
      {"POST", "/v1/invoices/{invoice_id}/void", Access::tenant, {scope::operator_}, void_invoice});
  table.push_back(
      {"POST", "/v1/credit-grants", Access::tenant, {scope::write}, create_credit_grant});
  table.push_back(
      {"GET", "/v1/customers/{external_id}/balance", Access::tenant, readers, customer_balance});
  table.push_back({"POST", "/v1/charges", Access::tenant, {scope::write}, create_charge});
  table.push_back({"POST", "/v1/payments", Access::tenant, {scope::write}, create_payment});
  table.push_back({"GET", "/v1/ledger/balances", Access::tenant, readers, ledger_balances});
  table.push_back({"GET", "/v1/ledger/transactions", Access::tenant, readers, ledger_transactions});
}

}  // namespace neruba::http
