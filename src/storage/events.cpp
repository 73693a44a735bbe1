#include "storage/events.hpp"

#include <unordered_map>

#include "common/limits.hpp"
#include "domain/metering.hpp"
#include "domain/time.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage {
namespace {

using sql::bigint_array;
using sql::present;
using sql::text_array;

constexpr std::size_t lookup_chunk = 200;  // ids per `IN (…)` lookup; short chunks padded with NULL

EventRecord event_from_row(const Row& row) {
  return EventRecord{row.text(0),
                     row.text(1),
                     row.text(2),
                     domain::from_unix_micros(row.integer(3)),
                     row.text(4),
                     row.text(5),
                     domain::from_unix_micros(row.integer(6))};
}

constexpr std::string_view event_columns =
    "event_id, customer_id, event_type, occurred_at, properties, content_hash, received_at";

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
    const std::string array =
        text_array(event_ids, [](const std::string& id) { return present(id); });
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

std::string copy_data(const TenantId& tenant, std::span<const NewEvent> rows) {
  BinaryCopy copy;
  // The exact size, so the stream is built in one allocation.
  std::size_t bytes = BinaryCopy::framing_bytes;
  for (const NewEvent& e : rows) {
    bytes += BinaryCopy::row_bytes(8) + 2 * BinaryCopy::bigint_bytes + tenant.str().size() +
             e.event_id.size() + e.customer_id.size() + e.event_type.size() + e.properties.size() +
             e.content_hash.size();
  }
  copy.reserve(bytes);
  for (const NewEvent& e : rows) {
    copy.row(8);
    copy.text(tenant.str());
    copy.text(e.event_id);
    copy.text(e.customer_id);
    copy.text(e.event_type);
    copy.bigint(domain::to_unix_micros(e.occurred_at));
    copy.text(e.properties);
    copy.text(e.content_hash);
    copy.bigint(domain::to_unix_micros(e.received_at));
  }
  return std::move(copy).finish();
}

bool can_copy(const Tx& tx) { return tx.dialect() == Dialect::postgres; }

// PostgreSQL: the rows by binary COPY, as the benchmark ceiling writes them — about half the
// server's work of `INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING` (no arrays to parse, no
// conflict probe before each insert, heap pages filled many rows at a time). COPY has no ON
// CONFLICT: it runs under a savepoint and is undone, returning false, when an event_id is already
// stored (a resend: the caller then inserts with ON CONFLICT). New events are the common case; a
// resent batch fails at its first row, having cost little.
bool copy_all(Tx& tx, const TenantId& tenant, std::span<const NewEvent> rows) {
  if (!can_copy(tx)) throw StorageError(StorageError::Kind::other, "COPY needs PostgreSQL");
  if (rows.empty()) return true;
  const std::string data = copy_data(tenant, rows);
  tx.exec("SAVEPOINT copy_events");
  try {
    tx.copy_in(copy_sql, data);
  } catch (const StorageError& error) {
    if (error.kind() != StorageError::Kind::unique_violation) throw;  // an event_id is stored
    tx.exec("ROLLBACK TO copy_events");
    tx.exec("RELEASE copy_events");
    return false;
  }
  tx.exec("RELEASE copy_events");
  return true;
}

std::vector<bool> insert(Tx& tx, const TenantId& tenant, std::span<const NewEvent> rows) {
  std::vector<bool> inserted(rows.size(), false);
  if (rows.empty()) return inserted;
  if (tx.dialect() == Dialect::postgres) {
    // Each COPY's savepoint is a subtransaction with an id of its own; PostgreSQL tracks 64 per
    // transaction cheaply, and only batches this large use one (common/limits.hpp).
    if (rows.size() >= limits::ingest_postgres_copy_events_min && copy_all(tx, tenant, rows)) {
      inserted.assign(rows.size(), true);
      return inserted;
    }
    // One statement for the whole batch: a parameter per column, unnested server-side.
    const auto text = [&](auto member) {
      return text_array(rows, [&](const NewEvent& e) { return std::optional(e.*member); });
    };
    const auto micros = [&](auto member) {
      return bigint_array(rows, [&](const NewEvent& e) {
        return std::optional(domain::to_unix_micros(e.*member));
      });
    };
    const auto returned = tx.query(
        "INSERT INTO events (tenant_id, event_id, customer_id, event_type, occurred_at, "
        "properties, content_hash, received_at) SELECT CAST($1 AS TEXT), e.* FROM unnest(CAST($2 "
        "AS TEXT[]), CAST($3 AS TEXT[]), CAST($4 AS TEXT[]), CAST($5 AS BIGINT[]), CAST($6 AS "
        "TEXT[]), CAST($7 AS TEXT[]), CAST($8 AS BIGINT[])) AS e ON CONFLICT DO NOTHING RETURNING "
        "event_id",
        {tenant.str(), text(&NewEvent::event_id), text(&NewEvent::customer_id),
         text(&NewEvent::event_type), micros(&NewEvent::occurred_at), text(&NewEvent::properties),
         text(&NewEvent::content_hash), micros(&NewEvent::received_at)});
    std::unordered_map<std::string_view, std::size_t> position;
    position.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) position.emplace(rows[i].event_id, i);
    for (const auto& row : returned) {
      if (const auto it = position.find(row.text(0)); it != position.end()) {
        inserted[it->second] = true;
      }
    }
    return inserted;
  }
  // SQLite: one prepared single-row statement, run per row; its change count says whether the
  // row went in (the event_id was new) — cheaper than multi-row VALUES with RETURNING. The text
  // is bound in place, not copied.
  const TextRef tenant_id{tenant.str()};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const NewEvent& e = rows[i];
    inserted[i] =
        tx.exec(
            "INSERT INTO events (tenant_id, event_id, customer_id, event_type, "
            "occurred_at, properties, content_hash, received_at) VALUES ($1, $2, $3, "
            "$4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            {tenant_id, TextRef{e.event_id}, TextRef{e.customer_id}, TextRef{e.event_type},
             domain::to_unix_micros(e.occurred_at), TextRef{e.properties}, TextRef{e.content_hash},
             domain::to_unix_micros(e.received_at)}) == 1;
  }
  return inserted;
}

bool erase(Tx& tx, const TenantId& tenant, const std::string& event_id) {
  return tx.exec("DELETE FROM events WHERE tenant_id = $1 AND event_id = $2",
                 {tenant.str(), event_id}) == 1;
}

std::vector<EventRecord> range(Tx& tx, const TenantId& tenant, const std::string& customer_id,
                               const std::string& event_type, Instant from_instant,
                               Instant to_instant) {
  if (from_instant >= to_instant) return {};
  const std::int64_t from = domain::to_unix_micros(from_instant);
  const std::int64_t to = domain::to_unix_micros(to_instant);
  // events_by_customer_hour: the hours [from, to) touches, then the exact range within them.
  // C++ and SQL both truncate integer division toward zero, a non-decreasing function, so the
  // hours of [from, to) are those from from's to (to - 1)'s.
  // The literal in the SQL is migration v6's index expression, spelled as the index is.
  constexpr std::int64_t hour = 3'600'000'000;
  static_assert(hour == domain::usage_bucket_length.count(),
                "events_by_customer_hour groups by bucket");
  const auto rows =
      tx.query(std::string("SELECT ") + std::string(event_columns) +
                   " FROM events WHERE customer_id = $2 AND occurred_at / 3600000000 >= $6 AND "
                   "occurred_at / 3600000000 <= $7 AND tenant_id = $1 AND event_type = $3 AND "
                   "occurred_at >= $4 AND occurred_at < $5 ORDER BY occurred_at, event_id",
               {tenant.str(), customer_id, event_type, from, to, from / hour, (to - 1) / hour});
  std::vector<EventRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(event_from_row(row));
  return out;
}

std::vector<EventRecord> range_many(Tx& tx, const TenantId& tenant, const std::string& event_type,
                                    std::span<const CustomerRange> ranges) {
  std::vector<sql::RangeItem> items;
  items.reserve(ranges.size());
  for (const CustomerRange& r : ranges) {
    if (r.from >= r.to) continue;
    items.push_back({r.customer_id, domain::to_unix_micros(r.from), domain::to_unix_micros(r.to)});
  }
  if (items.empty()) return {};
  auto relation = sql::range_relation(tx.dialect(), items, 3);
  std::vector<Param> params{TextRef{tenant.str()}, TextRef{event_type}};
  for (auto& p : relation.params) params.push_back(std::move(p));
  // As range(): the hours of each range through events_by_customer_hour (its expression spelled
  // as the index is), then the exact range within them.
  const auto rows = tx.query(
      "SELECT e.event_id, e.customer_id, e.event_type, e.occurred_at, e.properties, "
      "e.content_hash, e.received_at FROM " +
          relation.sql +
          " CROSS JOIN events e WHERE e.customer_id = k.customer_id AND e.occurred_at / "
          "3600000000 >= k.range_from / 3600000000 AND e.occurred_at / 3600000000 <= "
          "(k.range_to - 1) / 3600000000 AND e.tenant_id = $1 AND e.event_type = $2 AND "
          "e.occurred_at >= k.range_from AND e.occurred_at < k.range_to",
      params);
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

}  // namespace neruba::storage
