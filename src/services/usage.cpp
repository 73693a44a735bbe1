#include "services/usage.hpp"

#include "common/crypto.hpp"
#include "common/limits.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/page.hpp"
#include "services/validation.hpp"
#include "storage/repositories.hpp"

namespace neruba::services::usage {
namespace {

constexpr std::size_t filters_max = 16;
constexpr std::size_t filter_values_max = 100;
constexpr std::size_t group_by_max = 8;
constexpr std::size_t property_name_length_max = 128;

json::Value meter_json(const storage::MeterRecord& meter) {
  const auto& d = meter.definition;
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(d.id));
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
  out.set("created_at",
          json::Value::string(domain::format_rfc3339(domain::from_unix_micros(meter.created_at))));
  return out;
}

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
  std::map<std::tuple<std::string, std::int64_t, std::string>, domain::Aggregate> buckets;
  std::set<std::tuple<std::string, std::int64_t, std::string, std::string>> distinct;
  bool fits = true;
  storage::events::scan_type(tx, tenant, meter.event_type, [&](const storage::EventRecord& event) {
    const auto properties = json::parse(event.properties);
    if (!properties) return;
    const auto result = domain::contribute(meter, event.event_type, *properties);
    if (result.error != domain::ContributionError::none) return;
    const std::int64_t hour = domain::usage_bucket_start(event.occurred_at);
    domain::Contribution counted = result.contribution;
    counted.text.reset();
    fits = buckets[{event.customer_id, hour, result.contribution.group_key}].add(
               counted, event.occurred_at, event.event_id) &&
           fits;
    if (result.contribution.text) {
      distinct.emplace(event.customer_id, hour, result.contribution.group_key,
                       *result.contribution.text);
    }
  });
  if (!fits) return false;
  // The meter is new: no bucket of it exists yet (ingest reads meters under the meters lock this
  // transaction holds), so the totals are written as they are.
  std::vector<storage::UsageBucket> rows;
  for (auto& [key, aggregate] : buckets) {
    rows.push_back(storage::UsageBucket{meter.id, std::get<0>(key), std::get<1>(key),
                                        std::get<2>(key), std::move(aggregate)});
  }
  storage::usage::store_buckets(tx, tenant, rows);
  std::vector<storage::DistinctValue> values;
  for (const auto& [customer, hour, group, value] : distinct) {
    values.push_back(storage::DistinctValue{meter.id, customer, hour, group, value});
  }
  storage::usage::insert_distinct(tx, tenant, values);
  return true;
}

// False when a total no longer fits the exact decimal type.
bool add_raw_events(storage::Tx& tx, const TenantId& tenant, const domain::MeterDefinition& meter,
                    const std::string& customer_id, std::int64_t from, std::int64_t to,
                    MeterUsage& usage) {
  if (from >= to) return true;
  for (const auto& event :
       storage::events::range(tx, tenant, customer_id, meter.event_type, from, to)) {
    const auto properties = json::parse(event.properties);
    if (!properties) continue;
    const auto result = domain::contribute(meter, event.event_type, *properties);
    if (result.error != domain::ContributionError::none) continue;
    auto& group = usage.groups[result.contribution.group_key];
    if (!usage.total.add(result.contribution, event.occurred_at, event.event_id) ||
        !group.add(result.contribution, event.occurred_at, event.event_id)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<Reply> create_meter(storage::Tx& tx, const RequestContext& ctx, const json::Value& body,
                           std::string id) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  domain::MeterDefinition meter;
  meter.id = std::move(id);
  const auto code = reader.required_string("code", 64);
  const auto event_type = reader.required_string("event_type", 128);
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
  if (!is_valid_identifier(meter.code, 64)) {
    return Error::invalid(
        {FieldError{"code", "invalid_value", "must be " + std::string(identifier_rule), {}}});
  }
  if (!is_valid_identifier(meter.event_type, 128)) {
    return Error::invalid(
        {FieldError{"event_type", "invalid_value", "must be " + std::string(identifier_rule), {}}});
  }
  meter.field = field.value_or("");
  const storage::MeterRecord record{meter, domain::to_unix_micros(ctx.now)};
  json::Value representation = meter_json(record);
  // Ingest holds the tenant's meters shared from before it reads them until it commits: this
  // waits for the commits in flight, so the backfill below sees every event committed before the
  // meter exists, and every later commit sees the meter. Taken before the audit append locks the
  // tenant row, in the order ingest takes them.
  storage::meters::lock(tx, ctx.principal.tenant);
  audit::append(tx, ctx, ctx.principal.tenant,
                {"meter.created", meter.id, std::nullopt, representation, {}, {}});
  if (!storage::meters::insert(tx, ctx.principal.tenant, record)) {
    return Error{ErrorCode::already_exists,
                 "A meter with code \"" + meter.code + "\" already exists.",
                 {FieldError{"code", "already_exists", "is already used by another meter", {}}},
                 {}};
  }
  if (!backfill(tx, ctx.principal.tenant, meter)) {
    return Error::make(ErrorCode::out_of_range,
                       "The events already stored for this meter add up, within one hour, to more "
                       "than 36 significant digits; the meter was not created.");
  }
  return Reply{201, std::move(representation)};
}

Result<Reply> list_meters(storage::Tx& tx, const RequestContext& ctx, const std::string& cursor,
                          std::size_t limit) {
  return page_reply(storage::meters::page(tx, ctx.principal.tenant, cursor, limit + 1), limit,
                    meter_json,
                    [](const storage::MeterRecord& meter) { return meter.definition.code; });
}

Result<Reply> get_meter(storage::Tx& tx, const RequestContext& ctx, const std::string& code) {
  const auto meter = storage::meters::find_by_code(tx, ctx.principal.tenant, code);
  if (!meter) return Error::not_found("The meter");
  return Reply{200, meter_json(*meter)};
}

Result<MeterUsage> meter_usage(storage::Tx& tx, const TenantId& tenant,
                               const domain::MeterDefinition& meter, const std::string& customer_id,
                               std::int64_t from, std::int64_t to) {
  MeterUsage usage;
  if (from >= to) return usage;
  const Error overflow = Error::make(
      ErrorCode::out_of_range,
      "The usage of meter \"" + meter.code + "\" over this window exceeds 36 significant digits.");
  const std::int64_t from_bucket = domain::usage_bucket_start(from);
  const std::int64_t first_whole =
      from_bucket == from ? from : from_bucket + domain::usage_bucket_micros;
  const std::int64_t last_whole_end = domain::usage_bucket_start(to);
  if (first_whole >= last_whole_end) {
    if (!add_raw_events(tx, tenant, meter, customer_id, from, to, usage)) return overflow;
    return usage;
  }
  if (!add_raw_events(tx, tenant, meter, customer_id, from, first_whole, usage)) return overflow;
  for (const auto& bucket :
       storage::usage::buckets(tx, tenant, meter.id, customer_id, first_whole, last_whole_end)) {
    if (!usage.total.merge(bucket.aggregate) ||
        !usage.groups[bucket.group_key].merge(bucket.aggregate)) {
      return overflow;
    }
  }
  if (meter.aggregation == domain::Aggregation::unique_count) {
    for (const auto& value :
         storage::usage::distinct(tx, tenant, meter.id, customer_id, first_whole, last_whole_end)) {
      usage.total.distinct.insert(value.value);
      usage.groups[value.group_key].distinct.insert(value.value);
    }
  }
  if (!add_raw_events(tx, tenant, meter, customer_id, last_whole_end, to, usage)) return overflow;
  return usage;
}

Result<Reply> customer_usage(storage::Tx& tx, const RequestContext& ctx,
                             const std::string& external_id, Instant from, Instant to) {
  const TenantId& tenant = ctx.principal.tenant;
  const auto customer = storage::customers::find_by_external_id(tx, tenant, external_id);
  if (!customer) return Error::not_found("The customer");
  json::Value meters = json::Value::array();
  for (const auto& meter : storage::meters::list(tx, tenant)) {
    const auto& d = meter.definition;
    const auto measured = meter_usage(tx, tenant, d, customer->id.str(),
                                      domain::to_unix_micros(from), domain::to_unix_micros(to));
    if (!measured) return measured.error();
    const MeterUsage& usage = measured.value();
    const auto value_json = [&](const domain::Aggregate& aggregate) {
      const auto value = domain::meter_value(d.aggregation, aggregate);
      return value ? json::Value::string(*value) : json::Value::null();
    };
    json::Value item = json::Value::object();
    item.set("meter", json::Value::string(d.code));
    item.set("aggregation",
             json::Value::string(std::string(domain::aggregation_name(d.aggregation))));
    item.set("value", value_json(usage.total));
    item.set("events", json::Value::number(usage.total.events));
    if (!d.group_by.empty()) {
      json::Value groups = json::Value::array();
      for (const auto& [key, aggregate] : usage.groups) {
        json::Value group = json::Value::object();
        group.set("group", *json::parse(key));
        group.set("value", value_json(aggregate));
        group.set("events", json::Value::number(aggregate.events));
        groups.push_back(std::move(group));
      }
      item.set("groups", std::move(groups));
    }
    meters.push_back(std::move(item));
  }
  json::Value out = json::Value::object();
  out.set("customer", json::Value::string(external_id));
  out.set("from", json::Value::string(domain::format_rfc3339(from)));
  out.set("to", json::Value::string(domain::format_rfc3339(to)));
  out.set("meters", std::move(meters));
  return Reply{200, std::move(out)};
}

}  // namespace neruba::services::usage
