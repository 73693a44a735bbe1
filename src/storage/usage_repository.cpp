#include "storage/usage_repository.hpp"

#include <unordered_map>

namespace neruba::storage {
namespace {

constexpr std::size_t lookup_chunk = 200;  // ids per `IN (…)` lookup; short chunks padded with NULL
constexpr std::size_t insert_chunk = 100;  // rows per multi-row INSERT

// "($1, $2, $3), ($4, $5, $6)" for `rows` rows of `columns` placeholders.
std::string values_clause(std::size_t rows, std::size_t columns) {
  std::string out;
  std::size_t param = 1;
  for (std::size_t r = 0; r < rows; ++r) {
    out += r == 0 ? "(" : ", (";
    for (std::size_t c = 0; c < columns; ++c) {
      if (c > 0) out += ", ";
      out += "$" + std::to_string(param++);
    }
    out += ")";
  }
  return out;
}

// Runs `prefix VALUES (…), (…) suffix` over rows in chunks; `bind` appends one row's params.
// Rows returned by a RETURNING suffix are collected into `returned` when it is non-null.
template <typename RowT>
void insert_rows(Tx& tx, std::string_view prefix, std::string_view suffix, std::size_t columns,
                 const std::vector<RowT>& rows,
                 const std::function<void(const RowT&, std::vector<Param>&)>& bind,
                 Rows* returned = nullptr) {
  std::size_t start = 0;
  std::vector<Param> params;
  while (start < rows.size()) {
    const std::size_t count = std::min(insert_chunk, rows.size() - start);
    std::string sql(prefix);
    sql += " VALUES ";
    sql += values_clause(count, columns);
    sql += suffix;
    params.clear();
    params.reserve(count * columns);
    for (std::size_t i = start; i < start + count; ++i) bind(rows[i], params);
    if (returned != nullptr) {
      for (auto& row : tx.query(sql, params)) returned->push_back(std::move(row));
    } else {
      tx.exec(sql, params);
    }
    start += count;
  }
}

Param optional_text(const std::optional<std::string>& value) {
  if (value) return *value;
  return std::monostate{};
}

std::optional<domain::Decimal> parse_stored_decimal(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  const auto value = domain::Decimal::parse(*text);
  if (!value) throw StorageError(StorageError::Kind::other, "stored decimal is corrupt: " + *text);
  return *value;
}

EventRecord event_from_row(const Row& row) {
  return EventRecord{row.text(0), row.text(1), row.text(2),   row.integer(3),
                     row.text(4), row.text(5), row.integer(6)};
}

constexpr std::string_view event_columns =
    "event_id, customer_id, event_type, occurred_at, properties, content_hash, received_at";

json::Value parse_json_column(const std::string& text) {
  auto parsed = json::parse(text);
  if (!parsed) throw StorageError(StorageError::Kind::other, "stored JSON is corrupt");
  return std::move(parsed).value();
}

MeterRecord meter_from_row(const Row& row) {
  MeterRecord meter;
  auto& d = meter.definition;
  d.id = row.text(0);
  d.code = row.text(1);
  d.event_type = row.text(2);
  d.aggregation = domain::parse_aggregation(row.text(3)).value_or(domain::Aggregation::count);
  d.field = row.optional_text(4).value_or("");
  const json::Value filters = parse_json_column(row.text(5));
  for (const auto& member : filters.members()) {
    auto& values = d.filters[member.key];
    for (const auto& item : member.value.items()) values.push_back(item.text());
  }
  const json::Value group_by = parse_json_column(row.text(6));
  for (const auto& item : group_by.items()) d.group_by.push_back(item.text());
  meter.created_at = row.integer(7);
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

namespace events {

std::vector<std::pair<std::string, std::string>> existing_hashes(
    Tx& tx, const TenantId& tenant, const std::vector<std::string>& event_ids) {
  static const std::string sql = [] {
    std::string out =
        "SELECT event_id, content_hash FROM events WHERE tenant_id = $1 AND event_id IN (";
    for (std::size_t i = 0; i < lookup_chunk; ++i)
      out += (i == 0 ? "$" : ", $") + std::to_string(i + 2);
    return out + ")";
  }();
  std::vector<std::pair<std::string, std::string>> found;
  if (event_ids.empty()) return found;
  if (tx.dialect() == Dialect::postgres) {
    // One text[] parameter: a plan that stays an index lookup however the table grows (a cached
    // generic plan for a long IN list was seen to turn into a sequential scan).
    std::string array = "{";
    for (std::size_t i = 0; i < event_ids.size(); ++i) {
      if (i > 0) array.push_back(',');
      array.push_back('"');
      for (const char c : event_ids[i]) {
        if (c == '"' || c == '\\') array.push_back('\\');
        array.push_back(c);
      }
      array.push_back('"');
    }
    array.push_back('}');
    const auto rows = tx.query(
        "SELECT event_id, content_hash FROM events WHERE tenant_id = $1 AND "
        "event_id = ANY(CAST($2 AS TEXT[]))",
        {tenant.str(), array});
    for (const auto& row : rows) found.emplace_back(row.text(0), row.text(1));
    return found;
  }
  std::vector<Param> params;
  for (std::size_t start = 0; start < event_ids.size(); start += lookup_chunk) {
    params.assign(1, tenant.str());
    for (std::size_t i = 0; i < lookup_chunk; ++i) {
      if (start + i < event_ids.size())
        params.emplace_back(event_ids[start + i]);
      else
        params.emplace_back(std::monostate{});
    }
    for (const auto& row : tx.query(sql, params)) found.emplace_back(row.text(0), row.text(1));
  }
  return found;
}

std::vector<std::string> insert(Tx& tx, const TenantId& tenant,
                                const std::vector<EventRecord>& rows) {
  Rows returned;
  insert_rows<EventRecord>(
      tx,
      "INSERT INTO events (tenant_id, event_id, customer_id, event_type, occurred_at, properties, "
      "content_hash, received_at)",
      " ON CONFLICT DO NOTHING RETURNING event_id", 8, rows,
      [&](const EventRecord& e, std::vector<Param>& p) {
        p.emplace_back(tenant.str());
        p.emplace_back(e.event_id);
        p.emplace_back(e.customer_id);
        p.emplace_back(e.event_type);
        p.emplace_back(e.occurred_at);
        p.emplace_back(e.properties);
        p.emplace_back(e.content_hash);
        p.emplace_back(e.received_at);
      },
      &returned);
  std::vector<std::string> inserted;
  inserted.reserve(returned.size());
  for (const auto& row : returned) inserted.push_back(row.text(0));
  return inserted;
}

std::vector<EventRecord> range(Tx& tx, const TenantId& tenant, const std::string& customer_id,
                               const std::string& event_type, std::int64_t from, std::int64_t to) {
  const auto rows =
      tx.query(std::string("SELECT ") + std::string(event_columns) +
                   " FROM events WHERE tenant_id = $1 AND customer_id = $2 AND event_type = $3 "
                   "AND occurred_at >= $4 AND occurred_at < $5 ORDER BY occurred_at, event_id",
               {tenant.str(), customer_id, event_type, from, to});
  std::vector<EventRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(event_from_row(row));
  return out;
}

void scan_type(Tx& tx, const TenantId& tenant, const std::string& event_type,
               const std::function<void(const EventRecord&)>& visit) {
  constexpr std::int64_t page = 5000;
  std::string after;
  while (true) {
    const auto rows =
        tx.query(std::string("SELECT ") + std::string(event_columns) +
                     " FROM events WHERE tenant_id = $1 AND event_type = $2 AND event_id > $3 "
                     "ORDER BY event_id LIMIT $4",
                 {tenant.str(), event_type, after, page});
    for (const auto& row : rows) visit(event_from_row(row));
    if (static_cast<std::int64_t>(rows.size()) < page) return;
    after = rows.back().text(0);
  }
}

}  // namespace events

namespace meters {

bool insert(Tx& tx, const TenantId& tenant, const MeterRecord& meter) {
  const auto& d = meter.definition;
  return tx.exec(
             "INSERT INTO meters (tenant_id, meter_id, code, event_type, aggregation, field, "
             "filters, group_by, "
             "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
             {tenant.str(), d.id, d.code, d.event_type,
              std::string(domain::aggregation_name(d.aggregation)),
              d.field.empty() ? Param{} : Param{d.field}, filters_json(d), group_by_json(d),
              meter.created_at}) == 1;
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

namespace usage {

void insert_deltas(Tx& tx, const TenantId& tenant, const std::string& batch_id,
                   const std::vector<UsageDelta>& rows) {
  insert_rows<UsageDelta>(
      tx,
      "INSERT INTO usage_deltas (tenant_id, meter_id, customer_id, bucket_start, group_key, "
      "batch_id, "
      "event_count, sum_value, max_value, latest_at, latest_event_id, latest_value)",
      "", 12, rows, [&](const UsageDelta& d, std::vector<Param>& p) {
        const auto& a = d.aggregate;
        p.emplace_back(tenant.str());
        p.emplace_back(d.meter_id);
        p.emplace_back(d.customer_id);
        p.emplace_back(d.bucket_start);
        p.emplace_back(d.group_key);
        p.emplace_back(batch_id);
        p.emplace_back(a.events);
        p.emplace_back(optional_text(a.sum ? std::optional(a.sum->to_string()) : std::nullopt));
        p.emplace_back(optional_text(a.max ? std::optional(a.max->to_string()) : std::nullopt));
        p.emplace_back(a.latest_at ? Param{*a.latest_at} : Param{});
        p.emplace_back(a.latest_at ? Param{a.latest_event_id} : Param{});
        p.emplace_back(optional_text(a.latest_value ? std::optional(a.latest_value->to_string())
                                                    : std::nullopt));
      });
}

void insert_distinct(Tx& tx, const TenantId& tenant, const std::vector<DistinctValue>& rows) {
  insert_rows<DistinctValue>(tx,
                             "INSERT INTO usage_distinct (tenant_id, meter_id, customer_id, "
                             "bucket_start, group_key, value)",
                             " ON CONFLICT DO NOTHING", 6, rows,
                             [&](const DistinctValue& d, std::vector<Param>& p) {
                               p.emplace_back(tenant.str());
                               p.emplace_back(d.meter_id);
                               p.emplace_back(d.customer_id);
                               p.emplace_back(d.bucket_start);
                               p.emplace_back(d.group_key);
                               p.emplace_back(d.value);
                             });
}

std::vector<UsageDelta> deltas(Tx& tx, const TenantId& tenant, const std::string& meter_id,
                               const std::string& customer_id, std::int64_t from, std::int64_t to) {
  const auto rows = tx.query(
      "SELECT bucket_start, group_key, event_count, sum_value, max_value, latest_at, "
      "latest_event_id, latest_value "
      "FROM usage_deltas WHERE tenant_id = $1 AND meter_id = $2 AND customer_id = $3 AND "
      "bucket_start >= $4 "
      "AND bucket_start < $5",
      {tenant.str(), meter_id, customer_id, from, to});
  std::vector<UsageDelta> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    UsageDelta delta;
    delta.meter_id = meter_id;
    delta.customer_id = customer_id;
    delta.bucket_start = row.integer(0);
    delta.group_key = row.text(1);
    delta.aggregate.events = row.integer(2);
    delta.aggregate.sum = parse_stored_decimal(row.optional_text(3));
    delta.aggregate.max = parse_stored_decimal(row.optional_text(4));
    if (!row.is_null(5)) {
      delta.aggregate.latest_at = row.integer(5);
      delta.aggregate.latest_event_id = row.text(6);
      delta.aggregate.latest_value = parse_stored_decimal(row.optional_text(7));
    }
    out.push_back(std::move(delta));
  }
  return out;
}

std::vector<DistinctValue> distinct(Tx& tx, const TenantId& tenant, const std::string& meter_id,
                                    const std::string& customer_id, std::int64_t from,
                                    std::int64_t to) {
  const auto rows = tx.query(
      "SELECT bucket_start, group_key, value FROM usage_distinct WHERE tenant_id = $1 AND meter_id "
      "= $2 "
      "AND customer_id = $3 AND bucket_start >= $4 AND bucket_start < $5",
      {tenant.str(), meter_id, customer_id, from, to});
  std::vector<DistinctValue> out;
  for (const auto& row : rows) {
    out.push_back(DistinctValue{meter_id, customer_id, row.integer(0), row.text(1), row.text(2)});
  }
  return out;
}

}  // namespace usage

}  // namespace neruba::storage
