// bench/usage_read — reading a 30-day window of usage for many customers: the per-customer read
// (services::usage::meter_usage) against the set-based read (meter_usage_many), each before and
// after the daily rollups, and a ceiling: one plain GROUP BY over the same hourly bucket rows.
// A command, not a test (docs/benchmarks.md). Exits non-zero when a read disagrees with another.
//
//   neruba_bench_usage_read --db sqlite:/path/fresh.db|postgresql://… [--customers N] [--runs N]
//
// Data, written through the storage layer: one tenant, N customers, three meters (calls: count
// grouped by region, 5 values; tokens: sum; peak: max), a bucket in every hour of 32 days per
// meter and group (7 rows an hour, 5,376 per customer), and 4 raw events in each of the two
// partial hours at the window's edges. The window: 30 days from 05:30 UTC (mid-hour, mid-day).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "domain/time.hpp"
#include "services/usage.hpp"
#include "storage/customers.hpp"
#include "storage/events.hpp"
#include "storage/meters.hpp"
#include "storage/tenants.hpp"
#include "storage/usage.hpp"

namespace {

using namespace neruba;
using Stopwatch = std::chrono::steady_clock;

const TenantId kTenant("ten_usage_bench");
const Instant kStart = domain::from_unix_micros(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z
const Instant kFrom = kStart + std::chrono::minutes(5 * 60 + 30);
const Instant kTo = kFrom + std::chrono::hours(24 * 30);
const char* const kRegions[] = {"af", "ap", "eu", "sa", "us"};

std::string customer_id(int i) {
  char id[32];
  std::snprintf(id, sizeof id, "cus_bench%05d", i);
  return id;
}

storage::MeterRecord meter(const char* id, const char* code, domain::Aggregation aggregation,
                           const char* field, std::vector<std::string> group_by = {}) {
  storage::MeterRecord out;
  out.definition.id = MeterId(id);
  out.definition.code = code;
  out.definition.event_type = "call";
  out.definition.aggregation = aggregation;
  out.definition.field = field;
  out.definition.group_by = std::move(group_by);
  out.created_at = kStart;
  return out;
}

void load(storage::Db& db, int customers) {
  auto tx = db.begin(storage::TxMode::write);
  const auto usd = *domain::Currency::of("USD");
  if (!storage::tenants::insert(
          *tx, {kTenant, "Usage bench", usd, "UTC", json::Value::object(), kStart})) {
    throw std::runtime_error("the database is not fresh");
  }
  for (const auto& m : {meter("mtr_calls", "calls", domain::Aggregation::count, "", {"region"}),
                        meter("mtr_tokens", "tokens", domain::Aggregation::sum, "n"),
                        meter("mtr_peak", "peak", domain::Aggregation::max, "n")}) {
    if (!storage::meters::insert(*tx, kTenant, m)) throw std::runtime_error("meter");
  }
  tx->commit();
  const auto decimal = [](std::int64_t v) { return *domain::Decimal::parse(std::to_string(v)); };
  for (int c = 0; c < customers; ++c) {
    auto ctx = db.begin(storage::TxMode::write);
    const std::string id = customer_id(c);
    if (!storage::customers::insert(*ctx, {kTenant, CustomerId(id), "ext" + id.substr(4), "C", usd,
                                           "UTC", json::Value::object(), kStart})) {
      throw std::runtime_error("customer");
    }
    std::vector<storage::UsageBucket> buckets;
    for (int h = 0; h < 32 * 24; ++h) {
      const Instant hour = kStart + std::chrono::hours(h);
      const auto latest = hour + std::chrono::minutes(59);
      for (const char* region : kRegions) {
        storage::UsageBucket b{
            MeterId("mtr_calls"), id, hour, std::string(R"({"region":")") + region + "\"}", {}};
        b.aggregate.events = 3;
        buckets.push_back(std::move(b));
      }
      storage::UsageBucket tokens{MeterId("mtr_tokens"), id, hour, "{}", {}};
      tokens.aggregate.events = 15;
      tokens.aggregate.sum = decimal(15 * (h % 7 + 1));
      buckets.push_back(tokens);
      storage::UsageBucket peak{MeterId("mtr_peak"), id, hour, "{}", {}};
      peak.aggregate.events = 15;
      peak.aggregate.max = decimal(h % 11);
      peak.aggregate.latest_at = latest;
      peak.aggregate.latest_event_id = "evt_" + std::to_string(h);
      peak.aggregate.latest_value = decimal(h % 11);
      buckets.push_back(peak);
    }
    storage::usage::store_buckets(*ctx, kTenant, buckets);
    // The raw events of the two edge hours (4 each): what the partial hours read.
    std::vector<std::string> ids;
    std::vector<storage::NewEvent> events;
    for (const Instant edge :
         {domain::usage_bucket_start(kFrom), domain::usage_bucket_start(kTo)}) {
      for (int e = 0; e < 4; ++e)
        ids.push_back(id + "_" + std::to_string(edge.time_since_epoch().count()) + "_" +
                      std::to_string(e));
    }
    static const std::string properties = R"({"n":2,"region":"eu"})";
    for (std::size_t e = 0; e < ids.size(); ++e) {
      const Instant edge =
          domain::usage_bucket_start(e < 4 ? kFrom : kTo) + std::chrono::minutes(15 * (e % 4));
      events.push_back({ids[e], id, "call", edge, properties, "hash", edge});
    }
    const auto inserted = storage::events::insert(*ctx, kTenant, events);
    if (std::count(inserted.begin(), inserted.end(), true) != 8) throw std::runtime_error("events");
    ctx->commit();
  }
}

// One figure: the best of `runs` runs of `read`, in ms.
template <typename Read>
double best_ms(int runs, Read read) {
  double best = 1e300;
  for (int r = 0; r < runs; ++r) {
    const auto start = Stopwatch::now();
    read();
    best =
        std::min(best, std::chrono::duration<double, std::milli>(Stopwatch::now() - start).count());
  }
  return best;
}

using Totals = std::vector<std::string>;  // per customer and meter: "events value"

std::string summary(const services::usage::MeterUsage& u) {
  const auto value = domain::meter_value(u.meter.definition.aggregation, u.total);
  return std::to_string(u.total.events) + " " + (value ? *value : "null") + " " +
         std::to_string(u.groups.size());
}

Totals per_customer(storage::Db& db, const std::vector<storage::MeterRecord>& meters,
                    int customers) {
  Totals out;
  auto tx = db.begin(storage::TxMode::read);
  for (int c = 0; c < customers; ++c) {
    for (const auto& m : meters) {
      out.push_back(
          summary(services::usage::meter_usage(*tx, kTenant, m, customer_id(c), kFrom, kTo)));
    }
  }
  return out;
}

Totals set_based(storage::Db& db, const std::vector<storage::MeterRecord>& meters, int customers) {
  std::vector<services::usage::CustomerWindow> windows;
  for (int c = 0; c < customers; ++c) windows.push_back({customer_id(c), kFrom, kTo});
  Totals out(static_cast<std::size_t>(customers) * meters.size());
  auto tx = db.begin(storage::TxMode::read);
  for (std::size_t m = 0; m < meters.size(); ++m) {
    const auto usage = services::usage::meter_usage_many(*tx, kTenant, meters[m], windows);
    for (std::size_t c = 0; c < usage.size(); ++c) out[c * meters.size() + m] = summary(usage[c]);
  }
  return out;
}

// The ceiling: the same hourly rows (the window's whole hours) by one plain aggregate query.
std::size_t group_by(storage::Db& db) {
  auto tx = db.begin(storage::TxMode::read);
  const bool pg = tx->dialect() == storage::Dialect::postgres;
  const std::string sum = pg ? "SUM(CAST(sum_value AS NUMERIC))" : "TOTAL(sum_value)";
  const auto rows = tx->query(
      "SELECT customer_id, meter_id, group_key, SUM(event_count), " + sum +
          ", MAX(max_value), MAX(latest_at) FROM usage_buckets WHERE tenant_id = $1 AND "
          "bucket_start >= $2 AND bucket_start < $3 GROUP BY customer_id, meter_id, group_key",
      {kTenant.str(),
       domain::to_unix_micros(domain::usage_bucket_start(kFrom) + std::chrono::hours(1)),
       domain::to_unix_micros(domain::usage_bucket_start(kTo))});
  return rows.size();
}

// Fresh statistics for the planner, as autovacuum (PostgreSQL) would have them by a billing run:
// without them PostgreSQL plans the just-filled tables' joins by guesses (sequential scans).
void analyze(storage::Db& db) {
  auto tx = db.begin(storage::TxMode::write);
  tx->exec("ANALYZE");
  tx->commit();
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int customers = 100;
  int runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--db") == 0)
      url = argv[i + 1];
    else if (std::strcmp(argv[i], "--customers") == 0)
      customers = std::stoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--runs") == 0)
      runs = std::stoi(argv[i + 1]);
  }
  if (url.empty()) {
    std::cerr << "usage: neruba_bench_usage_read --db URL [--customers N] [--runs N]\n";
    return 2;
  }
  try {
    auto db = storage::open_database(url);
    const std::string engine =
        db->dialect() == storage::Dialect::postgres ? "PostgreSQL" : "SQLite";
    auto start = Stopwatch::now();
    load(*db, customers);
    std::printf("usage_read %s: loaded %d customers x 5,376 hourly bucket rows in %.1f s\n",
                engine.c_str(), customers,
                std::chrono::duration<double>(Stopwatch::now() - start).count());
    analyze(*db);
    std::vector<storage::MeterRecord> meters;
    {
      auto tx = db->begin(storage::TxMode::read);
      meters = storage::meters::list(*tx, kTenant);
    }
    const auto report = [&](const char* what, double ms) {
      std::printf("usage_read %s: %-42s %9.1f ms  %7.3f ms/customer\n", engine.c_str(), what, ms,
                  ms / customers);
    };
    Totals reference;
    const double old_ms = best_ms(runs, [&] { reference = per_customer(*db, meters, customers); });
    report("per customer, hourly (the old path)", old_ms);
    Totals got;
    report("set-based, hourly", best_ms(runs, [&] { got = set_based(*db, meters, customers); }));
    if (got != reference) throw std::runtime_error("set-based hourly read disagrees");
    start = Stopwatch::now();
    const auto rolled = services::usage::roll_up(*db, kTenant, kTo + std::chrono::hours(48));
    report("roll-up of 32 days (once)",
           std::chrono::duration<double, std::milli>(Stopwatch::now() - start).count());
    analyze(*db);
    std::printf("usage_read %s: %zu daily rows, rolled until %s\n", engine.c_str(),
                rolled.daily_rows, domain::format_rfc3339(rolled.rolled_until).c_str());
    report("per customer, daily rollups",
           best_ms(runs, [&] { got = per_customer(*db, meters, customers); }));
    if (got != reference) throw std::runtime_error("per-customer rolled read disagrees");
    const double new_ms = best_ms(runs, [&] { got = set_based(*db, meters, customers); });
    report("set-based, daily rollups (the new path)", new_ms);
    if (got != reference) throw std::runtime_error("set-based rolled read disagrees");
    std::size_t groups = 0;
    const double ceiling_ms = best_ms(runs, [&] { groups = group_by(*db); });
    report("ceiling: one GROUP BY over the hourly rows", ceiling_ms);
    std::printf("usage_read %s: old / new %.1fx; new / ceiling %.2f; %zu groups\n", engine.c_str(),
                old_ms / new_ms, new_ms / ceiling_ms, groups);
  } catch (const std::exception& error) {
    std::cerr << "usage_read: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
