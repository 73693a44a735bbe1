// Versioned schema migrations, shared by both dialects. Every tenant-owned table leads its primary
// key and unique keys with tenant_id, so the schema can be distributed by tenant (DESIGN.md).
// Instants are BIGINT microseconds since the Unix epoch (UTC); JSON documents are TEXT.
#include <functional>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "domain/metering.hpp"
#include "storage/columns.hpp"
#include "storage/db.hpp"

namespace neruba::storage {
namespace {

struct Migration {
  int version;
  std::string_view name;
  std::vector<std::string_view> statements;
  // Runs after the statements, in the same transaction: data that SQL alone cannot move (exact
  // decimal arithmetic the same on both backends). Self-contained apart from the column
  // encodings (storage/columns.hpp): it must keep working however the repositories change later.
  std::function<void(Tx&)> data = nullptr;
};

using columns::decimal_text;
using columns::optional_text;
using columns::stored_decimal;

// v3: the append-only usage_deltas rows (one per key and write transaction) folded into one
// usage_buckets row per (tenant, meter, customer, hour, group).
void fold_usage_deltas(Tx& tx) {
  using Key = std::tuple<std::string, std::string, std::string, std::int64_t, std::string>;
  std::map<Key, domain::Aggregate> buckets;
  const auto rows = tx.query(
      "SELECT tenant_id, meter_id, customer_id, bucket_start, group_key, event_count, sum_value, "
      "max_value, latest_at, latest_event_id, latest_value FROM usage_deltas");
  for (const auto& row : rows) {
    domain::Aggregate delta;
    delta.events = row.integer(5);
    delta.sum = stored_decimal(row.optional_text(6));
    delta.max = stored_decimal(row.optional_text(7));
    if (!row.is_null(8)) {
      delta.latest_at = row.integer(8);
      delta.latest_event_id = row.text(9);
      delta.latest_value = stored_decimal(row.optional_text(10));
    }
    auto& bucket = buckets[Key{row.text(0), row.text(1), row.text(2), row.integer(3), row.text(4)}];
    if (!bucket.merge(delta)) {
      throw StorageError(StorageError::Kind::other,
                         "usage_deltas of meter " + row.text(1) + " overflow 36 digits");
    }
  }
  for (const auto& [key, a] : buckets) {
    const auto& [tenant, meter, customer, bucket_start, group_key] = key;
    tx.exec(
        "INSERT INTO usage_buckets (tenant_id, meter_id, customer_id, bucket_start, group_key, "
        "event_count, sum_value, max_value, latest_at, latest_event_id, latest_value) VALUES ($1, "
        "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        {tenant, meter, customer, bucket_start, group_key, a.events,
         optional_text(decimal_text(a.sum)), optional_text(decimal_text(a.max)),
         a.latest_at ? Param{*a.latest_at} : Param{},
         a.latest_at ? Param{a.latest_event_id} : Param{},
         optional_text(decimal_text(a.latest_value))});
  }
  tx.exec("DROP TABLE usage_deltas");
}

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1,
       "foundation: tenants, api keys, customers, idempotency, audit",
       {
           R"(CREATE TABLE tenants (
                tenant_id TEXT NOT NULL PRIMARY KEY,
                name TEXT NOT NULL,
                currency TEXT NOT NULL,
                timezone TEXT NOT NULL,
                settings TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                audit_seq BIGINT NOT NULL DEFAULT 0,
                audit_head TEXT NOT NULL DEFAULT ''))",
           R"(CREATE TABLE api_keys (
                tenant_id TEXT NOT NULL,
                key_id TEXT NOT NULL,
                name TEXT NOT NULL,
                scopes TEXT NOT NULL,
                key_hash TEXT NOT NULL,
                key_prefix TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT,
                PRIMARY KEY (tenant_id, key_id)))",
           "CREATE UNIQUE INDEX api_keys_by_hash ON api_keys (tenant_id, key_hash)",
           R"(CREATE TABLE customers (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                external_id TEXT NOT NULL,
                name TEXT NOT NULL,
                currency TEXT NOT NULL,
                timezone TEXT NOT NULL,
                metadata TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, customer_id)))",
           "CREATE UNIQUE INDEX customers_by_external_id ON customers (tenant_id, external_id)",
           R"(CREATE TABLE idempotency_keys (
                tenant_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                state TEXT NOT NULL,
                response_status BIGINT,
                response_body TEXT,
                created_at BIGINT NOT NULL,
                locked_until BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, idempotency_key)))",
           "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)",
           R"(CREATE TABLE audit_records (
                tenant_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                record_id TEXT NOT NULL,
                occurred_at BIGINT NOT NULL,
                actor_type TEXT NOT NULL,
                actor_id TEXT NOT NULL,
                actor_name TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                reason_code TEXT,
                justification TEXT,
                request_id TEXT NOT NULL,
                before_json TEXT,
                after_json TEXT,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                PRIMARY KEY (tenant_id, seq)))",
           "CREATE INDEX audit_records_by_time ON audit_records (tenant_id, occurred_at)",
       }},
      {2,
       "usage: events, meters, pre-aggregated usage deltas",
       {
           // One row per accepted event, forever: (tenant_id, event_id) is the dedupe key.
           R"(CREATE TABLE events (
                tenant_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                occurred_at BIGINT NOT NULL,
                properties TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, event_id)))",
           "CREATE INDEX events_by_customer_time ON events (tenant_id, customer_id, event_type, "
           "occurred_at)",
           R"(CREATE TABLE meters (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                code TEXT NOT NULL,
                event_type TEXT NOT NULL,
                aggregation TEXT NOT NULL,
                field TEXT,
                filters TEXT NOT NULL,
                group_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, meter_id)))",
           "CREATE UNIQUE INDEX meters_by_code ON meters (tenant_id, code)",
           "CREATE INDEX meters_by_event_type ON meters (tenant_id, event_type)",
           // Append-only partial aggregates, one row per (meter, customer, hour, group) per write
           // transaction: ingest never reads-modifies-writes a hot row; reads merge the deltas.
           R"(CREATE TABLE usage_deltas (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                bucket_start BIGINT NOT NULL,
                group_key TEXT NOT NULL,
                batch_id TEXT NOT NULL,
                event_count BIGINT NOT NULL,
                sum_value TEXT,
                max_value TEXT,
                latest_at BIGINT,
                latest_event_id TEXT,
                latest_value TEXT,
                PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key, batch_id)))",
           // Distinct values per hour for unique_count meters.
           R"(CREATE TABLE usage_distinct (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                bucket_start BIGINT NOT NULL,
                group_key TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key, value)))",
       }},
      {3,
       "usage buckets: one row per meter, customer, hour and group, merged in place",
       {
           // The ingest writer reads, merges (exact decimals) and rewrites each touched bucket
           // once per group commit. A commit then dirties only the pages of the buckets it
           // touches — the current hours — where append-only per-commit delta rows scattered new
           // entries over the whole key range and rewrote most of its pages at every commit.
           R"(CREATE TABLE usage_buckets (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                bucket_start BIGINT NOT NULL,
                group_key TEXT NOT NULL,
                event_count BIGINT NOT NULL,
                sum_value TEXT,
                max_value TEXT,
                latest_at BIGINT,
                latest_event_id TEXT,
                latest_value TEXT,
                PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key)))",
       },
       fold_usage_deltas},
      {4,
       "events_by_customer_time keyed by customer and time only",
       {
           // Maintained for every ingested event, this index costs more than the rest of the
           // insert. A customer id is unique across tenants, so tenant_id adds nothing to the
           // lookup (the query still filters on it, and on event_type, from the row): entries
           // half as long, half the pages to write.
           "DROP INDEX events_by_customer_time",
           "CREATE INDEX events_by_customer_time ON events (customer_id, occurred_at)",
       }},
      {5,
       "PostgreSQL: room on usage_buckets pages for in-place updates",
       {},
       [](Tx& tx) {
         // Every ingest commit rewrites the buckets it touches. With free room on the page,
         // PostgreSQL writes the new row version beside the old one without a new index entry
         // (a HOT update); on full pages every update also inserts into the primary key index.
         if (tx.dialect() == Dialect::postgres) {
           tx.exec("ALTER TABLE usage_buckets SET (fillfactor = 70)");
         }
       }},
      {6,
       "events_by_customer_hour: a customer's events by hour, in arrival order within it",
       {
           // Events arrive a little out of order (clients batch and retry), so keyed by
           // (customer_id, occurred_at) each new entry lands on its own page among the customer's
           // last minutes, and a commit rewrote about one index page per event. Keyed by the hour
           // only, a customer's entries within an hour sort by arrival (rowid on SQLite, heap
           // position on PostgreSQL): a commit appends them at the end of the customer's current
           // hour, one page or two per customer. Reads of a partial hour scan the whole hour of
           // the customer and filter on occurred_at. The expression is the one events::range
           // queries with (truncating division, the same in both dialects).
           "DROP INDEX events_by_customer_time",
           "CREATE INDEX events_by_customer_hour ON events (customer_id, (occurred_at / "
           "3600000000))",
       }},
      {7,
       "PostgreSQL: identifier columns compare bytewise (COLLATE \"C\")",
       {},
       [](Tx& tx) {
         // Keys are ASCII identifiers, hashes and group keys, never prose. Under the database's
         // default collation (en_US.UTF-8, C.UTF-8, ...) every index comparison of them went
         // through strcoll; bytewise they cost a memcmp, and PostgreSQL orders them as SQLite
         // does (BINARY). A table added later declares its key columns COLLATE "C" on
         // PostgreSQL the same way.
         if (tx.dialect() != Dialect::postgres) return;
         const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> keys = {
             {"tenants", {"tenant_id"}},
             {"api_keys", {"tenant_id", "key_id", "key_hash"}},
             {"customers", {"tenant_id", "customer_id", "external_id"}},
             {"idempotency_keys", {"tenant_id", "idempotency_key"}},
             {"audit_records", {"tenant_id"}},
             {"events", {"tenant_id", "event_id", "customer_id", "event_type"}},
             {"meters", {"tenant_id", "meter_id", "code", "event_type"}},
             {"usage_buckets", {"tenant_id", "meter_id", "customer_id", "group_key"}},
             {"usage_distinct", {"tenant_id", "meter_id", "customer_id", "group_key", "value"}},
         };
         for (const auto& [table, columns] : keys) {
           std::string sql = "ALTER TABLE " + std::string(table);
           for (std::size_t i = 0; i < columns.size(); ++i) {
             sql += (i == 0 ? " " : ", ") + std::string("ALTER COLUMN ") + std::string(columns[i]) +
                    " TYPE TEXT COLLATE \"C\"";
           }
           tx.exec(sql);
         }
       }},
      {8,
       "PostgreSQL: exact decimal merge functions for usage buckets",
       {},
       [](Tx& tx) {
         // usage::add_to_buckets merges a commit's sums into the stored totals inside the upsert,
         // as SQLite does with the functions it registers on each connection (sqlite_db.cpp).
         // Both follow domain::Decimal: a sum keeps the larger scale and fails past 36 significant
         // digits with columns::decimal_sum_overflow; of two equal maxima the one with more
         // decimal places wins. latest_event_id ties break bytewise, as in C++.
         if (tx.dialect() != Dialect::postgres) return;
         tx.exec(std::string(R"(CREATE FUNCTION neruba_decimal_sum(a TEXT, b TEXT) RETURNS TEXT
             LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $body$
             DECLARE total TEXT;
             BEGIN
               IF a IS NULL THEN RETURN b; END IF;
               IF b IS NULL THEN RETURN a; END IF;
               total := (CAST(a AS NUMERIC) + CAST(b AS NUMERIC))::TEXT;
               IF length(ltrim(translate(total, '-.', ''), '0')) > 36 THEN
                 RAISE EXCEPTION ')") +
                 std::string(columns::decimal_sum_overflow) + R"(';
               END IF;
               RETURN total;
             END $body$)");
         tx.exec(R"(CREATE FUNCTION neruba_decimal_max(a TEXT, b TEXT) RETURNS TEXT
             LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $body$
             SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a
               WHEN CAST(b AS NUMERIC) > CAST(a AS NUMERIC) OR (CAST(b AS NUMERIC) =
                 CAST(a AS NUMERIC) AND scale(CAST(b AS NUMERIC)) > scale(CAST(a AS NUMERIC)))
               THEN b ELSE a END $body$)");
         tx.exec("ALTER TABLE usage_buckets ALTER COLUMN latest_event_id TYPE TEXT COLLATE \"C\"");
       }},
  };
  return all;
}

}  // namespace

int migrate(Db& db, std::optional<int> up_to) {
  auto tx = db.begin(TxMode::write);
  if (tx->dialect() == Dialect::postgres) {
    // Several nodes may start at once against one database: one migrates, the others wait.
    tx->query("SELECT pg_advisory_xact_lock(7262011)");
  }
  tx->exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, "
      "name TEXT NOT NULL)");
  const auto rows = tx->query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  const std::int64_t current = rows.at(0).integer(0);
  int applied = 0;
  for (const auto& migration : migrations()) {
    if (migration.version <= current) continue;
    if (up_to && migration.version > *up_to) break;
    for (const auto statement : migration.statements) tx->exec(statement);
    if (migration.data) migration.data(*tx);
    tx->exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
             {std::int64_t{migration.version}, std::string(migration.name)});
    ++applied;
  }
  tx->commit();
  return applied;
}

}  // namespace neruba::storage
