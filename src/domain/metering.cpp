#include "domain/metering.hpp"

#include "common/crypto.hpp"

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

std::string distinct_key(std::string_view value_text) {
  if (value_text.size() <= distinct_key_length_max &&
      value_text.find('\0') == std::string_view::npos) {
    return std::string(value_text);
  }
  return "#" + crypto::sha256_hex(value_text);
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

// max: the larger; of equal values the one with more decimal places ("1.5", "1.50"), so the text
// shown never depends on the order partial aggregates are merged.
void keep_max(std::optional<Decimal>& max, const Decimal& value) {
  if (!max || value > *max || (value == *max && value.scale() > max->scale())) max = value;
}

// latest: greatest timestamp, ties broken by the greatest event_id — never arrival order.
template <typename Total>
void keep_latest(Total& total, const std::optional<Instant>& at, const std::string& event_id,
                 const std::optional<Decimal>& value) {
  if (!at) return;
  if (!total.latest_at || *at > *total.latest_at ||
      (*at == *total.latest_at && event_id > total.latest_event_id)) {
    total.latest_at = at;
    total.latest_event_id = event_id;
    total.latest_value = value;
  }
}

// Adds `value` to a bucket's sum (none yet: it becomes the sum); false, and nothing changed, when
// the total would not fit the decimal type.
bool add_to_sum(std::optional<Decimal>& sum, const Decimal& value) {
  if (!sum) {
    sum = value;
    return true;
  }
  const auto total = sum->add(value);
  if (!total) return false;
  sum = *total;
  return true;
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
    result.contribution.distinct = distinct_key(*text);
    return result;
  }
  // Numbers arrive as JSON number literals or decimal strings; both parse exactly.
  if (!value->is_number() && !value->is_string()) {
    result.error = ContributionError::field_not_numeric;
    return result;
  }
  const auto number = Decimal::parse(value->text());
  if (!number) {
    // A well-formed number the exact type cannot hold (1e308, 1e-40, 37 digits) is out of range,
    // not "not a number".
    result.error = number.error == DecimalError::invalid_syntax
                       ? ContributionError::field_not_numeric
                       : ContributionError::field_out_of_range;
    return result;
  }
  result.contribution.number = *number;
  result.contribution.summed = meter.aggregation == Aggregation::sum;
  return result;
}

bool Aggregate::fits(const Contribution& contribution) const {
  if (!contribution.summed || !sum) return true;
  return sum->add(*contribution.number).ok();
}

bool Aggregate::add(const Contribution& contribution, Instant occurred_at,
                    const std::string& event_id) {
  if (contribution.number) {
    if (contribution.summed && !add_to_sum(sum, *contribution.number)) return false;
    keep_max(max, *contribution.number);
    keep_latest(*this, occurred_at, event_id, contribution.number);
  }
  ++events;
  return true;
}

bool Aggregate::merge(const Aggregate& other) {
  if (other.sum && !add_to_sum(sum, *other.sum)) return false;
  events += other.events;
  if (other.max) keep_max(max, *other.max);
  keep_latest(*this, other.latest_at, other.latest_event_id, other.latest_value);
  return true;
}

void UsageTotal::add(const Contribution& contribution, Instant occurred_at,
                     const std::string& event_id) {
  if (contribution.number) {
    if (contribution.summed) sum.add(*contribution.number);
    keep_max(max, *contribution.number);
    keep_latest(*this, occurred_at, event_id, contribution.number);
  }
  if (contribution.distinct) distinct.insert(*contribution.distinct);
  ++events;
}

void UsageTotal::add(const Aggregate& bucket) {
  if (bucket.sum) sum.add(*bucket.sum);
  events += bucket.events;
  if (bucket.max) keep_max(max, *bucket.max);
  keep_latest(*this, bucket.latest_at, bucket.latest_event_id, bucket.latest_value);
}

std::optional<std::string> meter_value(Aggregation aggregation, const UsageTotal& total) {
  switch (aggregation) {
    case Aggregation::count:
      return std::to_string(total.events);
    case Aggregation::sum:
      return total.sum.to_string();
    case Aggregation::max:
      return total.max ? std::optional(total.max->to_string()) : std::nullopt;
    case Aggregation::unique_count:
      return std::to_string(total.distinct.size());
    case Aggregation::latest:
      return total.latest_value ? std::optional(total.latest_value->to_string()) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace neruba::domain
