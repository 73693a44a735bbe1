// neruba_bench_ingest_ceiling: the raw-engine ceiling of `bench/ingest`.
//
// Writes the rows the server writes for N benchmark events — one `events` row per event (its
// primary key is the dedupe key) and the `usage_buckets` rows they add up to (one per meter ×
// customer × hour × group, computed by the same domain metering code the server uses) — straight
// into the same engine, schema and indexes (a fresh database migrated by storage::open_database),
// by the fastest plain path:
//   SQLite      prepared single-row INSERTs (buckets: INSERT … ON CONFLICT DO UPDATE), WAL,
//               synchronous=FULL (the server's durability), a 64 MiB page cache
//   PostgreSQL  COPY … FROM STDIN (FORMAT binary) into events, as the server writes them
//               (storage::BinaryCopy; text COPY measured the same); buckets COPY'd into a
//               temporary table and merged with one INSERT … SELECT … ON CONFLICT DO UPDATE
// The ceiling knows every bucket's running total, so it never reads one back (the server must).
// Two modes, each on empty tables:
//   durable  one transaction per 1,000-event batch (the server's durability contract: a batch
//            is acknowledged only once committed); each batch writes the buckets it touched
//   single   every row in one transaction (the engine's bulk-load ceiling): on PostgreSQL a
//            COPY per 10,000 events (fastest measured: 1,000 per COPY and one COPY of all are
//            both slower); each bucket is written once, with its final total
// Rows are generated and formatted outside the timer; the timer covers the engine calls from
// BEGIN to COMMIT.
#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bench_events.hpp"
#include "common/crypto.hpp"
#include "domain/metering.hpp"
#include "domain/time.hpp"
#include "json/json.hpp"
#include "storage/columns.hpp"
#include "storage/db.hpp"
#include "storage/events.hpp"
#include "storage/usage.hpp"

namespace neruba::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string db_url;
  std::uint64_t events = 100'000;
  std::size_t batch_events = 1000;
  std::uint32_t customers = 1000;
  std::int64_t age_seconds_max = 120;
  std::uint64_t seed = 42;
  std::uint64_t copy_events = 10'000;  // one transaction: events per write (COPY on PostgreSQL)
  bool durable = true;
  bool single = true;
  std::string summary_path;
  std::string create_pg_database;  // only create this database on the server of --db, then exit
  std::string drop_pg_database;    // only drop this database on the server of --db, then exit
  // The fastest plain path gets a page cache that holds the hot index pages (0: SQLite's default
  // of 2 MiB). 64 MiB is well inside the server's RSS budget.
  std::int64_t sqlite_cache_mib = 64;
};

constexpr const char* usage_text =
    "usage: neruba_bench_ingest_ceiling --db URL [options]\n"
    "  --db URL                  sqlite:PATH (a fresh file) or postgresql://… (a fresh database)\n"
    "  --events N                events to write (default 100000)\n"
    "  --batch-events N          events per batch: one durable transaction (default 1000)\n"
    "  --copy-events N           one-transaction mode: events per COPY / write (default 10000)\n"
    "  --customers N             customers the events spread over (default 1000)\n"
    "  --seed N                  event generator seed (default 42)\n"
    "  --mode durable|single|both  (default both)\n"
    "  --summary FILE            also write the results as key=value lines to FILE\n"
    "  --sqlite-cache-mib N      SQLite page cache in MiB (default 64; 0: SQLite's default 2 MiB)\n"
    "  --create-pg-database NAME create database NAME on the server of --db, print its URL, exit\n"
    "  --drop-pg-database NAME   drop database NAME (if it exists) on the server of --db and "
    "exit\n";

std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    const std::string value = argv[i + 1];
    if (arg == "--db")
      options.db_url = value;
    else if (arg == "--events")
      options.events = std::stoull(value);
    else if (arg == "--batch-events")
      options.batch_events = std::stoul(value);
    else if (arg == "--customers")
      options.customers = static_cast<std::uint32_t>(std::stoul(value));
    else if (arg == "--copy-events")
      options.copy_events = std::stoull(value);
    else if (arg == "--seed")
      options.seed = std::stoull(value);
    else if (arg == "--summary")
      options.summary_path = value;
    else if (arg == "--create-pg-database")
      options.create_pg_database = value;
    else if (arg == "--drop-pg-database")
      options.drop_pg_database = value;
    else if (arg == "--sqlite-cache-mib")
      options.sqlite_cache_mib = std::stoll(value);
    else if (arg == "--mode") {
      options.durable = value == "durable" || value == "both";
      options.single = value == "single" || value == "both";
      if (!options.durable && !options.single) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (argc % 2 == 0 || options.db_url.empty() || options.batch_events == 0 ||
      options.copy_events == 0 || options.customers == 0) {
    return std::nullopt;
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// The rows.

struct EventRow {
  std::string event_id;
  std::string customer_id;
  std::string event_type;
  std::int64_t occurred_at = 0;
  std::string properties;
  std::string content_hash;
  std::int64_t received_at = 0;
};

using BucketRow = storage::UsageBucket;  // the server's own bucket row

struct Batch {
  std::vector<EventRow> events;
  std::vector<BucketRow> buckets;
};

std::int64_t unix_micros_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Generates the benchmark's events batch by batch, with the ids and pre-aggregates the server
// would store for them.
class RowSource {
  using Key = std::tuple<std::size_t, std::uint32_t, std::int64_t,
                         std::string>;  // meter, customer, hour, group

 public:
  explicit RowSource(const Options& options) : options_(options), random_(options.seed) {
    tenant_id_ = "ten_" + crypto::random_token(24);
    run_id_ = crypto::random_token(8);
    for (std::uint32_t i = 0; i < options.customers; ++i)
      customer_ids_.push_back("cus_" + crypto::random_token(24));
    for (const auto& spec : meters) {
      domain::MeterDefinition meter;
      meter.id = MeterId("mtr_" + crypto::random_token(24));
      meter.code = spec.code;
      meter.event_type = spec.event_type;
      meter.aggregation = *domain::parse_aggregation(spec.aggregation);
      meter.field = spec.field;
      if (!spec.group_by.empty()) meter.group_by.emplace_back(spec.group_by);
      meters_.push_back(std::move(meter));
    }
  }

  const std::string& tenant_id() const { return tenant_id_; }

  Batch next(std::size_t size) {
    Batch batch;
    const std::int64_t now = unix_micros_now();
    std::set<Key> touched;
    for (std::size_t i = 0; i < size; ++i) {
      auto generated = generate_event(random_, options_.customers, options_.age_seconds_max);
      EventRow row;
      row.event_id = event_id(run_id_, counter_++);
      row.customer_id = customer_ids_[generated.customer];
      row.event_type = generated.is_api_call ? api_call_type : storage_type;
      row.occurred_at = (now / 1'000'000 - generated.age_seconds) * 1'000'000;
      row.properties = std::move(generated.properties);
      row.content_hash =
          crypto::sha256_hex(row.event_id + '\n' + row.customer_id + '\n' + row.event_type + '\n' +
                             std::to_string(row.occurred_at) + '\n' + row.properties);
      row.received_at = now;
      const auto properties = json::parse(row.properties);
      const std::int64_t bucket_start = row.occurred_at - row.occurred_at % 3'600'000'000LL;
      for (std::size_t m = 0; m < meters_.size(); ++m) {
        const auto result = domain::contribute(meters_[m], row.event_type, *properties);
        if (result.error != domain::ContributionError::none) continue;
        const Key key{m, generated.customer, bucket_start, result.contribution.group_key};
        if (!totals_[key].add(result.contribution, domain::from_unix_micros(row.occurred_at),
                              row.event_id)) {
          throw std::runtime_error("a generated bucket total overflows the decimal type");
        }
        touched.insert(key);
      }
      batch.events.push_back(std::move(row));
    }
    for (const auto& key : touched) batch.buckets.push_back(bucket_row(key, totals_.at(key)));
    return batch;
  }

  // Every bucket so far, with its total.
  std::vector<BucketRow> all_buckets() const {
    std::vector<BucketRow> out;
    for (const auto& [key, total] : totals_) out.push_back(bucket_row(key, total));
    return out;
  }

 private:
  const Options& options_;
  Random random_;
  std::string tenant_id_;
  std::string run_id_;
  std::uint64_t counter_ = 0;
  std::vector<std::string> customer_ids_;
  std::vector<domain::MeterDefinition> meters_;
  std::map<Key, domain::Aggregate> totals_;  // running total of each bucket

  BucketRow bucket_row(const Key& key, const domain::Aggregate& total) const {
    const auto& [meter, customer, bucket_start, group_key] = key;
    return BucketRow{meters_[meter].id, customer_ids_[customer],
                     domain::from_unix_micros(bucket_start), group_key, total};
  }
};

using storage::columns::decimal_text;

// ---------------------------------------------------------------------------------------------
// The engines.

class Writer {
 public:
  virtual ~Writer() = default;
  // Empty tables, same schema and indexes.
  virtual void reset() = 0;
  virtual void begin() = 0;
  // Prepares a batch for write() outside the timer (PostgreSQL formats its COPY text here).
  virtual void prepare(const Batch& batch) { (void)batch; }
  virtual void write(const Batch& batch) = 0;
  virtual void commit() = 0;
};

class SqliteWriter final : public Writer {
 public:
  SqliteWriter(std::string path, std::string tenant_id, std::int64_t cache_mib)
      : path_(std::move(path)), tenant_id_(std::move(tenant_id)), cache_mib_(cache_mib) {}
  ~SqliteWriter() override { close(); }

  void reset() override {
    close();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
    storage::open_database("sqlite:" + path_);  // migrates the fresh file, then closes it
    check(
        sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr),
        "open");
    run("PRAGMA journal_mode=WAL");
    run("PRAGMA synchronous=FULL");
    if (cache_mib_ > 0) run(("PRAGMA cache_size=-" + std::to_string(cache_mib_ * 1024)).c_str());
    check(sqlite3_prepare_v3(
              db_,
              "INSERT INTO events (tenant_id, event_id, customer_id, event_type, occurred_at, "
              "properties, content_hash, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
              -1, SQLITE_PREPARE_PERSISTENT, &insert_event_, nullptr),
          "prepare events");
    // The server's bucket write: a bucket's new total replaces the stored one.
    const std::string upsert_bucket =
        "INSERT INTO usage_buckets (tenant_id, meter_id, customer_id, bucket_start, "
        "group_key, event_count, sum_value, max_value, latest_at, latest_event_id, "
        "latest_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) " +
        std::string(storage::usage::set_bucket_totals);
    check(sqlite3_prepare_v3(db_, upsert_bucket.c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                             &upsert_bucket_, nullptr),
          "prepare usage_buckets");
  }

  void begin() override { run("BEGIN IMMEDIATE"); }
  void commit() override { run("COMMIT"); }

  void write(const Batch& batch) override {
    for (const auto& e : batch.events) {
      text(insert_event_, 1, tenant_id_);
      text(insert_event_, 2, e.event_id);
      text(insert_event_, 3, e.customer_id);
      text(insert_event_, 4, e.event_type);
      sqlite3_bind_int64(insert_event_, 5, e.occurred_at);
      text(insert_event_, 6, e.properties);
      text(insert_event_, 7, e.content_hash);
      sqlite3_bind_int64(insert_event_, 8, e.received_at);
      step(insert_event_, "insert event");
    }
    for (const auto& d : batch.buckets) {
      const auto& a = d.aggregate;
      text(upsert_bucket_, 1, tenant_id_);
      text(upsert_bucket_, 2, d.meter_id.str());
      text(upsert_bucket_, 3, d.customer_id);
      sqlite3_bind_int64(upsert_bucket_, 4, domain::to_unix_micros(d.bucket_start));
      text(upsert_bucket_, 5, d.group_key);
      sqlite3_bind_int64(upsert_bucket_, 6, a.events);
      const auto sum = decimal_text(a.sum);
      const auto max = decimal_text(a.max);
      const auto latest = decimal_text(a.latest_value);
      optional_text(upsert_bucket_, 7, sum);
      optional_text(upsert_bucket_, 8, max);
      if (a.latest_at) {
        sqlite3_bind_int64(upsert_bucket_, 9, domain::to_unix_micros(*a.latest_at));
        text(upsert_bucket_, 10, a.latest_event_id);
      } else {
        sqlite3_bind_null(upsert_bucket_, 9);
        sqlite3_bind_null(upsert_bucket_, 10);
      }
      optional_text(upsert_bucket_, 11, latest);
      step(upsert_bucket_, "upsert bucket");
    }
  }

 private:
  void close() {
    sqlite3_finalize(insert_event_);
    sqlite3_finalize(upsert_bucket_);
    insert_event_ = upsert_bucket_ = nullptr;
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
  }
  void check(int rc, const char* what) {
    if (rc != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_));
  }
  void run(const char* sql) { check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), sql); }
  static void text(sqlite3_stmt* statement, int index, const std::string& value) {
    sqlite3_bind_text(statement, index, value.data(), static_cast<int>(value.size()),
                      SQLITE_STATIC);
  }
  static void optional_text(sqlite3_stmt* statement, int index,
                            const std::optional<std::string>& value) {
    if (value)
      text(statement, index, *value);
    else
      sqlite3_bind_null(statement, index);
  }
  void step(sqlite3_stmt* statement, const char* what) {
    if (sqlite3_step(statement) != SQLITE_DONE) {
      throw std::runtime_error(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_));
    }
    sqlite3_reset(statement);
  }

  std::string path_;
  std::string tenant_id_;
  std::int64_t cache_mib_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* upsert_bucket_ = nullptr;
};

class PostgresWriter final : public Writer {
 public:
  PostgresWriter(std::string url, std::string tenant_id)
      : url_(std::move(url)), tenant_id_(std::move(tenant_id)), tenant_(tenant_id_) {}
  ~PostgresWriter() override {
    if (conn_ != nullptr) PQfinish(conn_);
  }

  void reset() override {
    storage::open_database(url_);  // migrates, then closes its pool
    if (conn_ == nullptr) {
      conn_ = PQconnectdb(url_.c_str());
      if (PQstatus(conn_) != CONNECTION_OK)
        throw std::runtime_error(std::string("postgres: ") + PQerrorMessage(conn_));
    }
    exec("TRUNCATE events, usage_buckets");
    exec("CREATE TEMPORARY TABLE IF NOT EXISTS bench_buckets (LIKE usage_buckets)");
    exec("CHECKPOINT");
  }

  void begin() override { exec("BEGIN"); }
  void commit() override { exec("COMMIT"); }

  // The events in the statement and binary COPY format the server sends them in
  // (storage::events::copy_data).
  void prepare(const Batch& batch) override {
    std::vector<storage::NewEvent> rows;
    rows.reserve(batch.events.size());
    for (const auto& e : batch.events) {
      rows.push_back(storage::NewEvent{e.event_id, e.customer_id, e.event_type,
                                       domain::from_unix_micros(e.occurred_at), e.properties,
                                       e.content_hash, domain::from_unix_micros(e.received_at)});
    }
    events_copy_ = rows.empty() ? std::string() : storage::events::copy_data(tenant_, rows);
    storage::BinaryCopy buckets;
    for (const auto& d : batch.buckets) {
      const auto& a = d.aggregate;
      buckets.row(11);
      buckets.text(tenant_id_);
      buckets.text(d.meter_id.str());
      buckets.text(d.customer_id);
      buckets.bigint(domain::to_unix_micros(d.bucket_start));
      buckets.text(d.group_key);
      buckets.bigint(a.events);
      buckets.optional_text(decimal_text(a.sum));
      buckets.optional_text(decimal_text(a.max));
      buckets.optional_bigint(a.latest_at ? std::optional(domain::to_unix_micros(*a.latest_at))
                                          : std::nullopt);
      buckets.optional_text(a.latest_at ? std::optional(a.latest_event_id) : std::nullopt);
      buckets.optional_text(decimal_text(a.latest_value));
    }
    buckets_copy_ = batch.buckets.empty() ? std::string() : std::move(buckets).finish();
  }

  void write(const Batch&) override {
    if (!events_copy_.empty()) copy(std::string(storage::events::copy_sql).c_str(), events_copy_);
    if (buckets_copy_.empty()) return;
    copy(
        "COPY bench_buckets (tenant_id, meter_id, customer_id, bucket_start, group_key, "
        "event_count, sum_value, "
        "max_value, latest_at, latest_event_id, latest_value) FROM STDIN (FORMAT binary)",
        buckets_copy_);
    exec(("INSERT INTO usage_buckets SELECT * FROM bench_buckets " +
          std::string(storage::usage::set_bucket_totals))
             .c_str());
    exec("TRUNCATE bench_buckets");
  }

 private:
  void exec(const char* sql) {
    PGresult* result = PQexec(conn_, sql);
    const auto status = PQresultStatus(result);
    const std::string message = PQresultErrorMessage(result);
    PQclear(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw std::runtime_error(std::string("postgres: ") + sql + ": " + message);
    }
  }

  void copy(const char* sql, const std::string& data) {
    PGresult* result = PQexec(conn_, sql);
    const bool ready = PQresultStatus(result) == PGRES_COPY_IN;
    PQclear(result);
    if (!ready)
      throw std::runtime_error(std::string("postgres: ") + sql + ": " + PQerrorMessage(conn_));
    if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1 ||
        PQputCopyEnd(conn_, nullptr) != 1) {
      throw std::runtime_error(std::string("postgres COPY: ") + PQerrorMessage(conn_));
    }
    bool ok = true;
    std::string message;
    while ((result = PQgetResult(conn_)) != nullptr) {
      if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        ok = false;
        message = PQresultErrorMessage(result);
      }
      PQclear(result);
    }
    if (!ok) throw std::runtime_error("postgres COPY: " + message);
  }

  std::string url_;
  std::string tenant_id_;
  TenantId tenant_;
  PGconn* conn_ = nullptr;
  std::string events_copy_;
  std::string buckets_copy_;
};

// ---------------------------------------------------------------------------------------------

struct ModeResult {
  double seconds = 0;  // engine time, BEGIN to COMMIT
  std::uint64_t events = 0;
  std::uint64_t buckets =
      0;  // bucket rows written (a bucket written by several batches counts each time)
  double events_per_second() const {
    return seconds > 0 ? static_cast<double>(events) / seconds : 0;
  }
  double rows_per_second() const {
    return seconds > 0 ? static_cast<double>(events + buckets) / seconds : 0;
  }
};

ModeResult run_mode(const Options& options, Writer& writer, bool durable) {
  RowSource source(options);
  writer.reset();
  ModeResult result;
  SteadyClock::duration engine_time{};
  auto timed = [&](auto&& work) {
    const auto start = SteadyClock::now();
    work();
    engine_time += SteadyClock::now() - start;
  };
  if (!durable) timed([&] { writer.begin(); });
  for (std::uint64_t done = 0; done < options.events;) {
    // One transaction for everything writes --copy-events at a time: on PostgreSQL a COPY sets
    // up per statement what it then reuses across rows, and 10,000 rows per COPY measured fastest
    // (docs/benchmarks.md).
    const std::uint64_t per_write = durable ? options.batch_events : options.copy_events;
    const std::size_t size =
        static_cast<std::size_t>(std::min<std::uint64_t>(per_write, options.events - done));
    Batch batch = source.next(size);
    if (!durable) batch.buckets.clear();  // written once, with their final totals, below
    writer.prepare(batch);
    timed([&] {
      if (durable) writer.begin();
      writer.write(batch);
      if (durable) writer.commit();
    });
    done += size;
    result.events += batch.events.size();
    result.buckets += batch.buckets.size();
  }
  if (!durable) {
    Batch buckets;
    buckets.buckets = source.all_buckets();
    writer.prepare(buckets);
    timed([&] {
      writer.write(buckets);
      writer.commit();
    });
    result.buckets += buckets.buckets.size();
  }
  result.seconds = std::chrono::duration<double>(engine_time).count();
  return result;
}

std::string with_database(const std::string& url, const std::string& name) {
  const auto slash = url.rfind('/');
  const auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
}

// Runs one maintenance statement (CREATE/DROP DATABASE) against the server of --db.
bool pg_maintenance(const std::string& url, const std::string& prefix, const std::string& name) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::cerr << "ingest_ceiling: " << PQerrorMessage(conn);
    PQfinish(conn);
    return false;
  }
  char* quoted = PQescapeIdentifier(conn, name.c_str(), name.size());
  PGresult* result = PQexec(conn, (prefix + quoted).c_str());
  PQfreemem(quoted);
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  if (!ok)
    std::cerr << "ingest_ceiling: " << prefix << name << ": " << PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
  return ok;
}

int run(const Options& options) {
  if (!options.create_pg_database.empty()) {
    if (!pg_maintenance(options.db_url, "CREATE DATABASE ", options.create_pg_database)) return 1;
    std::cout << with_database(options.db_url, options.create_pg_database) << "\n";
    return 0;
  }
  if (!options.drop_pg_database.empty()) {
    return pg_maintenance(options.db_url, "DROP DATABASE IF EXISTS ", options.drop_pg_database) ? 0
                                                                                                : 1;
  }
  const bool sqlite = options.db_url.rfind("sqlite:", 0) == 0;
  const RowSource probe(options);  // the tenant id only
  std::unique_ptr<Writer> writer;
  if (sqlite)
    writer = std::make_unique<SqliteWriter>(options.db_url.substr(7), probe.tenant_id(),
                                            options.sqlite_cache_mib);
  else
    writer = std::make_unique<PostgresWriter>(options.db_url, probe.tenant_id());
  const std::string engine =
      sqlite ? "SQLite prepared INSERTs (" +
                   (options.sqlite_cache_mib > 0 ? std::to_string(options.sqlite_cache_mib) + " MiB"
                                                 : std::string("default")) +
                   " page cache)"
             : std::string("PostgreSQL COPY");

  std::ofstream summary;
  if (!options.summary_path.empty()) summary.open(options.summary_path);
  for (const bool durable : {true, false}) {
    if (durable ? !options.durable : !options.single) continue;
    const auto result = run_mode(options, *writer, durable);
    const char* mode = durable ? "durable" : "single";
    char line[400];
    std::snprintf(
        line, sizeof line,
        "ingest_ceiling: %s, %s: %llu events + %llu usage_buckets rows in %.2f s: %.0f events/s "
        "(%.0f rows/s)\n",
        engine.c_str(),
        durable ? "one durable transaction per batch" : "one transaction for everything",
        static_cast<unsigned long long>(result.events),
        static_cast<unsigned long long>(result.buckets), result.seconds, result.events_per_second(),
        result.rows_per_second());
    std::cout << line << std::flush;
    if (summary) {
      summary << mode << "_events_per_second=" << static_cast<long long>(result.events_per_second())
              << "\n"
              << mode << "_rows_per_second=" << static_cast<long long>(result.rows_per_second())
              << "\n"
              << mode << "_events=" << result.events << "\n"
              << mode << "_bucket_rows=" << result.buckets << "\n"
              << mode << "_seconds=" << result.seconds << "\n";
    }
  }
  return 0;
}

}  // namespace
}  // namespace neruba::bench

int main(int argc, char** argv) {
  return neruba::bench::tool_main("ingest_ceiling", neruba::bench::usage_text, argc, argv,
                                  neruba::bench::parse_options, neruba::bench::run);
}
