// neruba_bench_billing: one billing run over a month of usage (issue 17, docs/benchmarks.md).
//
// Loads N customers on a plan with a recurring fee and three tiered usage meters, and a month of
// hourly usage buckets as ingest stores them (storage::usage::store_buckets): 90% of customers
// active in 100 distinct hours, 10% in every hour of January 2026. Then times one billing run
// (services::billing::bill + record_run, as POST /v1/billing-runs does) that creates and
// finalizes every invoice with its lines, ledger transactions and audit records, and prints
// invoices/s and the process's peak RSS. The ceiling, measured in the same run: the same bucket
// rows read by one plain aggregate query, and the same number of invoice, line, ledger and audit
// rows written by multi-row INSERTs into scratch tables of the same shape.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_events.hpp"
#include "common/clock.hpp"
#include "domain/time.hpp"
#include "json/json.hpp"
#include "profiling_db.hpp"
#include "services/billing/billing.hpp"
#include "services/catalog.hpp"
#include "services/meters.hpp"
#include "services/platform.hpp"
#include "services/usage.hpp"
#include "storage/customers.hpp"
#include "storage/db.hpp"
#include "storage/sql_util.hpp"
#include "storage/subscriptions.hpp"
#include "storage/usage.hpp"

namespace neruba::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* usage_text =
    "usage: neruba_bench_billing --db URL [--customers N] [--events-per-hour K] [--chunk C]\n"
    "                            [--label TEXT] [--profile]\n"
    "  loads N customers (default 100000) with a month of usage, times one billing run\n"
    "  --events-per-hour K: events behind each hourly bucket (default 1; 10 for the 10x run)\n"
    "  --chunk C: customers per chunk of the run (default: the service's, 200)\n"
    "  --profile: time the run's statements and print the costliest (slows the run a little)\n";

struct Options {
  std::string db;
  std::int64_t customers = 100'000;
  std::int64_t events_per_hour = 1;
  std::string label = "run";
  std::int64_t chunk = static_cast<std::int64_t>(services::billing::run_chunk_customers);
  bool profile = false;
};

std::optional<Options> parse(int argc, char** argv) {
  Options out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--profile") {
      out.profile = true;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    if (arg == "--db") {
      out.db = value;
    } else if (arg == "--customers") {
      out.customers = std::stoll(value);
    } else if (arg == "--events-per-hour") {
      out.events_per_hour = std::stoll(value);
    } else if (arg == "--label") {
      out.label = value;
    } else if (arg == "--chunk") {
      out.chunk = std::stoll(value);
    } else {
      return std::nullopt;
    }
  }
  if (out.db.empty() || out.customers <= 0 || out.events_per_hour <= 0 || out.chunk <= 0) {
    return std::nullopt;
  }
  return out;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

template <typename T>
T must(Result<T> result, const char* what) {
  if (!result) throw std::runtime_error(std::string(what) + ": " + result.error().detail);
  return std::move(*result);
}

json::Value body(const std::string& text) { return *json::parse(text); }

constexpr const char* kMeters[] = {
    R"({"code":"tokens","event_type":"completion","aggregation":"sum","field":"n"})",
    R"({"code":"requests","event_type":"request","aggregation":"count"})",
    R"({"code":"storage_gb","event_type":"storage","aggregation":"max","field":"gb"})"};

constexpr const char* kPlan =
    R"({"code":"scale","name":"Scale","currency":"USD","interval":"month",)"
    R"("effective_from":"2025-01-01T00:00:00Z","charges":[)"
    R"({"type":"recurring","amount":"49.00","timing":"advance"},)"
    R"({"type":"usage","meter":"tokens","model":"graduated","tiers":[)"
    R"({"up_to":"10000","unit_price":"0.002"},{"up_to":"100000","unit_price":"0.0015"},)"
    R"({"up_to":null,"unit_price":"0.001"}]},)"
    R"({"type":"usage","meter":"requests","model":"graduated","tiers":[)"
    R"({"up_to":"1000","unit_price":"0"},{"up_to":null,"unit_price":"0.0004"}]},)"
    R"({"type":"usage","meter":"storage_gb","model":"volume","tiers":[)"
    R"({"up_to":"100","unit_price":"0.25"},{"up_to":null,"unit_price":"0.20"}]}]})";

// The hours (0..743 of January 2026) a customer is active in: every hour for one customer in
// ten, 100 distinct hours spread over the month for the others.
std::vector<int> active_hours(std::int64_t customer) {
  std::vector<int> hours;
  if (customer % 10 == 0) {
    for (int h = 0; h < 744; ++h) hours.push_back(h);
  } else {
    for (int i = 0; i < 100; ++i) hours.push_back(static_cast<int>((customer * 7 + i * 7) % 744));
    std::sort(hours.begin(), hours.end());
    hours.erase(std::unique(hours.begin(), hours.end()), hours.end());
  }
  return hours;
}

struct Loaded {
  services::RequestContext ctx;
  std::int64_t bucket_rows = 0;
};

Loaded load(storage::Db& db, const Options& options, IdGenerator& ids, Instant now) {
  Loaded out;
  services::RequestContext admin;
  admin.principal.kind = services::Principal::Kind::admin;
  admin.principal.key_name = "bench";
  admin.request_id = "req_bench";
  admin.now = now;
  admin.ids = &ids;
  {
    auto tx = db.begin(storage::TxMode::write);
    const auto tenant = must(
        services::platform::create_tenant(*tx, admin, body(R"({"name":"Bench","currency":"USD"})")),
        "tenant");
    out.ctx = admin;
    out.ctx.principal.kind = services::Principal::Kind::api_key;
    out.ctx.principal.tenant = tenant.id;
    out.ctx.principal.key_id = ApiKeyId("key_bench");
    out.ctx.principal.scopes = {"ingest", "read", "write", "operator"};
    for (const char* meter : kMeters) {
      auto definition = must(services::meters::parse_new_meter(out.ctx, body(meter)), "meter");
      must(services::meters::create(*tx, out.ctx, definition), "meter");
    }
    must(services::catalog::create_plan(*tx, out.ctx, body(kPlan)), "plan");
    tx->commit();
  }
  std::vector<storage::MeterRecord> meters;
  {
    auto tx = db.begin(storage::TxMode::read);
    meters = storage::meters::list(*tx, out.ctx.principal.tenant);
  }
  const Instant month = *domain::parse_rfc3339("2026-01-01T00:00:00Z");
  const auto currency = *domain::Currency::of("USD");
  const std::int64_t k = options.events_per_hour;
  constexpr std::int64_t chunk = 1000;
  for (std::int64_t first = 0; first < options.customers; first += chunk) {
    auto tx = db.begin(storage::TxMode::write);
    std::vector<storage::UsageBucket> buckets;
    for (std::int64_t c = first; c < std::min(options.customers, first + chunk); ++c) {
      char external[32];
      std::snprintf(external, sizeof external, "cust-%07lld", static_cast<long long>(c));
      const CustomerId id(ids.next("cus_"));
      if (!storage::customers::insert(*tx, {out.ctx.principal.tenant, id, external, external,
                                            currency, "UTC", json::Value::object(), now})) {
        throw std::runtime_error("customer insert refused");
      }
      storage::SubscriptionRecord subscription{
          out.ctx.principal.tenant,
          ids.next("sub_"),
          id,
          month,
          std::nullopt,
          std::nullopt,
          now,
          {{month, "scale", 0, month, storage::ChangeProration::prorate, now}}};
      if (!storage::subscriptions::insert(*tx, subscription)) {
        throw std::runtime_error("subscription insert refused");
      }
      for (const int hour : active_hours(c)) {
        const Instant at = month + std::chrono::hours(hour);
        for (const auto& meter : meters) {
          storage::UsageBucket bucket{meter.definition.id, id.str(), at, "{}", {}};
          bucket.aggregate.events = k;
          const std::int64_t per_event = meter.definition.code == "tokens" ? 37 : 2;
          if (meter.definition.code == "tokens") {
            bucket.aggregate.sum = domain::Decimal::from_integer(per_event * k);
          } else if (meter.definition.code == "storage_gb") {
            bucket.aggregate.max = domain::Decimal::from_integer(50 + (c + hour) % 100);
          }
          buckets.push_back(std::move(bucket));
        }
      }
    }
    out.bucket_rows += static_cast<std::int64_t>(buckets.size());
    storage::usage::store_buckets(*tx, out.ctx.principal.tenant, buckets);
    tx->commit();
  }
  return out;
}

// The ceiling's read: the same bucket rows, one plain aggregate query.
double ceiling_read(storage::Db& db, const TenantId& tenant) {
  auto tx = db.begin(storage::TxMode::read);
  const auto start = Clock::now();
  const auto rows = tx->query(
      "SELECT customer_id, meter_id, SUM(event_count), COUNT(*) FROM usage_buckets WHERE "
      "tenant_id = $1 GROUP BY customer_id, meter_id",
      {tenant.str()});
  const double took = seconds_since(start);
  if (rows.empty()) throw std::runtime_error("the ceiling read found no bucket");
  return took;
}

// The ceiling's write: as many invoice, line, ledger transaction, entry and audit rows as the
// run wrote, by multi-row INSERTs into scratch tables of their shape, in one transaction.
double ceiling_write(storage::Db& db, std::int64_t invoices, std::int64_t lines,
                     std::int64_t transactions, std::int64_t entries, std::int64_t audits) {
  auto tx = db.begin(storage::TxMode::write);
  tx->exec(
      "CREATE TABLE ceiling_rows (tenant_id TEXT NOT NULL, row_id TEXT NOT NULL, a TEXT, "
      "b TEXT, c BIGINT, d BIGINT, e TEXT, PRIMARY KEY (tenant_id, row_id))");
  const auto start = Clock::now();
  std::int64_t n = 0;
  const auto write = [&](std::int64_t count, std::string_view kind) {
    std::vector<std::int64_t> rows(static_cast<std::size_t>(count));
    for (auto& row : rows) row = n++;
    const auto written = storage::sql::insert_rows<std::int64_t>(
        *tx, "INSERT INTO ceiling_rows (tenant_id, row_id, a, b, c, d, e)", "", 7, rows,
        [&](const std::int64_t& row, std::vector<storage::Param>& params) {
          params.emplace_back(std::string("ten_bench"));
          params.emplace_back(std::string(kind) + std::to_string(row));
          params.emplace_back(std::string("cus_0000000000000000000000"));
          params.emplace_back(std::string("2026-02-01T00:00:00Z"));
          params.emplace_back(row);
          params.emplace_back(row * 3);
          params.emplace_back(std::string(96, 'x'));
        });
    if (written != count) {
      throw std::runtime_error("ceiling write: " + std::to_string(written) + " of " +
                               std::to_string(count) + " rows written");
    }
  };
  write(invoices, "inv");
  write(lines, "il");
  write(transactions, "ltx");
  write(entries, "ent");
  write(audits, "aud");
  tx->commit();
  const double took = seconds_since(start);
  auto drop = db.begin(storage::TxMode::write);
  drop->exec("DROP TABLE ceiling_rows");
  drop->commit();
  return took;
}

std::int64_t count(storage::Db& db, const std::string& sql, const TenantId& tenant) {
  auto tx = db.begin(storage::TxMode::read);
  return tx->query(sql, {tenant.str()}).at(0).integer(0);
}

int run(const Options& options) {
  auto db = storage::open_database(options.db);
  auto ids = make_random_id_generator();
  const Instant now = *domain::parse_rfc3339("2026-02-01T01:00:00Z");
  std::cout << "billing benchmark [" << options.label << "] on " << db->describe() << ": "
            << options.customers << " customers, " << options.events_per_hour
            << " event(s) per active hour and meter\n";
  const auto load_start = Clock::now();
  Loaded loaded = load(*db, options, *ids, now);
  const TenantId tenant = loaded.ctx.principal.tenant;
  std::printf("  loaded %lld bucket rows in %.1f s (not timed)\n",
              static_cast<long long>(loaded.bucket_rows), seconds_since(load_start));
  // Closed days roll up as they close (derived state); the run's own roll-up then has nothing
  // left to do. Timed apart: it is the cost of the days, not of the billing run.
  const auto rollup_start = Clock::now();
  const auto rolled = services::usage::roll_up(*db, tenant, now);
  std::printf("  rolled up %zu daily rows in %.1f s (not timed: done as days close)\n",
              rolled.daily_rows, seconds_since(rollup_start));
  if (db->dialect() == storage::Dialect::postgres) {
    // Fresh tables: statistics as autovacuum keeps them on a deployed database. (On SQLite the
    // billing run refreshes its own — storage::refresh_statistics — inside the timed run.)
    auto tx = db->begin(storage::TxMode::write);
    tx->exec("ANALYZE");
    tx->commit();
    std::printf("  ANALYZE done\n");
  }

  services::billing::RunRequest request{now, std::nullopt, true};
  request.chunk_customers = static_cast<std::size_t>(options.chunk);
  const double rss_before = peak_rss_mb();
  const auto start = Clock::now();
  ProfilingDb profiled(*db);
  storage::Db& run_db = options.profile ? static_cast<storage::Db&>(profiled) : *db;
  auto outcome = must(services::billing::bill(run_db, loaded.ctx, request), "billing run");
  {
    auto tx = run_db.begin(storage::TxMode::write);
    must(services::billing::record_run(*tx, loaded.ctx, outcome), "record run");
    tx->commit();
  }
  const double took = seconds_since(start);
  const std::int64_t invoices = outcome.invoices_finalized;
  const double rate = static_cast<double>(invoices) / took;
  std::printf(
      "  billing run: %lld invoices created and finalized in %.2f s: %.0f invoices/s; peak "
      "RSS %.0f MB (%.0f MB after loading)\n",
      static_cast<long long>(invoices), took, rate, peak_rss_mb(), rss_before);

  if (options.profile) profiled.print();
  const std::int64_t lines =
      count(*db, "SELECT COUNT(*) FROM invoice_lines WHERE tenant_id = $1", tenant);
  const std::int64_t transactions =
      count(*db, "SELECT COUNT(*) FROM ledger_transactions WHERE tenant_id = $1", tenant);
  const std::int64_t entries =
      count(*db, "SELECT COUNT(*) FROM ledger_entries WHERE tenant_id = $1", tenant);
  const std::int64_t audits =
      count(*db, "SELECT COUNT(*) FROM audit_records WHERE tenant_id = $1", tenant);
  const double read = ceiling_read(*db, tenant);
  const double write = ceiling_write(*db, invoices, lines, transactions, entries, audits);
  const double ceiling = read + write;
  std::printf(
      "  ceiling: the %lld bucket rows by one GROUP BY in %.2f s + %lld invoice, %lld "
      "line, %lld ledger transaction, %lld entry and %lld audit rows by multi-row "
      "INSERTs in %.2f s = %.2f s; ratio ceiling/run %.2f (target >= 0.30: %s)\n",
      static_cast<long long>(loaded.bucket_rows), read, static_cast<long long>(invoices),
      static_cast<long long>(lines), static_cast<long long>(transactions),
      static_cast<long long>(entries), static_cast<long long>(audits), write, ceiling,
      ceiling / took, ceiling / took >= 0.3 ? "PASS" : "FAIL");
  if (options.customers >= 100'000) {
    std::printf(
        "  target: %lld customers billed and finalized in under 60 s: %s; peak RSS under "
        "500 MB: %s\n",
        static_cast<long long>(options.customers), took < 60 ? "PASS" : "FAIL",
        peak_rss_mb() < 500 ? "PASS" : "FAIL");
  }
  std::printf("RESULT label=%s customers=%lld seconds=%.3f invoices_per_s=%.0f\n",
              options.label.c_str(), static_cast<long long>(options.customers), took, rate);
  return outcome.customers == options.customers ? 0 : 1;
}

}  // namespace
}  // namespace neruba::bench

int main(int argc, char** argv) {
  return neruba::bench::tool_main("bench_billing", neruba::bench::usage_text, argc, argv,
                                  neruba::bench::parse, neruba::bench::run);
}
