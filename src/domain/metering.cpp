#include "domain/metering.hpp"

namespace neruba::domain {

std::optional<Aggregation> parse_aggregation(std::string_view name) {
  if (name == "count") return Aggregation::count;
  if (name == "sum") return Aggregation::sum;
  if (name == "max") return Aggregation::max;
  if (name == "unique_count") return Aggregation::unique_count;
  if (name == "latest") return Aggregation::latest;
  return std::nullopt;
}

std::string_view aggregation_name(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::count:
      return "count";
    case Aggregation::sum:
      return "sum";
    case Aggregation::max:
      return "max";
    case Aggregation::unique_count:
      return "unique_count";
    case Aggregation::latest:
      return "latest";
  }
  return "count";
}

bool aggregation_needs_field(Aggregation aggregation) { return aggregation != Aggregation::count; }

std::optional<std::string> property_text(const json::Value& value) {
  switch (value.kind()) {
    case json::Value::Kind::string:
    case json::Value::Kind::number:
      return value.text();
    case json::Value::Kind::boolean:
      return std::string(value.as_bool() ? "true" : "false");
    default:
      return std::nullopt;
  }
}

namespace {

bool matches_filters(const MeterDefinition& meter, const json::Value& properties) {
  for (const auto& [property, allowed] : meter.filters) {
    const json::Value* value = properties.find(property);
    if (value == nullptr) return false;
    const auto text = property_text(*value);
    if (!text) return false;
    bool found = false;
    for (const auto& candidate : allowed) found = found || candidate == *text;
    if (!found) return false;
  }
  return true;
}

// {"region":"eu"}: the group's values by name, canonical so equal groups have equal keys. A
// missing group property is null: its events still count, in their own group.
std::string group_key(const MeterDefinition& meter, const json::Value& properties) {
  if (meter.group_by.empty()) return "{}";
  json::Value key = json::Value::object();
  for (const auto& property : meter.group_by) {
    const json::Value* value = properties.find(property);
    const auto text = value == nullptr ? std::nullopt : property_text(*value);
    key.set(property, text ? json::Value::string(*text) : json::Value::null());
  }
  return json::serialize_canonical(key);
}

}  // namespace

ContributionResult contribute(const MeterDefinition& meter, const std::string& event_type,
                              const json::Value& properties) {
  ContributionResult result;
  if (event_type != meter.event_type || !matches_filters(meter, properties)) {
    result.error = ContributionError::not_matching;
    return result;
  }
  result.contribution.group_key = group_key(meter, properties);
  if (!aggregation_needs_field(meter.aggregation)) return result;
  const json::Value* value = properties.find(meter.field);
  if (value == nullptr || value->is_null()) {
    result.error = ContributionError::field_missing;
    return result;
  }
  if (meter.aggregation == Aggregation::unique_count) {
    const auto text = property_text(*value);
    if (!text) {
      result.error = ContributionError::field_not_numeric;
      return result;
    }
    result.contribution.text = *text;
    return result;
  }
  // Numbers arrive as JSON number literals or decimal strings; both parse exactly.
  const auto number =
      (value->is_number() || value->is_string()) ? Decimal::parse(value->text()) : DecimalResult{};
  if (!number) {
    result.error = ContributionError::field_not_numeric;
    return result;
  }
  result.contribution.number = *number;
  return result;
}

namespace {

// The sum after adding `value`: nullopt when it no longer fits the decimal type.
std::optional<Decimal> sum_with(const std::optional<Decimal>& sum, const Decimal& value) {
  if (!sum) return value;
  const auto total = sum->add(value);
  if (!total) return std::nullopt;
  return *total;
}

}  // namespace

bool Aggregate::fits(const Contribution& contribution) const {
  return !contribution.number || sum_with(sum, *contribution.number).has_value();
}

bool Aggregate::add(const Contribution& contribution, std::int64_t occurred_at,
                    const std::string& event_id) {
  if (contribution.number) {
    const auto total = sum_with(sum, *contribution.number);
    if (!total) return false;
    sum = *total;
    const Decimal& value = *contribution.number;
    if (!max || value > *max || (value == *max && value.scale() > max->scale())) max = value;
    if (!latest_at || occurred_at > *latest_at ||
        (occurred_at == *latest_at && event_id > latest_event_id)) {
      latest_at = occurred_at;
      latest_event_id = event_id;
      latest_value = value;
    }
  }
  ++events;
  if (contribution.text) distinct.insert(*contribution.text);
  return true;
}

bool Aggregate::merge(const Aggregate& other) {
  if (other.sum) {
    const auto total = sum_with(sum, *other.sum);
    if (!total) return false;
    sum = *total;
  }
  events += other.events;
  // Equal values may differ in scale ("1.5", "1.50"): the larger scale wins, so the text shown
  // never depends on the order partial aggregates are merged.
  if (other.max &&
      (!max || *other.max > *max || (*other.max == *max && other.max->scale() > max->scale()))) {
    max = other.max;
  }
  // latest: greatest timestamp, ties broken by the greatest event_id — never arrival order.
  if (other.latest_at &&
      (!latest_at || *other.latest_at > *latest_at ||
       (*other.latest_at == *latest_at && other.latest_event_id > latest_event_id))) {
    latest_at = other.latest_at;
    latest_event_id = other.latest_event_id;
    latest_value = other.latest_value;
  }
  distinct.insert(other.distinct.begin(), other.distinct.end());
  return true;
}

std::optional<std::string> meter_value(Aggregation aggregation, const Aggregate& aggregate) {
  switch (aggregation) {
    case Aggregation::count:
      return std::to_string(aggregate.events);
    case Aggregation::sum:
      return aggregate.sum ? aggregate.sum->to_string() : "0";
    case Aggregation::max:
      return aggregate.max ? std::optional(aggregate.max->to_string()) : std::nullopt;
    case Aggregation::unique_count:
      return std::to_string(aggregate.distinct.size());
    case Aggregation::latest:
      return aggregate.latest_value ? std::optional(aggregate.latest_value->to_string())
                                    : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace neruba::domain
