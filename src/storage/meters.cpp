#include "storage/meters.hpp"

#include "domain/time.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage {
namespace {

MeterRecord meter_from_row(const Row& row) {
  MeterRecord meter;
  auto& d = meter.definition;
  d.id = MeterId(row.text(0));
  d.code = row.text(1);
  d.event_type = row.text(2);
  d.aggregation = domain::parse_aggregation(row.text(3)).value_or(domain::Aggregation::count);
  d.field = row.optional_text(4).value_or("");
  const json::Value filters = sql::parse_stored_json(row.text(5));
  for (const auto& member : filters.members()) {
    auto& values = d.filters[member.key];
    for (const auto& item : member.value.items()) values.push_back(item.text());
  }
  const json::Value group_by = sql::parse_stored_json(row.text(6));
  for (const auto& item : group_by.items()) d.group_by.push_back(item.text());
  meter.created_at = domain::from_unix_micros(row.integer(7));
  return meter;
}

std::string filters_json(const domain::MeterDefinition& d) {
  json::Value out = json::Value::object();
  for (const auto& [property, values] : d.filters) {
    json::Value list = json::Value::array();
    for (const auto& value : values) list.push_back(json::Value::string(value));
    out.set(property, std::move(list));
  }
  return json::serialize_canonical(out);
}

std::string group_by_json(const domain::MeterDefinition& d) {
  json::Value out = json::Value::array();
  for (const auto& property : d.group_by) out.push_back(json::Value::string(property));
  return json::serialize(out);
}

}  // namespace

namespace meters {

bool insert(Tx& tx, const TenantId& tenant, const MeterRecord& meter) {
  const auto& d = meter.definition;
  return tx.exec(
             "INSERT INTO meters (tenant_id, meter_id, code, event_type, aggregation, field, "
             "filters, group_by, "
             "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
             {tenant.str(), d.id.str(), d.code, d.event_type,
              std::string(domain::aggregation_name(d.aggregation)),
              d.field.empty() ? Param{} : Param{d.field}, filters_json(d), group_by_json(d),
              domain::to_unix_micros(meter.created_at)}) == 1;
}

std::vector<MeterRecord> list(Tx& tx, const TenantId& tenant) {
  const auto rows = tx.query(
      "SELECT meter_id, code, event_type, aggregation, field, filters, group_by, created_at FROM "
      "meters "
      "WHERE tenant_id = $1 ORDER BY code",
      {tenant.str()});
  std::vector<MeterRecord> out;
  for (const auto& row : rows) out.push_back(meter_from_row(row));
  return out;
}

std::vector<MeterRecord> page(Tx& tx, const TenantId& tenant, const std::string& after_code,
                              std::size_t limit) {
  const auto rows = tx.query(
      "SELECT meter_id, code, event_type, aggregation, field, filters, group_by, created_at FROM "
      "meters "
      "WHERE tenant_id = $1 AND code > $2 ORDER BY code LIMIT $3",
      {tenant.str(), after_code, static_cast<std::int64_t>(limit)});
  std::vector<MeterRecord> out;
  for (const auto& row : rows) out.push_back(meter_from_row(row));
  return out;
}

std::optional<MeterRecord> find_by_code(Tx& tx, const TenantId& tenant, const std::string& code) {
  const auto rows = tx.query(
      "SELECT meter_id, code, event_type, aggregation, field, filters, group_by, created_at FROM "
      "meters "
      "WHERE tenant_id = $1 AND code = $2",
      {tenant.str(), code});
  if (rows.empty()) return std::nullopt;
  return meter_from_row(rows.front());
}

}  // namespace meters

}  // namespace neruba::storage
