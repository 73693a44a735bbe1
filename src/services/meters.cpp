#include "services/meters.hpp"

#include <map>
#include <set>
#include <tuple>

#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/validation.hpp"
#include "storage/events.hpp"
#include "storage/locks.hpp"
#include "storage/usage.hpp"

namespace neruba::services::meters {
namespace {

constexpr std::size_t code_length_max = 64;
constexpr std::size_t event_type_length_max = 128;
constexpr std::size_t filters_max = 16;
constexpr std::size_t filter_values_max = 100;
constexpr std::size_t group_by_max = 8;
constexpr std::size_t property_name_length_max = 128;

void read_filters(json::ObjectReader& reader, domain::MeterDefinition& meter) {
  const json::Value* filters = reader.get("filters");
  if (filters == nullptr) return;
  if (!filters->is_object() || filters->members().size() > filters_max) {
    reader.add_error("filters", "invalid_value",
                     "must be an object of at most " + std::to_string(filters_max) + " properties");
    return;
  }
  for (const auto& member : filters->members()) {
    const std::string name = "filters." + member.key;
    if (member.key.empty() || member.key.size() > property_name_length_max ||
        !member.value.is_array() || member.value.items().empty() ||
        member.value.items().size() > filter_values_max) {
      reader.add_error(name, "invalid_value", "must be a non-empty array of at most 100 values");
      continue;
    }
    for (const auto& value : member.value.items()) {
      const auto text = domain::property_text(value);
      if (!text) {
        reader.add_error(name, "invalid_type", "values must be strings, numbers or booleans");
        break;
      }
      meter.filters[member.key].push_back(*text);
    }
  }
}

void read_group_by(json::ObjectReader& reader, domain::MeterDefinition& meter) {
  const json::Value* group_by = reader.get("group_by");
  if (group_by == nullptr) return;
  if (!group_by->is_array() || group_by->items().size() > group_by_max) {
    reader.add_error(
        "group_by", "invalid_value",
        "must be an array of at most " + std::to_string(group_by_max) + " property names");
    return;
  }
  for (const auto& item : group_by->items()) {
    if (!item.is_string() || item.text().empty() || item.text().size() > property_name_length_max) {
      reader.add_error("group_by", "invalid_value", "must hold property names");
      return;
    }
    if (std::find(meter.group_by.begin(), meter.group_by.end(), item.text()) !=
        meter.group_by.end()) {
      reader.add_error("group_by", "invalid_value", "names \"" + item.text() + "\" twice");
      return;
    }
    meter.group_by.push_back(item.text());
  }
}

// Aggregates every stored event of the meter's type into its buckets, as ingest would have. False
// when a bucket's total would not fit the exact decimal type (nothing is then kept: the caller
// fails the transaction).
bool backfill(storage::Tx& tx, const TenantId& tenant, const domain::MeterDefinition& meter) {
  std::map<std::tuple<std::string, Instant, std::string>, domain::Aggregate> buckets;
  std::set<std::tuple<std::string, Instant, std::string, std::string>> distinct;
  bool fits = true;
  storage::events::scan_type(tx, tenant, meter.event_type, [&](const storage::EventRecord& event) {
    if (!fits) return;
    const auto properties = json::parse(event.properties);
    if (!properties) return;
    const auto result = domain::contribute(meter, event.event_type, *properties);
    if (result.error != domain::ContributionError::none) return;
    const Instant hour = domain::usage_bucket_start(event.occurred_at);
    const auto& contribution = result.contribution;
    fits = buckets[{event.customer_id, hour, contribution.group_key}].add(
        contribution, event.occurred_at, event.event_id);
    if (contribution.distinct) {
      distinct.emplace(event.customer_id, hour, contribution.group_key, *contribution.distinct);
    }
  });
  if (!fits) return false;
  // The meter is new: no bucket of it exists yet (ingest reads meters under the meters lock this
  // transaction holds), so the totals are written as they are.
  std::vector<storage::UsageBucket> rows;
  rows.reserve(buckets.size());
  for (auto& [key, aggregate] : buckets) {
    rows.push_back(storage::UsageBucket{meter.id, std::get<0>(key), std::get<1>(key),
                                        std::get<2>(key), std::move(aggregate)});
  }
  storage::usage::store_buckets(tx, tenant, rows);
  std::vector<storage::DistinctValue> values;
  values.reserve(distinct.size());
  for (const auto& [customer, hour, group, value] : distinct) {
    values.push_back(storage::DistinctValue{meter.id, customer, hour, group, value});
  }
  storage::usage::insert_distinct(tx, tenant, values);
  return true;
}

}  // namespace

json::Value meter_document(const storage::MeterRecord& meter) {
  const auto& d = meter.definition;
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(d.id.str()));
  out.set("code", json::Value::string(d.code));
  out.set("event_type", json::Value::string(d.event_type));
  out.set("aggregation", json::Value::string(std::string(domain::aggregation_name(d.aggregation))));
  out.set("field", d.field.empty() ? json::Value::null() : json::Value::string(d.field));
  json::Value filters = json::Value::object();
  for (const auto& [property, values] : d.filters) {
    json::Value list = json::Value::array();
    for (const auto& value : values) list.push_back(json::Value::string(value));
    filters.set(property, std::move(list));
  }
  out.set("filters", std::move(filters));
  json::Value group_by = json::Value::array();
  for (const auto& property : d.group_by) group_by.push_back(json::Value::string(property));
  out.set("group_by", std::move(group_by));
  out.set("created_at", json::Value::string(domain::format_rfc3339(meter.created_at)));
  return out;
}

Result<domain::MeterDefinition> parse_new_meter(const RequestContext& ctx,
                                                const json::Value& body) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  domain::MeterDefinition meter;
  const auto code = reader.required_string("code", code_length_max);
  const auto event_type = reader.required_string("event_type", event_type_length_max);
  const auto aggregation =
      reader.optional_enum("aggregation", {"count", "sum", "max", "unique_count", "latest"});
  if (reader.is_object() && reader.get("aggregation") == nullptr)
    reader.add_error("aggregation", "required", "is required");
  const auto field = reader.optional_string("field", property_name_length_max);
  read_filters(reader, meter);
  read_group_by(reader, meter);
  reader.reject_unknown();
  if (aggregation) {
    meter.aggregation = *domain::parse_aggregation(*aggregation);
    if (domain::aggregation_needs_field(meter.aggregation) && (!field || field->empty())) {
      reader.add_error("field", "required", "is required for aggregation " + *aggregation);
    }
    if (!domain::aggregation_needs_field(meter.aggregation) && field) {
      reader.add_error("field", "invalid_value", "count meters take no field");
    }
  }
  if (!errors.empty()) return Error::invalid(std::move(errors));
  meter.code = *code;
  meter.event_type = *event_type;
  if (!is_valid_identifier(meter.code, code_length_max)) {
    return Error::invalid(
        {FieldError{"code", "invalid_value", "must be " + std::string(identifier_rule), {}}});
  }
  if (!is_valid_identifier(meter.event_type, event_type_length_max)) {
    return Error::invalid(
        {FieldError{"event_type", "invalid_value", "must be " + std::string(identifier_rule), {}}});
  }
  meter.field = field.value_or("");
  meter.id = MeterId(ctx.new_id(id_prefix::meter));
  return meter;
}

Result<storage::MeterRecord> create(storage::Tx& tx, const RequestContext& ctx,
                                    const domain::MeterDefinition& meter) {
  const storage::MeterRecord record{meter, ctx.now};
  // Ingest holds the tenant's meters shared from before it reads them until it commits: this
  // waits for the commits in flight, so the backfill below sees every event committed before the
  // meter exists, and every later commit sees the meter. Taken before the audit append locks the
  // tenant row, in the order ingest takes them.
  storage::locks::meters_exclusive(tx, ctx.principal.tenant);
  if (!storage::meters::insert(tx, ctx.principal.tenant, record)) {
    return Error{ErrorCode::already_exists,
                 "A meter with code \"" + meter.code + "\" already exists.",
                 {FieldError{"code", "already_exists", "is already used by another meter", {}}},
                 {}};
  }
  audit::append(tx, ctx, ctx.principal.tenant,
                {"meter.created", meter.id.str(), std::nullopt, meter_document(record), {}, {}});
  if (!backfill(tx, ctx.principal.tenant, meter)) {
    return Error::make(ErrorCode::out_of_range,
                       "The events already stored for this meter add up, within one hour, to more "
                       "than 36 significant digits; the meter was not created.");
  }
  return record;
}

Page<storage::MeterRecord> list(storage::Tx& tx, const RequestContext& ctx,
                                const std::string& cursor, std::size_t limit) {
  return page_of(storage::meters::page(tx, ctx.principal.tenant, cursor, limit + 1), limit,
                 [](const storage::MeterRecord& meter) { return meter.definition.code; });
}

Result<storage::MeterRecord> get(storage::Tx& tx, const RequestContext& ctx,
                                 const std::string& code) {
  auto meter = storage::meters::find_by_code(tx, ctx.principal.tenant, code);
  if (!meter) return Error::not_found("The meter");
  return std::move(*meter);
}

}  // namespace neruba::services::meters
