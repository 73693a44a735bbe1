#include "services/billing/line_inputs.hpp"

#include "common/crypto.hpp"
#include "domain/time.hpp"

namespace neruba::services::billing {

namespace pricing = domain::pricing;

json::Value money_json(const domain::Decimal& amount, const domain::Currency& currency) {
  const auto text = domain::format_amount(amount, currency.code(), domain::RoundingMode::half_even);
  return json::Value::string(text ? *text : amount.to_string());
}

namespace {

json::Value instant(Instant at) { return json::Value::string(domain::format_rfc3339(at)); }
json::Value decimal(const domain::Decimal& value) { return json::Value::string(value.to_string()); }

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

}  // namespace

json::Value line_explanation(const pricing::PricedLine& line, const domain::Currency& currency) {
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
    commitment.set("minimum", money_json(e.commitment->minimum, currency));
    commitment.set("period_total", money_json(e.commitment->period_total, currency));
    out.set("commitment", std::move(commitment));
  }
  return out;
}

LineInputs line_inputs(const json::Value& inputs) {
  LineInputs out;
  out.canonical = json::serialize_canonical(inputs);
  out.digest = crypto::sha256_hex(out.canonical);
  return out;
}

}  // namespace neruba::services::billing
