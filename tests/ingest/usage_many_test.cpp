// Set-based usage reads against the per-customer read and an independent model: random events
// (mid-hour, at hour and day edges, ties of timestamp, equal maxima of different scale, five
// groups), ingested through the API, read over random windows — before any roll-up, after days
// were rolled up, after late events made rolled days stale, and after those were rolled again.
// services::usage::meter_usage_many must give, window by window, exactly what meter_usage gives,
// and both what the model counts from the events themselves.
//
// Clock: 2026-01-10T00:00:00Z; events from 2026-01-02 to 2026-01-09 (inside the 35-day window).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "domain/decimal.hpp"
#include "domain/time.hpp"
#include "ingest_test_support.hpp"
#include "services/usage.hpp"
#include "storage/customers.hpp"
#include "storage/meters.hpp"

namespace neruba::test::ingest_tests {
namespace {

using domain::Decimal;

struct TestEvent {
  std::string id;
  std::string customer;  // external id
  Instant at;
  std::string n;  // as sent
  std::string region;
  std::string user;
};

// What the model expects of one meter over one window.
struct Expected {
  std::int64_t events = 0;
  std::string value;                                 // meter_value text, "null" when none
  std::map<std::string, std::int64_t> group_events;  // by group key (the count meter only)
};

const Instant kFirst = instant("2026-01-02T00:00:00Z");
const Instant kLast = instant("2026-01-09T22:00:00Z");

class UsageMany : public IngestTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Usage Many Inc");
    for (const char* meter :
         {R"({"code":"calls","event_type":"call","aggregation":"count","group_by":["region"]})",
          R"({"code":"tokens","event_type":"call","aggregation":"sum","field":"n"})",
          R"({"code":"peak","event_type":"call","aggregation":"max","field":"n"})",
          R"({"code":"users","event_type":"call","aggregation":"unique_count","field":"user"})",
          R"({"code":"last","event_type":"call","aggregation":"latest","field":"n"})"}) {
      create_meter(tenant_, meter);
    }
    for (int c = 0; c < 6; ++c) {
      customers_.push_back("cust" + std::to_string(c));
      create_customer(tenant_, customers_.back());
    }
  }

  // Random events: on a one-minute grid (so some share a timestamp), some exactly on an hour or a
  // day; values with equal maxima of different scales.
  void send_random(std::mt19937_64& random, std::size_t per_customer, const std::string& prefix) {
    static const char* values[] = {"1", "2.5", "2.50", "0.125", "10", "-3", "7.000001", "10.0"};
    static const char* regions[] = {"eu", "us", "ap", "sa", "af"};
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(kLast - kFirst).count();
    std::vector<std::string> batch;
    for (const auto& customer : customers_) {
      for (std::size_t i = 0; i < per_customer; ++i) {
        TestEvent e;
        e.id = prefix + customer + "_" + std::to_string(i);
        e.customer = customer;
        e.at = kFirst + std::chrono::minutes(random() % minutes);
        if (random() % 10 == 0) e.at = std::chrono::floor<std::chrono::hours>(e.at);
        if (random() % 20 == 0) e.at = std::chrono::floor<std::chrono::days>(e.at);
        e.n = values[random() % std::size(values)];
        e.region = regions[random() % std::size(regions)];
        e.user = "u" + std::to_string(random() % 7);
        batch.push_back(event_json(
            e.id, e.customer, "call", domain::format_rfc3339(e.at),
            R"({"n":)" + e.n + R"(,"region":")" + e.region + R"(","user":")" + e.user + R"("})"));
        events_.push_back(e);
      }
    }
    for (std::size_t start = 0; start < batch.size(); start += 500) {
      const std::vector<std::string> part(batch.begin() + start,
                                          batch.begin() + std::min(batch.size(), start + 500));
      post_expect(tenant_, part, static_cast<std::int64_t>(part.size()));
    }
  }

  // The model: each meter's value counted from the events in [from, to) by hand rules.
  Expected expect(const std::string& meter, const std::string& customer, Instant from,
                  Instant to) const {
    Expected out;
    std::optional<Decimal> sum, max;
    const TestEvent* latest = nullptr;
    std::set<std::string> users;
    for (const auto& e : events_) {
      if (e.customer != customer || e.at < from || e.at >= to) continue;
      ++out.events;
      const Decimal n = *Decimal::parse(e.n);
      sum = sum ? *sum->add(n) : n;
      // Of equal maxima the one written with more decimal places (API.md "max").
      if (!max || n > *max || (n == *max && n.scale() > max->scale())) max = n;
      if (!latest || e.at > latest->at || (e.at == latest->at && e.id > latest->id)) latest = &e;
      users.insert(e.user);
      ++out.group_events[R"({"region":")" + e.region + R"("})"];
    }
    if (meter == "calls") out.value = std::to_string(out.events);
    if (meter == "tokens") out.value = sum ? sum->to_string() : "0";
    if (meter == "peak") out.value = max ? max->to_string() : "null";
    if (meter == "users") out.value = std::to_string(users.size());
    if (meter == "last") out.value = latest ? Decimal::parse(latest->n)->to_string() : "null";
    if (meter != "calls") out.group_events.clear();
    return out;
  }

  static std::string value_text(const services::usage::MeterUsage& usage) {
    const auto value = domain::meter_value(usage.meter.definition.aggregation, usage.total);
    return value ? *value : "null";
  }

  // Random windows: a third within one hour, the rest across hours and days; edges mid-hour,
  // on an hour or on a UTC day; some empty; every customer more than once.
  std::vector<services::usage::CustomerWindow> random_windows(std::mt19937_64& random) {
    const auto span_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             kLast + std::chrono::hours(2) - kFirst + std::chrono::hours(6))
                             .count();
    const auto edge = [&]() {
      Instant at = kFirst - std::chrono::hours(6) + std::chrono::microseconds(random() % span_us);
      const auto mode = random() % 4;
      if (mode == 1) at = std::chrono::floor<std::chrono::hours>(at);
      if (mode == 2) at = std::chrono::floor<std::chrono::days>(at);
      return at;
    };
    std::vector<services::usage::CustomerWindow> windows;
    for (int i = 0; i < 40; ++i) {
      const std::string& customer = customer_ids_.at(random() % customer_ids_.size());
      Instant from = edge();
      Instant to = random() % 3 == 0 ? from + std::chrono::minutes(random() % 61) : edge();
      if (to < from) std::swap(from, to);
      windows.push_back({customer, from, to});
    }
    return windows;
  }

  void compare_all(std::mt19937_64& random, const std::string& stage) {
    const auto windows = random_windows(random);
    auto tx = db().begin(storage::TxMode::read);
    const TenantId tenant(tenant_.id);
    for (const auto& meter : storage::meters::list(*tx, tenant)) {
      const auto many = services::usage::meter_usage_many(*tx, tenant, meter, windows);
      ASSERT_EQ(many.size(), windows.size());
      for (std::size_t i = 0; i < windows.size(); ++i) {
        const auto& w = windows[i];
        const auto one =
            services::usage::meter_usage(*tx, tenant, meter, w.customer_id, w.from, w.to);
        const Expected want =
            expect(meter.definition.code, external_of_.at(w.customer_id), w.from, w.to);
        const std::string where = stage + " " + meter.definition.code + " " + w.customer_id + " [" +
                                  domain::format_rfc3339(w.from) + ", " +
                                  domain::format_rfc3339(w.to) + ")";
        EXPECT_EQ(one.total.events, want.events) << where;
        EXPECT_EQ(value_text(one), want.value) << where;
        EXPECT_EQ(many[i].total.events, one.total.events) << where;
        EXPECT_EQ(value_text(many[i]), value_text(one)) << where;
        EXPECT_EQ(many[i].total.distinct, one.total.distinct) << where;
        EXPECT_EQ(many[i].total.latest_event_id, one.total.latest_event_id) << where;
        ASSERT_EQ(many[i].groups.size(), one.groups.size()) << where;
        for (const auto& [key, total] : one.groups) {
          const auto it = many[i].groups.find(key);
          ASSERT_NE(it, many[i].groups.end()) << where << " " << key;
          EXPECT_EQ(it->second.events, total.events) << where << " " << key;
          EXPECT_EQ(domain::meter_value(meter.definition.aggregation, it->second),
                    domain::meter_value(meter.definition.aggregation, total))
              << where << " " << key;
          if (meter.definition.code == "calls") {
            EXPECT_EQ(total.events, want.group_events.count(key) ? want.group_events.at(key) : 0)
                << where << " " << key;
          }
        }
        if (meter.definition.code == "calls") {
          EXPECT_EQ(one.groups.size(), want.group_events.size()) << where;
        }
      }
    }
  }

  void load_customer_ids() {
    auto tx = db().begin(storage::TxMode::read);
    for (const auto& external : customers_) {
      const auto record =
          storage::customers::find_by_external_id(*tx, TenantId(tenant_.id), external);
      ASSERT_TRUE(record.has_value());
      customer_ids_.push_back(record->id.str());
      external_of_[record->id.str()] = external;
    }
  }

  Tenant tenant_;
  std::vector<std::string> customers_;
  std::vector<std::string> customer_ids_;
  std::map<std::string, std::string> external_of_;
  std::vector<TestEvent> events_;
};

TEST_P(UsageMany, SetBasedReadsEqualPerCustomerReadsAndTheModelThroughRollUps) {
  for (const std::uint64_t seed : {1u, 2u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    if (seed > 1) {
      // A fresh tenant per seed: same meters and customers, its own events.
      events_.clear();
      customers_.clear();
      customer_ids_.clear();
      external_of_.clear();
      SetUp();
    }
    std::mt19937_64 random(seed);
    send_random(random, 120, "a");
    load_customer_ids();
    compare_all(random, "hourly only");
    // Days before 2026-01-08 roll up (the day before `now` minus the lag).
    const auto first =
        services::usage::roll_up(db(), TenantId(tenant_.id), instant("2026-01-08T00:30:00Z"));
    EXPECT_EQ(first.rolled_until, instant("2026-01-07T00:00:00Z"));
    EXPECT_EQ(first.stale_days, 0u);
    EXPECT_GT(first.daily_rows, 0u);
    compare_all(random, "rolled");
    // Late events into rolled days: their days turn stale and are read from their hours.
    send_random(random, 30, "late");
    compare_all(random, "stale");
    const auto second =
        services::usage::roll_up(db(), TenantId(tenant_.id), instant("2026-01-10T00:00:00Z"));
    EXPECT_EQ(second.rolled_until, instant("2026-01-09T00:00:00Z"));
    EXPECT_GT(second.stale_days, 0u);
    compare_all(random, "rolled again");
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageMany, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::ingest_tests
