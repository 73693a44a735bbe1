// Meters and exact usage reads (API.md "Billing semantics → Aggregations", "Usage"):
// GET /v1/customers/{external_id}/usage?from=&to= over the half-open window [from, to) gives each
// meter's value and event count — count, sum, max, unique_count, latest (greatest timestamp, ties
// → greatest event_id, never arrival order) — with filters and group_by. Reads combine whole UTC
// hours (pre-aggregated) and partial hours (raw events); every expected number below is a naive
// hand count over the events listed in the test. Quantities are exact decimals.
//
// Clock: 2026-01-10T00:00:00Z; events on 2026-01-05 (inside the 35-day window).
#include <gtest/gtest.h>

#include <set>

#include "ingest_test_support.hpp"

namespace neruba::test::ingest_tests {
namespace {

using Value = std::pair<std::string, std::int64_t>;  // meter value ("null" for null), events

Value V(const std::string& value, std::int64_t events) { return {value, events}; }

std::string at(const std::string& time) { return "2026-01-05T" + time + "Z"; }

class Aggregations : public IngestTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Aggregations Inc");
    create_customer(tenant_, "alice");
    create_customer(tenant_, "bob");
  }

  Value read(const std::string& meter, const std::string& from, const std::string& to,
             const std::string& customer = "alice") {
    return value_and_events(tenant_, customer, meter, at(from), at(to));
  }

  void meter(const std::string& body) { create_meter(tenant_, body); }

  void send(const std::vector<std::string>& events) {
    post_expect(tenant_, events, static_cast<std::int64_t>(events.size()));
  }

  static std::string ev(const std::string& id, const std::string& type, const std::string& time,
                        const std::string& properties, const std::string& customer = "alice") {
    return event_json(id, customer, type, at(time), properties);
  }

  Tenant tenant_;
};

// --- quantities --------------------------------------------------------------------------------

TEST_P(Aggregations, JsonNumbersSumExactly) {
  meter(R"({"code":"q","event_type":"use","aggregation":"sum","field":"n"})");
  // Both in hour 10: 0.1 + 0.2 = 0.3 exactly (a double would give 0.30000000000000004).
  send({ev("a", "use", "10:10:00", R"({"n":0.1})"), ev("b", "use", "10:20:00", R"({"n":0.2})")});
  EXPECT_EQ(read("q", "00:00:00", "23:00:00"), V("0.3", 2));  // whole hours: pre-aggregated
  EXPECT_EQ(read("q", "10:05:00", "10:25:00"), V("0.3", 2));  // inside one hour: raw events
  // Across batches (separate pre-aggregated rows): + 0.2 = 0.5.
  send({ev("c", "use", "10:30:00", R"({"n":0.2})")});
  EXPECT_EQ(read("q", "00:00:00", "23:00:00"), V("0.5", 3));
}

TEST_P(Aggregations, LargeAndPreciseQuantitiesSurvive) {
  meter(R"({"code":"s","event_type":"big","aggregation":"sum","field":"n"})");
  meter(R"({"code":"m","event_type":"big","aggregation":"max","field":"n"})");
  meter(R"({"code":"l","event_type":"big","aggregation":"latest","field":"n"})");
  send({ev("a", "big", "10:00:00", R"({"n":12345678901234567890.123456789})")});
  const std::string n = "12345678901234567890.123456789";
  EXPECT_EQ(read("s", "00:00:00", "23:00:00"), V(n, 1));
  EXPECT_EQ(read("m", "00:00:00", "23:00:00"), V(n, 1));
  EXPECT_EQ(read("l", "00:00:00", "23:00:00"), V(n, 1));
  EXPECT_EQ(read("s", "09:30:00", "10:30:00"), V(n, 1));  // partial hour: raw
  // + 0.000000000001 (12 fraction digits, in a later hour):
  //   12345678901234567890.123456789000 + 0.000000000001 = 12345678901234567890.123456789001
  send({ev("b", "big", "11:00:00", R"({"n":"0.000000000001"})")});
  EXPECT_EQ(read("s", "00:00:00", "23:00:00"), V("12345678901234567890.123456789001", 2));
  EXPECT_EQ(read("m", "00:00:00", "23:00:00"), V(n, 2));
  EXPECT_EQ(read("l", "00:00:00", "23:00:00"), V("0.000000000001", 2));
}

TEST_P(Aggregations, DecimalStringsAndNumberFormsAreAccepted) {
  meter(R"({"code":"s","event_type":"use","aggregation":"sum","field":"n"})");
  send({
      ev("a", "use", "10:00:00", R"({"n":"1.50"})"),  // 1.50
      ev("b", "use", "10:10:00", R"({"n":"2.25"})"),  // 2.25
      ev("c", "use", "10:20:00", R"({"n":2})"),       // 2
      ev("d", "use", "10:30:00", R"({"n":1e3})"),     // 1000
      ev("e", "use", "10:40:00", R"({"n":2.5E-1})"),  // 0.25
  });
  // 1.50 + 2.25 + 2 + 1000 + 0.25 = 1006.00 (scale 2, the largest written).
  EXPECT_EQ(read("s", "00:00:00", "23:00:00"), V("1006.00", 5));
  // Raw path, [10:00, 10:15): 1.50 + 2.25 = 3.75.
  EXPECT_EQ(read("s", "10:00:00", "10:15:00"), V("3.75", 2));
}

// Regression (was a bug, fixed twice): a read whose exact sum does not fit the decimal type
// (≥ 10^36) first dropped the addend that overflowed (a wrong number), then answered 422 — which
// made a customer's usage unreadable, and unbillable, forever (issue 15, defect 3). A read adds up
// exactly however large the total: 9×10^35 + 9×10^35 = 1.8×10^36, all 37 digits, from whole
// hours and from a raw partial hour alike; never a wrong number, never an error.
TEST_P(Aggregations, SumsBeyondTheDecimalTypeReadExactly) {
  meter(R"({"code":"s","event_type":"use","aggregation":"sum","field":"n"})");
  const std::string nine = "900000000000000000000000000000000000";   // 9 × 10^35: 36 digits
  const std::string both = "1800000000000000000000000000000000000";  // 1.8 × 10^36: 37 digits
  send({ev("a", "use", "10:00:00", R"({"n":")" + nine + R"("})")});
  send({ev("b", "use", "11:00:00", R"({"n":")" + nine + R"("})")});
  // Each alone is fine.
  EXPECT_EQ(read("s", "10:00:00", "11:00:00"), V(nine, 1));
  // Both from pre-aggregated hours, and hour 10 with a raw partial hour 11:
  EXPECT_EQ(read("s", "00:00:00", "23:00:00"), V(both, 2));
  EXPECT_EQ(read("s", "10:00:00", "11:30:00"), V(both, 2));
}

// A meter whose backfill would sum stored events past the decimal type (two of 9 × 10^35 in one
// hour, stored before any meter counted them) is refused with 422 and not created.
TEST_P(Aggregations, AMeterWhoseBackfillOverflowsIsNotCreated) {
  const std::string nine = "900000000000000000000000000000000000";  // 9 × 10^35: 36 digits
  send({ev("a", "use", "10:00:00", R"({"n":")" + nine + R"("})"),
        ev("b", "use", "10:30:00", R"({"n":")" + nine + R"("})")});
  const auto refused =
      api().post("/v1/meters", tenant_.key,
                 R"({"code":"s","event_type":"use","aggregation":"sum","field":"n"})");
  expect_problem(refused, 422, "value-out-of-range");
  EXPECT_EQ(api().get("/v1/meters/s", tenant_.key).status, 404);
  // The same events under a meter that only counts them: created, and both are counted.
  meter(R"({"code":"c","event_type":"use","aggregation":"count"})");
  EXPECT_EQ(read("c", "00:00:00", "23:00:00"), V("2", 2));
}

// Regression (was a bug, fixed): max keeps the first of two equal values it merges, so "1.50" and
// "1.5" over whole (pre-aggregated) hours print as either, depending on the order the database
// returns the per-batch rows (not even the arrival order: rows are keyed by a random batch id).
// Same events must give the same answer (DESIGN.md principle 4). Ten customers receive the same two
// events, half in one arrival order, half in the other; every answer must be the same text.
TEST_P(Aggregations, MaxTextDoesNotDependOnArrivalOrder) {
  meter(R"({"code":"m","event_type":"use","aggregation":"max","field":"n"})");
  std::set<std::string> shown;
  for (int i = 0; i < 10; ++i) {
    const std::string customer = "c" + std::to_string(i);
    create_customer(tenant_, customer);
    const std::string a = ev(customer + "-a", "use", "10:10:00", R"({"n":"1.50"})", customer);
    const std::string b = ev(customer + "-b", "use", "10:20:00", R"({"n":"1.5"})", customer);
    send({i % 2 == 0 ? a : b});  // separate batches: separate pre-aggregated rows
    send({i % 2 == 0 ? b : a});
    const auto [value, events] = read("m", "10:00:00", "11:00:00", customer);
    EXPECT_EQ(events, 2);
    shown.insert(value);
  }
  EXPECT_EQ(shown.size(), 1u) << "max of 1.50 and 1.5 printed as: " << [&] {
    std::string out;
    for (const auto& value : shown) out += value + " ";
    return out;
  }();
}

// --- count, sum, max at the window's edges ------------------------------------------------------

class Edges : public Aggregations {
 protected:
  void SetUp() override {
    Aggregations::SetUp();
    meter(R"({"code":"c","event_type":"req","aggregation":"count"})");
    meter(R"({"code":"s","event_type":"req","aggregation":"sum","field":"n"})");
    meter(R"({"code":"m","event_type":"req","aggregation":"max","field":"n"})");
    send({
        ev("e1", "req", "09:59:59", R"({"n":100})"),
        ev("e2", "req", "10:00:00", R"({"n":1})"),
        ev("e3", "req", "10:30:00", R"({"n":2})"),
        ev("e4", "req", "11:00:00", R"({"n":4})"),
        ev("e5", "req", "11:59:59.999999", R"({"n":8})"),
        ev("e6", "req", "12:00:00", R"({"n":16})"),
        // bob's events never count for alice.
        ev("x1", "req", "10:00:00", R"({"n":1000})", "bob"),
        ev("x2", "req", "11:30:00", R"({"n":1000})", "bob"),
    });
  }
};

TEST_P(Edges, FromIsIncludedAndToIsExcluded) {
  // [10:00, 12:00): e2, e3, e4, e5 (e1 before, e6 at `to`) → 1 + 2 + 4 + 8 = 15, max 8.
  EXPECT_EQ(read("c", "10:00:00", "12:00:00"), V("4", 4));
  EXPECT_EQ(read("s", "10:00:00", "12:00:00"), V("15", 4));
  EXPECT_EQ(read("m", "10:00:00", "12:00:00"), V("8", 4));
  // [09:59:59, 10:00:00): e1 only → 100.
  EXPECT_EQ(read("s", "09:59:59", "10:00:00"), V("100", 1));
  // [12:00:00, 12:00:00.000001): e6 only → 16.
  EXPECT_EQ(read("s", "12:00:00", "12:00:00.000001"), V("16", 1));
  // [11:59:59.999999, 12:00:00): e5 only.
  EXPECT_EQ(read("m", "11:59:59.999999", "12:00:00"), V("8", 1));
}

TEST_P(Edges, WindowsNotAlignedToHours) {
  // [10:30, 12:15): partial 10:30–11:00 (e3), whole hour 11 (e4, e5), partial 12:00–12:15 (e6)
  //   → 2 + 4 + 8 + 16 = 30, max 16.
  EXPECT_EQ(read("c", "10:30:00", "12:15:00"), V("4", 4));
  EXPECT_EQ(read("s", "10:30:00", "12:15:00"), V("30", 4));
  EXPECT_EQ(read("m", "10:30:00", "12:15:00"), V("16", 4));
  // [09:30, 11:00:00.000001): e1, e2, e3, e4 → 100 + 1 + 2 + 4 = 107, max 100.
  EXPECT_EQ(read("s", "09:30:00", "11:00:00.000001"), V("107", 4));
  EXPECT_EQ(read("m", "09:30:00", "11:00:00.000001"), V("100", 4));
  // [10:00:00.000001, 11:59:59.999999): e3, e4 → 2 + 4 = 6 (e2 is 1 µs early, e5 at `to`).
  EXPECT_EQ(read("s", "10:00:00.000001", "11:59:59.999999"), V("6", 2));
  // [09:00, 13:00) whole hours only: e1..e6 → 100+1+2+4+8+16 = 131.
  EXPECT_EQ(read("s", "09:00:00", "13:00:00"), V("131", 6));
}

TEST_P(Edges, WindowsInsideOneHour) {
  // [10:15, 10:45): e3 → 2.
  EXPECT_EQ(read("s", "10:15:00", "10:45:00"), V("2", 1));
  // [11:00, 11:30): e4 → 4 (starts on the hour, ends inside it).
  EXPECT_EQ(read("s", "11:00:00", "11:30:00"), V("4", 1));
  // [11:30, 12:00): e5 → 8 (starts inside, ends on the hour).
  EXPECT_EQ(read("s", "11:30:00", "12:00:00"), V("8", 1));
  // [10:31, 10:59): nothing → count 0, sum "0", max null.
  EXPECT_EQ(read("c", "10:31:00", "10:59:00"), V("0", 0));
  EXPECT_EQ(read("s", "10:31:00", "10:59:00"), V("0", 0));
  EXPECT_EQ(read("m", "10:31:00", "10:59:00"), V("null", 0));
  // An empty window [10:00, 10:00).
  EXPECT_EQ(read("c", "10:00:00", "10:00:00"), V("0", 0));
  EXPECT_EQ(read("m", "10:00:00", "10:00:00"), V("null", 0));
}

TEST_P(Edges, OtherCustomersAndUsageRequestErrors) {
  // bob: x1 (1000) at 10:00, x2 (1000) at 11:30 → [10:00, 12:00): 2000, max 1000.
  EXPECT_EQ(read("s", "10:00:00", "12:00:00", "bob"), V("2000", 2));
  EXPECT_EQ(read("m", "10:00:00", "12:00:00", "bob"), V("1000", 2));
  expect_problem(usage(tenant_, "nobody", at("10:00:00"), at("12:00:00")), 404, "not-found");
  expect_problem(usage(tenant_, "alice", at("12:00:00"), at("10:00:00")), 422, "validation-failed");
  expect_problem(api().get("/v1/customers/alice/usage?from=" + at("10:00:00"), tenant_.key), 422,
                 "validation-failed");
  expect_problem(usage(tenant_, "alice", "yesterday", at("10:00:00")), 422, "validation-failed");
  // Reading needs scope read.
  const Tenant ingest_only{tenant_.id, make_key(tenant_.id, R"(["ingest"])")};
  expect_problem(usage(ingest_only, "alice", at("10:00:00"), at("12:00:00")), 403,
                 "insufficient-scope");
  // Another tenant does not see alice.
  const Tenant other = make_tenant("Other");
  expect_problem(usage(other, "alice", at("10:00:00"), at("12:00:00")), 404, "not-found");
}

// --- unique_count -------------------------------------------------------------------------------

TEST_P(Aggregations, UniqueCountOfStringsAndNumbers) {
  meter(R"({"code":"u","event_type":"login","aggregation":"unique_count","field":"user"})");
  send({
      ev("u1", "login", "10:05:00", R"({"user":"ann"})"),
      ev("u2", "login", "10:10:00", R"({"user":"bob"})"),
      ev("u3", "login", "10:20:00", R"({"user":"ann"})"),
      ev("u4", "login", "11:05:00", R"({"user":42})"),
  });
  send({
      ev("u5", "login", "11:10:00", R"({"user":7})"),
      ev("u6", "login", "11:20:00", R"({"user":42})"),
      ev("u7", "login", "12:30:00", R"({"user":"cy"})"),
      ev("u8", "login", "12:45:00", R"({"user":"ann"})"),
      ev("u9", "login", "12:50:00", R"({"other":"x"})"),  // no user: not counted
  });
  // [10:00, 13:00): {ann, bob, 42, 7, cy} = 5 distinct over u1..u8 = 8 events.
  EXPECT_EQ(read("u", "10:00:00", "13:00:00"), V("5", 8));
  // [10:00, 11:00): {ann, bob} over u1, u2, u3.
  EXPECT_EQ(read("u", "10:00:00", "11:00:00"), V("2", 3));
  // [10:15, 11:07): u3 (ann), u4 (42) → 2.
  EXPECT_EQ(read("u", "10:15:00", "11:07:00"), V("2", 2));
  // [10:15, 13:00): raw u3 (ann); hours 11 (42, 7, 42) and 12 (cy, ann) → {ann, 42, 7, cy} = 4
  //   over u3..u8 = 6 events.
  EXPECT_EQ(read("u", "10:15:00", "13:00:00"), V("4", 6));
  // [11:00, 12:40): hour 11 (42, 7, 42) + raw u7 (cy) → 3 over 4 events.
  EXPECT_EQ(read("u", "11:00:00", "12:40:00"), V("3", 4));
  // Nothing: 0.
  EXPECT_EQ(read("u", "13:00:00", "14:00:00"), V("0", 0));
}

// --- latest -------------------------------------------------------------------------------------

TEST_P(Aggregations, LatestIsByTimestampThenEventIdNeverArrivalOrder) {
  meter(R"({"code":"g","event_type":"gauge","aggregation":"latest","field":"level"})");
  // The latest event arrives first.
  send({ev("g3", "gauge", "11:15:00", R"({"level":3})")});
  send({ev("g1", "gauge", "10:00:00", R"({"level":1})"),
        ev("g2", "gauge", "10:30:00", R"({"level":2})")});
  // [10:00, 12:00): greatest timestamp is g3 (11:15) → 3.
  EXPECT_EQ(read("g", "10:00:00", "12:00:00"), V("3", 3));
  // [10:00, 11:00): g2 (10:30) → 2, though g3 arrived first and g2 last.
  EXPECT_EQ(read("g", "10:00:00", "11:00:00"), V("2", 2));
  // [10:15, 11:20): g2 raw, g3 raw → 3.
  EXPECT_EQ(read("g", "10:15:00", "11:20:00"), V("3", 2));
  // Nothing in [12:00, 13:00): null.
  EXPECT_EQ(read("g", "12:00:00", "13:00:00"), V("null", 0));

  // A tie at 11:45: t-b (50) and t-a (40), t-b sent first, in separate batches (separate rows).
  send({ev("t-b", "gauge", "11:45:00", R"({"level":50})")});
  send({ev("t-a", "gauge", "11:45:00", R"({"level":40})")});
  // Greatest timestamp 11:45, tie → greatest event_id "t-b" > "t-a" → 50.
  EXPECT_EQ(read("g", "10:00:00", "12:00:00"), V("50", 5));  // hour 11 pre-aggregated
  EXPECT_EQ(read("g", "11:30:00", "12:00:00"), V("50", 2));  // raw
  // [10:30, 11:50) holds no whole hour: all raw — g2, g3, t-b, t-a → 50.
  EXPECT_EQ(read("g", "10:30:00", "11:50:00"), V("50", 4));
  // A later, smaller value wins over a greater earlier one: latest is not max.
  send({ev("a-late", "gauge", "11:50:00", R"({"level":"0.5"})")});
  EXPECT_EQ(read("g", "10:00:00", "12:00:00"), V("0.5", 6));
}

TEST_P(Aggregations, LatestTieInsideOneBatch) {
  meter(R"({"code":"g","event_type":"gauge","aggregation":"latest","field":"level"})");
  // Same timestamp, one batch, greatest event_id ("z") sent first.
  send({ev("z", "gauge", "10:00:00", R"({"level":9})"),
        ev("m", "gauge", "10:00:00", R"({"level":5})"),
        ev("a", "gauge", "10:00:00", R"({"level":1})")});
  EXPECT_EQ(read("g", "00:00:00", "23:00:00"), V("9", 3));  // pre-aggregated
  EXPECT_EQ(read("g", "09:59:00", "10:01:00"), V("9", 3));  // raw
}

// Ties across commits are merged by the database (PostgreSQL: in the bucket upsert), and there too
// the greater event_id wins byte by byte: 'a' (0x61) after 'Z' (0x5A), where a linguistic
// collation would put "a1" first. Sent in both orders, into two hours' buckets.
TEST_P(Aggregations, LatestTieAcrossCommitsComparesEventIdsBytewise) {
  meter(R"({"code":"g","event_type":"gauge","aggregation":"latest","field":"level"})");
  send({ev("Z1", "gauge", "10:00:00", R"({"level":1})")});
  send({ev("a1", "gauge", "10:00:00", R"({"level":2})")});
  EXPECT_EQ(read("g", "00:00:00", "23:00:00"), V("2", 2));  // pre-aggregated
  EXPECT_EQ(read("g", "09:59:00", "10:01:00"), V("2", 2));  // raw
  send({ev("a2", "gauge", "11:00:00", R"({"level":3})")});
  send({ev("Z2", "gauge", "11:00:00", R"({"level":4})")});
  EXPECT_EQ(read("g", "10:30:00", "23:00:00"), V("3", 2));  // hour 11: a2 wins, sent first
}

// --- filters and group_by -----------------------------------------------------------------------

TEST_P(Aggregations, FiltersKeepOnlyListedValues) {
  meter(
      R"({"code":"eu","event_type":"call","aggregation":"count","filters":{"region":["eu","uk"]}})");
  meter(R"({"code":"gold","event_type":"call","aggregation":"sum","field":"n",)"
        R"("filters":{"tier":["gold"],"region":["eu"]}})");
  meter(
      R"({"code":"ok","event_type":"call","aggregation":"count","filters":{"status":[200,204]}})");
  send({
      ev("f1", "call", "10:00:00", R"({"region":"eu","tier":"gold","n":1,"status":200})"),
      ev("f2", "call", "10:10:00", R"({"region":"uk","tier":"gold","n":2,"status":204})"),
      ev("f3", "call", "10:20:00", R"({"region":"us","tier":"gold","n":4,"status":500})"),
      ev("f4", "call", "10:30:00", R"({"tier":"gold","n":8})"),  // no region
      ev("f5", "call", "10:40:00", R"({"region":"EU","tier":"gold","n":16})"),
      ev("f6", "call", "11:10:00", R"({"region":"eu","tier":"silver","n":32,"status":"200"})"),
      ev("f7", "call", "11:20:00", R"({"region":"eu","n":64})"),  // no tier
      ev("f8", "call", "11:30:00", R"({"region":"eu","tier":"gold","n":128})"),
      ev("f9", "call", "11:40:00", R"({"region":["eu"],"tier":"gold","n":256})"),
  });
  // eu: region in {eu, uk}: f1, f2, f6, f7, f8 → 5 (f5 "EU" differs in case, f9 is an array).
  EXPECT_EQ(read("eu", "10:00:00", "12:00:00"), V("5", 5));
  // gold: tier gold AND region eu: f1 (1), f8 (128) → 129.
  EXPECT_EQ(read("gold", "10:00:00", "12:00:00"), V("129", 2));
  // Through raw edges, [09:30, 11:45): the same two events → 129.
  EXPECT_EQ(read("gold", "09:30:00", "11:45:00"), V("129", 2));
  // [10:05, 11:25): eu → f2, f6, f7 = 3; gold → nothing.
  EXPECT_EQ(read("eu", "10:05:00", "11:25:00"), V("3", 3));
  EXPECT_EQ(read("gold", "10:05:00", "11:25:00"), V("0", 0));
  // ok: status 200 or 204 by JSON text: f1 (200), f2 (204), f6 ("200" as a string has the
  // same text) → 3.
  EXPECT_EQ(read("ok", "10:00:00", "12:00:00"), V("3", 3));
}

TEST_P(Aggregations, GroupByGivesPerGroupValuesAndANullGroup) {
  meter(
      R"({"code":"by_region","event_type":"call","aggregation":"sum","field":"n","group_by":["region"]})");
  meter(R"({"code":"plain","event_type":"call","aggregation":"count"})");
  send({
      ev("g1", "call", "10:00:00", R"({"region":"eu","n":5})"),
      ev("g2", "call", "10:30:00", R"({"region":"eu","n":7})"),
      ev("g3", "call", "11:00:00", R"({"region":"us","n":3})"),
      ev("g4", "call", "11:15:00", R"({"n":1})"),  // no region → group {"region":null}
      ev("g5", "call", "12:20:00", R"({"region":"eu","n":10})"),
  });
  // [10:00, 12:00): eu 5 + 7 = 12 (2), us 3 (1), null 1 (1); total 16 over 4.
  const json::Value item =
      meter_usage(tenant_, "alice", "by_region", at("10:00:00"), at("12:00:00"));
  EXPECT_EQ(text_of(item, "value"), "16");
  EXPECT_EQ(int_of(item, "events"), 4);
  ASSERT_EQ(member(item, "groups").items().size(), 3u) << json::serialize(item);
  const json::Value* eu = find_group(item, R"({"region":"eu"})");
  const json::Value* us = find_group(item, R"({"region":"us"})");
  const json::Value* none = find_group(item, R"({"region":null})");
  ASSERT_NE(eu, nullptr) << json::serialize(item);
  ASSERT_NE(us, nullptr) << json::serialize(item);
  ASSERT_NE(none, nullptr) << json::serialize(item);
  EXPECT_EQ(text_of(*eu, "value"), "12");
  EXPECT_EQ(int_of(*eu, "events"), 2);
  EXPECT_EQ(text_of(*us, "value"), "3");
  EXPECT_EQ(int_of(*us, "events"), 1);
  EXPECT_EQ(text_of(*none, "value"), "1");
  EXPECT_EQ(int_of(*none, "events"), 1);

  // [10:15, 12:30): raw g2 (eu 7); hour 11 g3 (us 3), g4 (null 1); raw g5 (eu 10)
  //   → eu 17 (2), us 3 (1), null 1 (1); total 21.
  const json::Value mixed =
      meter_usage(tenant_, "alice", "by_region", at("10:15:00"), at("12:30:00"));
  EXPECT_EQ(text_of(mixed, "value"), "21");
  const json::Value* eu2 = find_group(mixed, R"({"region":"eu"})");
  ASSERT_NE(eu2, nullptr) << json::serialize(mixed);
  EXPECT_EQ(text_of(*eu2, "value"), "17");
  EXPECT_EQ(int_of(*eu2, "events"), 2);

  // A meter without group_by has no groups member.
  const json::Value plain = meter_usage(tenant_, "alice", "plain", at("10:00:00"), at("12:00:00"));
  EXPECT_EQ(plain.find("groups"), nullptr) << json::serialize(plain);
  EXPECT_EQ(text_of(plain, "value"), "4");
}

TEST_P(Aggregations, GroupByTwoPropertiesWithFilters) {
  meter(R"({"code":"calls","event_type":"call","aggregation":"count","group_by":["region","tier"],)"
        R"("filters":{"status":["ok"]}})");
  send({
      ev("h1", "call", "10:00:00", R"({"region":"eu","tier":"gold","status":"ok"})"),
      ev("h2", "call", "10:10:00", R"({"region":"eu","tier":"gold","status":"ok"})"),
      ev("h3", "call", "10:20:00", R"({"region":"eu","status":"ok"})"),
      ev("h4", "call", "10:30:00", R"({"tier":"gold","status":"ok"})"),
      ev("h5", "call", "10:40:00", R"({"region":"eu","tier":"gold","status":"err"})"),
      ev("h6", "call", "10:50:00", R"({"region":"eu","tier":"gold"})"),
  });
  // status ok: h1..h4 → eu/gold 2, eu/null 1, null/gold 1; total 4.
  const json::Value item = meter_usage(tenant_, "alice", "calls", at("10:00:00"), at("11:00:00"));
  EXPECT_EQ(text_of(item, "value"), "4");
  EXPECT_EQ(member(item, "groups").items().size(), 3u) << json::serialize(item);
  const json::Value* gold = find_group(item, R"({"region":"eu","tier":"gold"})");
  const json::Value* eu_only = find_group(item, R"({"region":"eu","tier":null})");
  const json::Value* gold_only = find_group(item, R"({"region":null,"tier":"gold"})");
  ASSERT_NE(gold, nullptr) << json::serialize(item);
  ASSERT_NE(eu_only, nullptr) << json::serialize(item);
  ASSERT_NE(gold_only, nullptr) << json::serialize(item);
  EXPECT_EQ(text_of(*gold, "value"), "2");
  EXPECT_EQ(text_of(*eu_only, "value"), "1");
  EXPECT_EQ(text_of(*gold_only, "value"), "1");
}

TEST_P(Aggregations, GroupedUniqueCountAndLatest) {
  meter(R"({"code":"users","event_type":"visit","aggregation":"unique_count","field":"user",)"
        R"("group_by":["site"]})");
  meter(
      R"({"code":"last","event_type":"visit","aggregation":"latest","field":"n","group_by":["site"]})");
  send({
      ev("v1", "visit", "10:00:00", R"({"site":"a","user":"ann","n":1})"),
      ev("v2", "visit", "10:30:00", R"({"site":"a","user":"bob","n":2})"),
      ev("v3", "visit", "11:00:00", R"({"site":"b","user":"ann","n":3})"),
      ev("v4", "visit", "11:10:00", R"({"site":"a","user":"ann","n":4})"),
  });
  // users [10:00, 12:00): total {ann, bob} = 2 over 4; a: {ann, bob} = 2 (3 events);
  //   b: {ann} = 1 (1 event).
  const json::Value users = meter_usage(tenant_, "alice", "users", at("10:00:00"), at("12:00:00"));
  EXPECT_EQ(text_of(users, "value"), "2");
  EXPECT_EQ(int_of(users, "events"), 4);
  const json::Value* a = find_group(users, R"({"site":"a"})");
  const json::Value* b = find_group(users, R"({"site":"b"})");
  ASSERT_NE(a, nullptr) << json::serialize(users);
  ASSERT_NE(b, nullptr) << json::serialize(users);
  EXPECT_EQ(text_of(*a, "value"), "2");
  EXPECT_EQ(int_of(*a, "events"), 3);
  EXPECT_EQ(text_of(*b, "value"), "1");
  // latest [10:00, 12:00): total v4 (11:10) → 4; a → v4 4; b → v3 3.
  const json::Value last = meter_usage(tenant_, "alice", "last", at("10:00:00"), at("12:00:00"));
  EXPECT_EQ(text_of(last, "value"), "4");
  ASSERT_NE(find_group(last, R"({"site":"b"})"), nullptr) << json::serialize(last);
  EXPECT_EQ(text_of(*find_group(last, R"({"site":"b"})"), "value"), "3");
  EXPECT_EQ(text_of(*find_group(last, R"({"site":"a"})"), "value"), "4");
}

// --- meters -------------------------------------------------------------------------------------

TEST_P(Aggregations, MeterCreatedAfterTheEventsCountsThemAndLaterOnes) {
  send({
      ev("b1", "job", "10:00:00", R"({"secs":10,"user":"ann"})"),
      ev("b2", "job", "10:40:00", R"({"secs":20,"user":"bob"})"),
      ev("b3", "job", "11:20:00", R"({"secs":30,"user":"ann"})"),
      ev("b4", "other", "11:30:00", R"({"secs":1000})"),
  });
  meter(R"({"code":"jobs","event_type":"job","aggregation":"count"})");
  meter(R"({"code":"secs","event_type":"job","aggregation":"sum","field":"secs"})");
  meter(R"({"code":"users","event_type":"job","aggregation":"unique_count","field":"user"})");
  meter(R"({"code":"last","event_type":"job","aggregation":"latest","field":"secs"})");
  // [10:00, 12:00): b1, b2, b3 → count 3, sum 60, users {ann, bob} 2, latest b3 30.
  EXPECT_EQ(read("jobs", "10:00:00", "12:00:00"), V("3", 3));
  EXPECT_EQ(read("secs", "10:00:00", "12:00:00"), V("60", 3));
  EXPECT_EQ(read("users", "10:00:00", "12:00:00"), V("2", 3));
  EXPECT_EQ(read("last", "10:00:00", "12:00:00"), V("30", 3));
  // Partial window [10:30, 11:30): b2, b3 → sum 50.
  EXPECT_EQ(read("secs", "10:30:00", "11:30:00"), V("50", 2));

  send({ev("b5", "job", "11:50:00", R"({"secs":5,"user":"cy"})"),
        ev("b6", "job", "12:10:00", R"({"secs":7,"user":"ann"})")});
  // [10:00, 13:00): b1..b3, b5, b6 → 5 events, 10+20+30+5+7 = 72, users {ann, bob, cy} 3,
  //   latest b6 (12:10) 7.
  EXPECT_EQ(read("jobs", "10:00:00", "13:00:00"), V("5", 5));
  EXPECT_EQ(read("secs", "10:00:00", "13:00:00"), V("72", 5));
  EXPECT_EQ(read("users", "10:00:00", "13:00:00"), V("3", 5));
  EXPECT_EQ(read("last", "10:00:00", "13:00:00"), V("7", 5));
  // Resending an earlier event changes nothing.
  post_expect(tenant_, {ev("b1", "job", "10:00:00", R"({"secs":10,"user":"ann"})")}, 0, 1);
  EXPECT_EQ(read("secs", "10:00:00", "13:00:00"), V("72", 5));
}

TEST_P(Aggregations, MeterEndpoints) {
  const auto created =
      api().post("/v1/meters", tenant_.key,
                 R"({"code":"tok","event_type":"llm","aggregation":"sum","field":"tokens",)"
                 R"("filters":{"model":["a","b"]},"group_by":["model"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.field("code"), "tok");
  EXPECT_EQ(created.field("aggregation"), "sum");
  EXPECT_EQ(created.field("field"), "tokens");
  const auto got = api().get("/v1/meters/tok", tenant_.key);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.field("event_type"), "llm");
  EXPECT_EQ(member(member(got.json, "filters"), "model").items().size(), 2u) << got.body;
  EXPECT_EQ(member(got.json, "group_by").items().size(), 1u) << got.body;
  meter(R"({"code":"n","event_type":"llm","aggregation":"count"})");
  const auto list = api().get("/v1/meters", tenant_.key);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(member(list.json, "data").items().size(), 2u) << list.body;
  expect_problem(api().get("/v1/meters/none", tenant_.key), 404, "not-found");
  expect_problem(api().post("/v1/meters", tenant_.key,
                            R"({"code":"tok","event_type":"llm","aggregation":"count"})"),
                 409, "already-exists");
  expect_problem(api().post("/v1/meters", tenant_.key,
                            R"({"code":"x","event_type":"llm","aggregation":"sum"})"),
                 422, "validation-failed");
  expect_problem(api().post("/v1/meters", tenant_.key,
                            R"({"code":"x","event_type":"llm","aggregation":"avg","field":"n"})"),
                 422, "validation-failed");
  expect_problem(api().post("/v1/meters", tenant_.key,
                            R"({"code":"x","event_type":"llm","aggregation":"count","field":"n"})"),
                 422, "validation-failed");
  // Another tenant sees none of these meters.
  const Tenant other = make_tenant("Other");
  EXPECT_EQ(api().get("/v1/meters/tok", other.key).status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, Aggregations, ::testing::ValuesIn(test_backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, Edges, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::ingest_tests
