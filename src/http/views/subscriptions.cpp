// Subscriptions and the upcoming invoice.
#include "domain/time.hpp"
#include "http/views/views.hpp"
#include "services/billing/line_inputs.hpp"

namespace neruba::http::views {
namespace {

namespace pricing = domain::pricing;

json::Value instant(Instant at) { return json::Value::string(domain::format_rfc3339(at)); }
json::Value decimal(const domain::Decimal& value) { return json::Value::string(value.to_string()); }

}  // namespace

json::Value subscription(const services::subscriptions::Subscription& subscription) {
  return services::subscriptions::subscription_document(subscription);
}

json::Value upcoming(const services::subscriptions::Upcoming& upcoming) {
  const pricing::Invoice& invoice = upcoming.invoice;
  json::Value out = json::Value::object();
  out.set("subscription", json::Value::string(upcoming.subscription));
  out.set("billing_instant", instant(invoice.at));
  out.set("usage_until", instant(upcoming.usage_until));
  // The period the invoice closes; the first invoice (at the start) closes none and opens one.
  const auto& period = invoice.closing ? invoice.closing : invoice.opening;
  out.set("period_start", instant(period->start));
  out.set("period_end", instant(period->end));
  out.set("currency", json::Value::string(invoice.currency.code()));
  json::Value lines = json::Value::array();
  for (const pricing::PricedLine& line : invoice.lines) {
    json::Value l = json::Value::object();
    l.set("description", json::Value::string(line.description));
    l.set("charge_type", json::Value::string(std::string(pricing::line_type_name(line.type))));
    if (line.meter) l.set("meter", json::Value::string(*line.meter));
    l.set("quantity", decimal(line.quantity));
    if (line.unit_price) l.set("unit_price", decimal(*line.unit_price));
    l.set("amount", services::billing::money_json(line.amount, invoice.currency));
    l.set("period_start", instant(line.period.start));
    l.set("period_end", instant(line.period.end));
    l.set("explanation", services::billing::line_explanation(line, invoice.currency));
    lines.push_back(std::move(l));
  }
  out.set("lines", std::move(lines));
  out.set("subtotal", services::billing::money_json(invoice.subtotal, invoice.currency));
  out.set("total", services::billing::money_json(invoice.total, invoice.currency));
  return out;
}

}  // namespace neruba::http::views
