// Subscriptions and the upcoming invoice.
#include "domain/time.hpp"
#include "http/views/views.hpp"

namespace neruba::http::views {
namespace {

namespace pricing = domain::pricing;

json::Value instant(Instant at) { return json::Value::string(domain::format_rfc3339(at)); }
json::Value decimal(const domain::Decimal& value) { return json::Value::string(value.to_string()); }

// An amount with exactly the currency's minor-unit digits ("100.00", JPY "2", KWD "0.004").
json::Value money(const domain::Decimal& amount, const domain::Currency& currency) {
  const auto text = domain::format_amount(amount, currency.code(), domain::RoundingMode::half_even);
  return json::Value::string(text ? *text : amount.to_string());
}

std::string_view model_name(pricing::UsageModel model) {
  switch (model) {
    case pricing::UsageModel::per_unit:
      return "per_unit";
    case pricing::UsageModel::graduated:
      return "graduated";
    case pricing::UsageModel::volume:
      return "volume";
    case pricing::UsageModel::package:
      return "package";
    case pricing::UsageModel::percentage:
      return "percentage";
  }
  return "per_unit";
}

json::Value usage_explanation(const pricing::UsageExplanation& usage) {
  json::Value out = json::Value::object();
  out.set("model", json::Value::string(std::string(model_name(usage.model))));
  out.set("quantity", decimal(usage.quantity));
  out.set("already_used", decimal(usage.already_used));
  out.set("period_quantity", decimal(usage.period_quantity));
  out.set("events", json::Value::number(usage.events));
  out.set("free_units_applied", decimal(usage.free_units_applied));
  out.set("billable_units", decimal(usage.billable_units));
  if (usage.unit_price) out.set("unit_price", decimal(*usage.unit_price));
  out.set("packages", decimal(usage.packages));
  json::Value tiers = json::Value::array();
  for (const pricing::TierUsage& tier : usage.tiers) {
    json::Value t = json::Value::object();
    t.set("tier", json::Value::number(static_cast<std::int64_t>(tier.tier)));
    t.set("from", decimal(tier.from));
    t.set("to", tier.to ? decimal(*tier.to) : json::Value::null());
    t.set("units", decimal(tier.units));
    t.set("unit_price", decimal(tier.unit_price));
    t.set("flat_fee", decimal(tier.flat_fee));
    t.set("amount", decimal(tier.amount));
    tiers.push_back(std::move(t));
  }
  out.set("tiers", std::move(tiers));
  out.set("events_at_minimum", json::Value::number(usage.events_at_minimum));
  out.set("events_at_maximum", json::Value::number(usage.events_at_maximum));
  return out;
}

json::Value explanation(const pricing::PricedLine& line, const domain::Currency& currency) {
  const pricing::LineExplanation& e = line.explanation;
  json::Value out = json::Value::object();
  out.set("plan", json::Value::string(e.plan_code));
  out.set("plan_version", json::Value::number(e.plan_version));
  json::Value proration = json::Value::object();
  proration.set("factor", json::Value::string(e.factor.to_string()));
  proration.set("basis",
                json::Value::string(e.basis == pricing::ProrationBasis::day ? "day" : "second"));
  proration.set("part_start", instant(e.part.start));
  proration.set("part_end", instant(e.part.end));
  proration.set("period_start", instant(e.nominal.start));
  proration.set("period_end", instant(e.nominal.end));
  out.set("proration", std::move(proration));
  if (line.type != pricing::LineType::usage && line.type != pricing::LineType::minimum_commitment) {
    out.set("full_amount", decimal(e.full_amount));
  }
  if (e.credit_of) out.set("credit_of", json::Value::string(*e.credit_of));
  out.set("trial", json::Value::boolean(e.trial));
  if (e.usage) out.set("usage", usage_explanation(*e.usage));
  if (e.commitment) {
    json::Value commitment = json::Value::object();
    commitment.set("minimum", money(e.commitment->minimum, currency));
    commitment.set("period_total", money(e.commitment->period_total, currency));
    out.set("commitment", std::move(commitment));
  }
  return out;
}

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
    l.set("amount", money(line.amount, invoice.currency));
    l.set("period_start", instant(line.period.start));
    l.set("period_end", instant(line.period.end));
    l.set("explanation", explanation(line, invoice.currency));
    lines.push_back(std::move(l));
  }
  out.set("lines", std::move(lines));
  out.set("subtotal", money(invoice.subtotal, invoice.currency));
  out.set("total", money(invoice.total, invoice.currency));
  return out;
}

}  // namespace neruba::http::views
