// Customers, meters, usage reads and ingest answers.
#include "http/views/views.hpp"

#include "domain/time.hpp"

namespace neruba::http::views {
namespace {

json::Value value_of(domain::Aggregation aggregation, const domain::UsageTotal& total) {
  const auto value = domain::meter_value(aggregation, total);
  return value ? json::Value::string(*value) : json::Value::null();
}

json::Value meter_usage(const services::usage::MeterUsage& usage) {
  const auto& d = usage.meter.definition;
  json::Value item = json::Value::object();
  item.set("meter", json::Value::string(d.code));
  item.set("aggregation",
           json::Value::string(std::string(domain::aggregation_name(d.aggregation))));
  item.set("value", value_of(d.aggregation, usage.total));
  item.set("events", json::Value::number(usage.total.events));
  if (!d.group_by.empty()) {
    json::Value groups = json::Value::array();
    for (const auto& [key, total] : usage.groups) {
      auto group_values = json::parse(key);
      json::Value group = json::Value::object();
      group.set("group", group_values ? std::move(group_values).value() : json::Value::null());
      group.set("value", value_of(d.aggregation, total));
      group.set("events", json::Value::number(total.events));
      groups.push_back(std::move(group));
    }
    item.set("groups", std::move(groups));
  }
  return item;
}

}  // namespace

json::Value customer(const storage::CustomerRecord& customer) {
  return services::customers::customer_document(customer);
}

json::Value meter(const storage::MeterRecord& meter) {
  return services::meters::meter_document(meter);
}

json::Value customer_usage(const services::usage::CustomerUsage& usage) {
  json::Value meters = json::Value::array();
  for (const auto& meter : usage.meters) meters.push_back(meter_usage(meter));
  json::Value out = json::Value::object();
  out.set("customer", json::Value::string(usage.external_id));
  out.set("from", json::Value::string(domain::format_rfc3339(usage.from)));
  out.set("to", json::Value::string(domain::format_rfc3339(usage.to)));
  out.set("meters", std::move(meters));
  return out;
}

json::Value ingest_report(const services::ingest::IngestReport& report) {
  using services::ingest::OutcomeKind;
  json::Value conflicts = json::Value::array();
  json::Value rejected = json::Value::array();
  for (const auto& outcome : report.outcomes) {
    if (outcome.kind == OutcomeKind::duplicate) continue;  // counted, not listed
    json::Value item = json::Value::object();
    item.set("index", json::Value::number(static_cast<std::int64_t>(outcome.index)));
    item.set("event_id", json::Value::string(outcome.event_id));
    if (outcome.kind == OutcomeKind::conflict) {
      conflicts.push_back(std::move(item));
      continue;
    }
    item.set("type", json::Value::string(std::string(reason_of(outcome.reason).slug)));
    if (!outcome.field.empty()) item.set("field", json::Value::string(outcome.field));
    item.set("detail", json::Value::string(outcome.detail));
    rejected.push_back(std::move(item));
  }
  json::Value out = json::Value::object();
  out.set("accepted", json::Value::number(static_cast<std::int64_t>(report.accepted)));
  out.set("duplicates", json::Value::number(static_cast<std::int64_t>(report.duplicates)));
  out.set("conflicts", std::move(conflicts));
  out.set("rejected", std::move(rejected));
  return out;
}

}  // namespace neruba::http::views
