// Invoices, billing runs, credit grants, balances, charges and payments.
#include "domain/time.hpp"
#include "http/problem.hpp"
#include "http/views/views.hpp"
#include "services/billing/internal.hpp"

namespace neruba::http::views {
namespace {

namespace billing = services::billing;

json::Value instant(Instant at) { return json::Value::string(domain::format_rfc3339(at)); }

json::Value money(std::int64_t minor, const domain::Currency& currency) {
  return json::Value::string(billing::internal::money_text(minor, currency));
}

}  // namespace

json::Value invoice(const billing::Invoice& invoice) {
  return billing::invoice_document(invoice, true);
}

json::Value invoice_summary(const billing::Invoice& invoice) {
  return billing::invoice_document(invoice, false);
}

json::Value invoice_explanation(const billing::Invoice& invoice) {
  const storage::InvoiceRecord& r = invoice.record;
  json::Value out = json::Value::object();
  out.set("invoice", json::Value::string(r.id));
  out.set("status", json::Value::string(std::string(storage::invoice_status_name(r.status))));
  out.set("currency", json::Value::string(r.currency.code()));
  json::Value lines = json::Value::array();
  for (const auto& line : r.lines) {
    json::Value l = json::Value::object();
    l.set("id", json::Value::string(line.id));
    l.set("description", json::Value::string(line.description));
    l.set("charge_type", json::Value::string(line.charge_type));
    l.set("amount", money(line.amount_minor, r.currency));
    auto inputs = json::parse(line.inputs);
    l.set("inputs", inputs ? std::move(*inputs) : json::Value::string(line.inputs));
    l.set("input_digest", json::Value::string(line.digest));
    lines.push_back(std::move(l));
  }
  out.set("lines", std::move(lines));
  json::Value draws = json::Value::array();
  for (const auto& draw : invoice.draws) {
    json::Value d = json::Value::object();
    d.set("grant", json::Value::string(draw.grant));
    d.set("amount", money(draw.amount_minor, r.currency));
    draws.push_back(std::move(d));
  }
  out.set("credit_draws", std::move(draws));
  json::Value payments = json::Value::array();
  for (const auto& payment : invoice.payments) payments.push_back(billing::payment_json(payment));
  out.set("payments", std::move(payments));
  out.set("subtotal", money(r.subtotal_minor, r.currency));
  out.set("credits_applied", money(r.credits_applied_minor, r.currency));
  out.set("total", money(r.total_minor, r.currency));
  out.set("amount_paid", money(r.amount_paid_minor, r.currency));
  return out;
}

json::Value billing_run(const billing::RunReport& report) {
  const storage::BillingRunRecord& r = report.record;
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(r.id));
  out.set("as_of", instant(r.as_of));
  out.set("finalize", json::Value::boolean(r.finalize));
  out.set("customers", json::Value::number(r.customers));
  out.set("invoices_created", json::Value::number(r.invoices_created));
  out.set("invoices_updated", json::Value::number(r.invoices_updated));
  out.set("invoices_finalized", json::Value::number(r.invoices_finalized));
  json::Value invoices = json::Value::array();
  for (const auto& invoice : report.invoices) invoices.push_back(invoice_summary(invoice));
  out.set("invoices", std::move(invoices));
  out.set("invoices_truncated", json::Value::boolean(report.invoices_truncated));
  // The customers the run could not bill (nothing of them written), each with its problem.
  out.set("customers_failed", json::Value::number(report.customers_failed));
  json::Value failures = json::Value::array();
  for (const auto& failure : report.failures) {
    json::Value item = json::Value::object();
    item.set("customer", json::Value::string(failure.external_id));
    item.set("type", json::Value::string(problem_type_uri(failure.error.code)));
    item.set("detail", json::Value::string(failure.error.detail));
    failures.push_back(std::move(item));
  }
  out.set("failures", std::move(failures));
  out.set("started_at", instant(r.started_at));
  out.set("completed_at", instant(r.completed_at));
  return out;
}

json::Value credit_grant(const storage::CreditGrantRecord& grant, const std::string& customer) {
  return billing::grant_document(grant, customer);
}

json::Value balance(const billing::Balance& balance) {
  json::Value out = json::Value::object();
  out.set("customer", json::Value::string(balance.customer));
  out.set("currency", json::Value::string(balance.currency.code()));
  out.set("credit_balance", money(balance.credit_balance_minor, balance.currency));
  out.set("amount_due", money(balance.amount_due_minor, balance.currency));
  out.set("accrued", money(balance.accrued_minor, balance.currency));
  out.set("pending_charges", money(balance.pending_charges_minor, balance.currency));
  json::Value grants = json::Value::array();
  for (const auto& grant : balance.grants) grants.push_back(credit_grant(grant, balance.customer));
  out.set("grants", std::move(grants));
  return out;
}

json::Value charge(const billing::Charge& charge) { return billing::charge_json(charge); }

json::Value payment(const billing::Payment& payment) {
  json::Value out = billing::payment_json(payment.record);
  out.set("credit_grant",
          payment.credit_grant ? json::Value::string(*payment.credit_grant) : json::Value::null());
  out.set("invoice_after", invoice_summary(payment.invoice));
  return out;
}

}  // namespace neruba::http::views
