// Unit tests of the pure metering layer (domain/metering.hpp): which events a meter counts
// (contribute: event type, filters, field), under which group, how partial aggregates add and
// merge (count, sum, max, distinct values, latest with its tie-break) independently of order, how
// a meter's value is shown, and the UTC-hour bucket of an instant (negative instants too).
// Expected values are worked out by hand.
#include "domain/metering.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/time.hpp"
#include "json/json.hpp"

namespace neruba::domain {
namespace {

json::Value props(std::string_view text) {
  auto parsed = json::parse(text);
  if (!parsed) throw std::runtime_error("bad JSON in test: " + std::string(text));
  return std::move(parsed).value();
}

Decimal dec(std::string_view text) {
  const auto value = Decimal::parse(text);
  if (!value) throw std::runtime_error("bad decimal in test: " + std::string(text));
  return *value;
}

MeterDefinition meter(Aggregation aggregation, std::string field = "",
                      std::map<std::string, std::vector<std::string>> filters = {},
                      std::vector<std::string> group_by = {}) {
  MeterDefinition m;
  m.id = MeterId("mtr_test");
  m.code = "test";
  m.event_type = "api_call";
  m.aggregation = aggregation;
  m.field = std::move(field);
  m.filters = std::move(filters);
  m.group_by = std::move(group_by);
  return m;
}

// A sum meter's contribution: its number adds to the sum (and feeds max and latest).
Contribution number(std::string_view text) {
  Contribution c;
  c.group_key = "{}";
  c.number = dec(text);
  c.summed = true;
  return c;
}

// A max or latest meter's contribution: its number is never summed.
Contribution unsummed(std::string_view text) {
  Contribution c = number(text);
  c.summed = false;
  return c;
}

Contribution text(std::string value) {
  Contribution c;
  c.group_key = "{}";
  c.distinct = std::move(value);
  return c;
}

Instant at(std::int64_t micros) { return from_unix_micros(micros); }

// The value a read shows for one bucket's aggregate.
std::optional<std::string> value_of(Aggregation aggregation, const Aggregate& aggregate) {
  UsageTotal total;
  total.add(aggregate);
  return meter_value(aggregation, total);
}

// All observable state of an aggregate, for equality checks.
std::string describe(const Aggregate& a) {
  std::string out = "events=" + std::to_string(a.events);
  out += " sum=" + (a.sum ? a.sum->to_string() : std::string("-"));
  out += " max=" + (a.max ? a.max->to_string() : std::string("-"));
  out += " latest_at=" +
         (a.latest_at ? std::to_string(to_unix_micros(*a.latest_at)) : std::string("-"));
  out += " latest_id=" + a.latest_event_id;
  out += " latest=" + (a.latest_value ? a.latest_value->to_string() : std::string("-"));
  return out;
}

// --- names --------------------------------------------------------------------------------------

TEST(MeteringNames, AggregationNamesRoundTrip) {
  for (const auto aggregation : {Aggregation::count, Aggregation::sum, Aggregation::max,
                                 Aggregation::unique_count, Aggregation::latest}) {
    EXPECT_EQ(parse_aggregation(aggregation_name(aggregation)), aggregation);
  }
  EXPECT_EQ(aggregation_name(Aggregation::unique_count), "unique_count");
  EXPECT_FALSE(parse_aggregation("avg"));
  EXPECT_FALSE(parse_aggregation("COUNT"));
  EXPECT_FALSE(parse_aggregation(""));
  EXPECT_FALSE(aggregation_needs_field(Aggregation::count));
  EXPECT_TRUE(aggregation_needs_field(Aggregation::sum));
  EXPECT_TRUE(aggregation_needs_field(Aggregation::max));
  EXPECT_TRUE(aggregation_needs_field(Aggregation::unique_count));
  EXPECT_TRUE(aggregation_needs_field(Aggregation::latest));
}

TEST(MeteringPropertyText, StringsNumbersAndBooleansOnly) {
  EXPECT_EQ(property_text(props(R"("eu")")), "eu");
  EXPECT_EQ(property_text(props(R"("")")), "");
  EXPECT_EQ(property_text(props("1.50")), "1.50");  // the literal, not a normalised number
  EXPECT_EQ(property_text(props("-2e3")), "-2e3");
  EXPECT_EQ(property_text(props("true")), "true");
  EXPECT_EQ(property_text(props("false")), "false");
  EXPECT_FALSE(property_text(props("null")));
  EXPECT_FALSE(property_text(props("[1]")));
  EXPECT_FALSE(property_text(props(R"({"a":1})")));
}

// --- contribute ---------------------------------------------------------------------------------

TEST(MeteringContribute, OtherEventTypesDoNotMatch) {
  const auto m = meter(Aggregation::count);
  EXPECT_EQ(contribute(m, "api_call", props("{}")).error, ContributionError::none);
  EXPECT_EQ(contribute(m, "api_calls", props("{}")).error, ContributionError::not_matching);
  EXPECT_EQ(contribute(m, "API_CALL", props("{}")).error, ContributionError::not_matching);
  EXPECT_EQ(contribute(m, "", props("{}")).error, ContributionError::not_matching);
}

TEST(MeteringContribute, CountNeedsNoFieldAndCarriesNoValue) {
  const auto result = contribute(meter(Aggregation::count), "api_call", props(R"({"n":"abc"})"));
  EXPECT_EQ(result.error, ContributionError::none);
  EXPECT_EQ(result.contribution.group_key, "{}");
  EXPECT_FALSE(result.contribution.number);
  EXPECT_FALSE(result.contribution.distinct);
}

TEST(MeteringContribute, FiltersNeedEveryPropertyPresentWithAListedValue) {
  const auto m = meter(Aggregation::count, "", {{"region", {"eu", "uk"}}, {"tier", {"gold"}}});
  const auto error = [&](std::string_view properties) {
    return contribute(m, "api_call", props(properties)).error;
  };
  EXPECT_EQ(error(R"({"region":"eu","tier":"gold"})"), ContributionError::none);
  EXPECT_EQ(error(R"({"region":"uk","tier":"gold","x":1})"), ContributionError::none);
  EXPECT_EQ(error(R"({"region":"us","tier":"gold"})"), ContributionError::not_matching);
  EXPECT_EQ(error(R"({"region":"eu","tier":"silver"})"), ContributionError::not_matching);
  EXPECT_EQ(error(R"({"region":"eu"})"), ContributionError::not_matching);  // tier missing
  EXPECT_EQ(error(R"({"tier":"gold"})"), ContributionError::not_matching);  // region missing
  EXPECT_EQ(error(R"({"region":null,"tier":"gold"})"), ContributionError::not_matching);
  EXPECT_EQ(error(R"({"region":["eu"],"tier":"gold"})"), ContributionError::not_matching);
  EXPECT_EQ(error(R"({"region":"EU","tier":"gold"})"), ContributionError::not_matching);
  EXPECT_EQ(error("{}"), ContributionError::not_matching);
}

TEST(MeteringContribute, FilterValuesCompareByJsonText) {
  const auto m = meter(Aggregation::count, "", {{"status", {"200"}}, {"cached", {"true"}}});
  const auto error = [&](std::string_view properties) {
    return contribute(m, "api_call", props(properties)).error;
  };
  EXPECT_EQ(error(R"({"status":200,"cached":true})"), ContributionError::none);
  EXPECT_EQ(error(R"({"status":"200","cached":"true"})"), ContributionError::none);
  // Numbers compare by their literal: 200.0 is not "200".
  EXPECT_EQ(error(R"({"status":200.0,"cached":true})"), ContributionError::not_matching);
  EXPECT_EQ(error(R"({"status":200,"cached":false})"), ContributionError::not_matching);
}

TEST(MeteringContribute, FiltersAreCheckedBeforeTheField) {
  // An event the meter does not count is never "not numeric" for it.
  const auto m = meter(Aggregation::sum, "gb", {{"region", {"eu"}}});
  EXPECT_EQ(contribute(m, "api_call", props(R"({"region":"us","gb":"lots"})")).error,
            ContributionError::not_matching);
  EXPECT_EQ(contribute(m, "other", props(R"({"region":"eu","gb":"lots"})")).error,
            ContributionError::not_matching);
  EXPECT_EQ(contribute(m, "api_call", props(R"({"region":"eu","gb":"lots"})")).error,
            ContributionError::field_not_numeric);
}

TEST(MeteringContribute, GroupKeyIsCanonicalWithNullForMissing) {
  const auto one = meter(Aggregation::count, "", {}, {"region"});
  EXPECT_EQ(contribute(one, "api_call", props(R"({"region":"eu","x":1})")).contribution.group_key,
            R"({"region":"eu"})");
  EXPECT_EQ(contribute(one, "api_call", props(R"({"x":1})")).contribution.group_key,
            R"({"region":null})");
  EXPECT_EQ(contribute(one, "api_call", props(R"({"region":null})")).contribution.group_key,
            R"({"region":null})");
  EXPECT_EQ(contribute(one, "api_call", props(R"({"region":["eu"]})")).contribution.group_key,
            R"({"region":null})");
  // Numbers and booleans appear as their text.
  EXPECT_EQ(contribute(one, "api_call", props(R"({"region":5})")).contribution.group_key,
            R"({"region":"5"})");
  EXPECT_EQ(contribute(one, "api_call", props(R"({"region":true})")).contribution.group_key,
            R"({"region":"true"})");
  // Two dimensions, named in non-alphabetical order: keys sorted, so equal groups are equal keys.
  const auto two = meter(Aggregation::count, "", {}, {"tier", "region"});
  const auto a = contribute(two, "api_call", props(R"({"region":"eu","tier":"gold"})"));
  const auto b = contribute(two, "api_call", props(R"({"tier":"gold","region":"eu","z":0})"));
  EXPECT_EQ(a.contribution.group_key, R"({"region":"eu","tier":"gold"})");
  EXPECT_EQ(a.contribution.group_key, b.contribution.group_key);
  EXPECT_EQ(contribute(two, "api_call", props(R"({"tier":"gold"})")).contribution.group_key,
            R"({"region":null,"tier":"gold"})");
  // No group_by: "{}".
  EXPECT_EQ(contribute(meter(Aggregation::count), "api_call", props(R"({"region":"eu"})"))
                .contribution.group_key,
            "{}");
}

TEST(MeteringContribute, NumericFieldsAcceptNumbersAndDecimalStrings) {
  for (const auto aggregation : {Aggregation::sum, Aggregation::max, Aggregation::latest}) {
    const auto m = meter(aggregation, "n");
    const auto value = [&](std::string_view properties) {
      return contribute(m, "api_call", props(properties));
    };
    const auto literal = value(R"({"n":0.1})");
    ASSERT_EQ(literal.error, ContributionError::none);
    ASSERT_TRUE(literal.contribution.number);
    EXPECT_TRUE(literal.contribution.number->same_representation(dec("0.1")));
    EXPECT_FALSE(literal.contribution.distinct);
    const auto decimal_string = value(R"({"n":"2.50"})");
    ASSERT_EQ(decimal_string.error, ContributionError::none);
    EXPECT_EQ(decimal_string.contribution.number->to_string(), "2.50");
    EXPECT_EQ(value(R"({"n":1e3})").contribution.number->to_string(), "1000");
    EXPECT_EQ(value(R"({"n":12345678901234567890.123456789})").contribution.number->to_string(),
              "12345678901234567890.123456789");
    // Missing or null: the meter does not count the event.
    EXPECT_EQ(value(R"({"m":1})").error, ContributionError::field_missing);
    EXPECT_EQ(value(R"({"n":null})").error, ContributionError::field_missing);
    EXPECT_EQ(value("{}").error, ContributionError::field_missing);
    // Present but not a number.
    for (const auto* bad : {R"({"n":"abc"})", R"({"n":true})", R"({"n":[1]})", R"({"n":{"v":1}})",
                            R"({"n":""})", R"({"n":" 1"})", R"({"n":"1,5"})", R"({"n":"0x10"})"}) {
      EXPECT_EQ(value(bad).error, ContributionError::field_not_numeric) << bad;
    }
  }
}

TEST(MeteringContribute, UniqueCountTakesTheValuesText) {
  const auto m = meter(Aggregation::unique_count, "user");
  const auto value = [&](std::string_view properties) {
    return contribute(m, "api_call", props(properties));
  };
  EXPECT_EQ(value(R"({"user":"ann"})").contribution.distinct, "ann");
  EXPECT_EQ(value(R"({"user":42})").contribution.distinct, "42");
  EXPECT_EQ(value(R"({"user":true})").contribution.distinct, "true");
  EXPECT_FALSE(value(R"({"user":"ann"})").contribution.number);
  EXPECT_EQ(value(R"({"user":null})").error, ContributionError::field_missing);
  EXPECT_EQ(value("{}").error, ContributionError::field_missing);
  EXPECT_EQ(value(R"({"user":["ann"]})").error, ContributionError::field_not_numeric);
  EXPECT_EQ(value(R"({"user":{"id":1}})").error, ContributionError::field_not_numeric);
}

// --- Aggregate::add -----------------------------------------------------------------------------

TEST(MeteringAggregate, EmptyAggregate) {
  const Aggregate empty;
  EXPECT_EQ(empty.events, 0);
  EXPECT_FALSE(empty.sum);
  EXPECT_FALSE(empty.max);
  EXPECT_FALSE(empty.latest_at);
  EXPECT_TRUE(UsageTotal{}.distinct.empty());
}

TEST(MeteringAggregate, AddCountsSumsAndKeepsTheMax) {
  Aggregate a;
  ASSERT_TRUE(a.add(number("0.1"), at(100), "e1"));
  ASSERT_TRUE(a.add(number("0.2"), at(200), "e2"));
  ASSERT_TRUE(a.add(number("1.25"), at(50), "e3"));
  ASSERT_TRUE(a.add(number("-3"), at(300), "e4"));
  EXPECT_EQ(a.events, 4);
  // 0.1 + 0.2 + 1.25 − 3 = −1.45
  EXPECT_EQ(a.sum->to_string(), "-1.45");
  EXPECT_EQ(a.max->to_string(), "1.25");
  // Latest: e4 at 300.
  EXPECT_EQ(a.latest_at, at(300));
  EXPECT_EQ(a.latest_event_id, "e4");
  EXPECT_EQ(a.latest_value->to_string(), "-3");
}

TEST(MeteringAggregate, CountContributionsOnlyCount) {
  Aggregate a;
  Contribution plain;
  plain.group_key = "{}";
  ASSERT_TRUE(a.add(plain, at(100), "e1"));
  ASSERT_TRUE(a.add(plain, at(200), "e2"));
  EXPECT_EQ(a.events, 2);
  EXPECT_FALSE(a.sum);
  EXPECT_FALSE(a.max);
  EXPECT_FALSE(a.latest_at);
  EXPECT_EQ(value_of(Aggregation::count, a), "2");
}

TEST(MeteringAggregate, DistinctValues) {
  UsageTotal a;
  for (const auto* value : {"ann", "bob", "ann", "42", "ann"}) a.add(text(value), at(1), "e");
  EXPECT_EQ(a.events, 5);
  EXPECT_EQ(a.distinct, (std::set<std::string>{"42", "ann", "bob"}));
  EXPECT_EQ(meter_value(Aggregation::unique_count, a), "3");
}

TEST(MeteringAggregate, LatestIsTheGreatestTimestampThenTheGreatestEventId) {
  // Same timestamp: "b" > "a", whatever the order of addition.
  Aggregate ab;
  ASSERT_TRUE(ab.add(number("1"), at(100), "a"));
  ASSERT_TRUE(ab.add(number("2"), at(100), "b"));
  Aggregate ba;
  ASSERT_TRUE(ba.add(number("2"), at(100), "b"));
  ASSERT_TRUE(ba.add(number("1"), at(100), "a"));
  EXPECT_EQ(ab.latest_value->to_string(), "2");
  EXPECT_EQ(ba.latest_value->to_string(), "2");
  EXPECT_EQ(ab.latest_event_id, "b");
  EXPECT_EQ(ba.latest_event_id, "b");
  // A later timestamp beats a greater event_id.
  Aggregate later;
  ASSERT_TRUE(later.add(number("9"), at(100), "zzz"));
  ASSERT_TRUE(later.add(number("5"), at(101), "aaa"));
  EXPECT_EQ(later.latest_value->to_string(), "5");
  // Latest is not max, nor the last added.
  Aggregate not_last;
  ASSERT_TRUE(not_last.add(number("1"), at(300), "e1"));
  ASSERT_TRUE(not_last.add(number("100"), at(200), "e2"));
  EXPECT_EQ(not_last.latest_value->to_string(), "1");
  EXPECT_EQ(value_of(Aggregation::latest, not_last), "1");
  EXPECT_EQ(value_of(Aggregation::max, not_last), "100");
  // Event ids compare bytewise: "e10" < "e9".
  Aggregate bytewise;
  ASSERT_TRUE(bytewise.add(number("9"), at(100), "e9"));
  ASSERT_TRUE(bytewise.add(number("10"), at(100), "e10"));
  EXPECT_EQ(bytewise.latest_value->to_string(), "9");
}

TEST(MeteringAggregate, NegativeInstantsOrderToo) {
  Aggregate a;
  ASSERT_TRUE(a.add(number("1"), at(-5'000'000), "x"));
  ASSERT_TRUE(a.add(number("2"), at(-7'000'000), "y"));
  EXPECT_EQ(a.latest_value->to_string(), "1");
}

TEST(MeteringAggregate, SumOverflowIsReported) {
  const std::string nine = "9" + std::string(35, '0');  // 9 × 10^35
  Aggregate a;
  ASSERT_TRUE(a.add(number(nine), at(1), "a"));
  // 9 × 10^35 + 9 × 10^35 = 1.8 × 10^36: 37 digits, more than a Decimal holds.
  EXPECT_FALSE(a.add(number(nine), at(2), "b"));
  Aggregate other;
  ASSERT_TRUE(other.add(number(nine), at(3), "c"));
  Aggregate merged;
  ASSERT_TRUE(merged.merge(a));
  EXPECT_FALSE(merged.merge(other));
}

// --- Aggregate::merge ---------------------------------------------------------------------------

struct Ev {
  std::string value;
  std::int64_t at;
  std::string id;
  std::string user;
};

// Six events: sum 0.1 + 0.25 + 7 + 3 + 0.05 + 2 = 12.40; max 7; latest: at 500 there is a tie
// between "f" (2) and "d" (3) → "f" → 2; distinct users {ann, bob, cy}.
const std::vector<Ev> kEvents = {
    {"0.1", 100, "a", "ann"}, {"0.25", 200, "b", "bob"}, {"7", 300, "c", "ann"},
    {"3", 500, "d", "cy"},    {"0.05", 400, "e", "bob"}, {"2", 500, "f", "ann"},
};

Aggregate from(const std::vector<Ev>& events) {
  Aggregate a;
  for (const auto& e : events) EXPECT_TRUE(a.add(number(e.value), at(e.at), e.id));
  return a;
}

// The distinct users of the events, as a read counts them (distinct keys are kept by reads, not in
// buckets: usage_distinct rows).
std::set<std::string> users_of(const std::vector<Ev>& events) {
  UsageTotal total;
  for (const auto& e : events) total.add(text(e.user), at(e.at), e.id);
  return total.distinct;
}

void expect_expected_total(const Aggregate& a, const std::string& context) {
  EXPECT_EQ(a.events, 6) << context;
  EXPECT_EQ(a.sum->to_string(), "12.40") << context;
  EXPECT_EQ(a.max->to_string(), "7") << context;
  EXPECT_EQ(a.latest_at, at(500)) << context;
  EXPECT_EQ(a.latest_event_id, "f") << context;
  EXPECT_EQ(a.latest_value->to_string(), "2") << context;
}

TEST(MeteringMerge, EveryOrderOfAddingGivesTheSameAggregate) {
  std::vector<std::size_t> order(kEvents.size());
  std::iota(order.begin(), order.end(), 0);
  int permutations = 0;
  do {
    std::vector<Ev> events;
    for (const auto i : order) events.push_back(kEvents[i]);
    expect_expected_total(from(events), "permutation " + std::to_string(permutations));
    EXPECT_EQ(users_of(events), (std::set<std::string>{"ann", "bob", "cy"}));
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutations, 720);  // 6!
}

TEST(MeteringMerge, EverySplitMergedEitherWayGivesTheSameAggregate) {
  // Each of the 2^6 ways to split the events into two partial aggregates, merged both ways and
  // into a third, empty one: always the whole.
  for (unsigned mask = 0; mask < (1u << kEvents.size()); ++mask) {
    std::vector<Ev> left;
    std::vector<Ev> right;
    for (std::size_t i = 0; i < kEvents.size(); ++i)
      ((mask >> i) & 1u ? left : right).push_back(kEvents[i]);
    Aggregate l = from(left);
    const Aggregate r = from(right);
    Aggregate r2 = r;
    ASSERT_TRUE(l.merge(r));
    ASSERT_TRUE(r2.merge(from(left)));
    Aggregate empty;
    ASSERT_TRUE(empty.merge(from(left)));
    ASSERT_TRUE(empty.merge(r));
    expect_expected_total(l, "left+right mask " + std::to_string(mask));
    expect_expected_total(r2, "right+left mask " + std::to_string(mask));
    expect_expected_total(empty, "empty+left+right mask " + std::to_string(mask));
    EXPECT_EQ(describe(l), describe(r2));
    std::set<std::string> users = users_of(left);
    users.merge(users_of(right));
    EXPECT_EQ(users, (std::set<std::string>{"ann", "bob", "cy"}));
  }
}

TEST(MeteringMerge, ThreeWayAssociativity) {
  const Aggregate a = from({kEvents[0], kEvents[3]});
  const Aggregate b = from({kEvents[1], kEvents[5]});
  const Aggregate c = from({kEvents[2], kEvents[4]});
  Aggregate ab_c = a;
  ASSERT_TRUE(ab_c.merge(b));
  ASSERT_TRUE(ab_c.merge(c));
  Aggregate bc = b;
  ASSERT_TRUE(bc.merge(c));
  Aggregate a_bc = a;
  ASSERT_TRUE(a_bc.merge(bc));
  Aggregate c_b_a = c;
  ASSERT_TRUE(c_b_a.merge(b));
  ASSERT_TRUE(c_b_a.merge(a));
  expect_expected_total(ab_c, "(a+b)+c");
  expect_expected_total(a_bc, "a+(b+c)");
  expect_expected_total(c_b_a, "(c+b)+a");
}

TEST(MeteringMerge, MergingAnEmptyAggregateChangesNothing) {
  Aggregate a = from(kEvents);
  const std::string before = describe(a);
  ASSERT_TRUE(a.merge(Aggregate{}));
  EXPECT_EQ(describe(a), before);
  // A count-only aggregate (no values) merged into a valued one adds events only.
  Aggregate counts;
  counts.events = 3;
  ASSERT_TRUE(a.merge(counts));
  EXPECT_EQ(a.events, 9);
  EXPECT_EQ(a.sum->to_string(), "12.40");
  EXPECT_EQ(a.latest_value->to_string(), "2");
}

// Regression (was a bug, fixed): max keeps whichever of two equal values came first, so 1.5
// and 1.50 print as "1.5" or "1.50" depending on the order of arrival / merge. Reads merge
// pre-aggregated rows in whatever order the database returns them, so the same events can show
// different text (DESIGN.md principle 4: same events → byte-identical results). The shown max must
// not depend on order.
TEST(MeteringMerge, MaxOfEqualValuesIsOrderIndependentInItsText) {
  Aggregate first_short;
  ASSERT_TRUE(first_short.add(number("1.5"), at(1), "a"));
  ASSERT_TRUE(first_short.add(number("1.50"), at(2), "b"));
  Aggregate first_long;
  ASSERT_TRUE(first_long.add(number("1.50"), at(2), "b"));
  ASSERT_TRUE(first_long.add(number("1.5"), at(1), "a"));
  EXPECT_EQ(value_of(Aggregation::max, first_short), value_of(Aggregation::max, first_long));
}

// --- meter_value --------------------------------------------------------------------------------

TEST(MeteringValue, ValuesAsTheApiShowsThem) {
  const UsageTotal empty;
  EXPECT_EQ(meter_value(Aggregation::count, empty), "0");
  EXPECT_EQ(meter_value(Aggregation::sum, empty), "0");
  EXPECT_EQ(meter_value(Aggregation::unique_count, empty), "0");
  EXPECT_FALSE(meter_value(Aggregation::max, empty));
  EXPECT_FALSE(meter_value(Aggregation::latest, empty));

  UsageTotal all;
  all.add(from(kEvents));
  for (const auto& e : kEvents) all.distinct.insert(e.user);
  EXPECT_EQ(meter_value(Aggregation::count, all), "6");
  EXPECT_EQ(meter_value(Aggregation::sum, all), "12.40");
  EXPECT_EQ(meter_value(Aggregation::max, all), "7");
  EXPECT_EQ(meter_value(Aggregation::unique_count, all), "3");
  EXPECT_EQ(meter_value(Aggregation::latest, all), "2");

  Aggregate exact;
  ASSERT_TRUE(exact.add(number("0.1"), at(1), "a"));
  ASSERT_TRUE(exact.add(number("0.2"), at(2), "b"));
  EXPECT_EQ(value_of(Aggregation::sum, exact), "0.3");  // never 0.30000000000000004

  Aggregate large;
  ASSERT_TRUE(large.add(number("12345678901234567890.123456789"), at(1), "a"));
  ASSERT_TRUE(large.add(number("0.000000000001"), at(2), "b"));
  EXPECT_EQ(value_of(Aggregation::sum, large), "12345678901234567890.123456789001");
}

// --- usage_bucket_start -------------------------------------------------------------------------

TEST(MeteringBucket, HourStartsFloorTowardsMinusInfinity) {
  constexpr std::int64_t hour = 3'600'000'000;
  const auto start = [](std::int64_t micros) {
    return to_unix_micros(usage_bucket_start(from_unix_micros(micros)));
  };
  EXPECT_EQ(usage_bucket_length.count(), hour);
  EXPECT_EQ(start(0), 0);
  EXPECT_EQ(start(1), 0);
  EXPECT_EQ(start(hour - 1), 0);
  EXPECT_EQ(start(hour), hour);
  EXPECT_EQ(start(hour + 1), hour);
  EXPECT_EQ(start(5'400'000'000), hour);  // 1.5 h
  // Before the epoch: [−1 h, 0) belongs to the bucket starting at −1 h.
  EXPECT_EQ(start(-1), -hour);
  EXPECT_EQ(start(-hour + 1), -hour);
  EXPECT_EQ(start(-hour), -hour);
  EXPECT_EQ(start(-hour - 1), -2 * hour);
  EXPECT_EQ(start(-5'400'000'000), -2 * hour);  // −1.5 h
  EXPECT_EQ(start(-2 * hour), -2 * hour);
}

TEST(MeteringBucket, RealInstants) {
  const auto instant = [](std::string_view text) { return *parse_rfc3339(text); };
  EXPECT_EQ(usage_bucket_start(instant("2026-01-05T10:30:00Z")), instant("2026-01-05T10:00:00Z"));
  EXPECT_EQ(usage_bucket_start(instant("2026-01-05T10:00:00Z")), instant("2026-01-05T10:00:00Z"));
  EXPECT_EQ(usage_bucket_start(instant("2026-01-05T10:59:59.999999Z")),
            instant("2026-01-05T10:00:00Z"));
  EXPECT_EQ(usage_bucket_start(instant("2026-01-05T11:00:00Z")), instant("2026-01-05T11:00:00Z"));
  // Offsets are instants too: 12:45+02:00 is 10:45Z.
  EXPECT_EQ(usage_bucket_start(instant("2026-01-05T12:45:00+02:00")),
            instant("2026-01-05T10:00:00Z"));
  // Half-hour zones do not shift UTC buckets: 16:15+05:30 is 10:45Z.
  EXPECT_EQ(usage_bucket_start(instant("2026-01-05T16:15:00+05:30")),
            instant("2026-01-05T10:00:00Z"));
  // Before 1970.
  EXPECT_EQ(usage_bucket_start(instant("1969-12-31T23:59:59.999999Z")),
            instant("1969-12-31T23:00:00Z"));
  EXPECT_EQ(usage_bucket_start(instant("1969-07-20T20:17:40Z")), instant("1969-07-20T20:00:00Z"));
}

// --- what a meter is limited by (issue 15, defect 7) -------------------------------------------

// max and latest meters keep no sum: two values whose sum is beyond the decimal type add to their
// bucket, and merge, as any others (5 × 10^35 twice would be 10^36: 37 digits).
TEST(MeteringAggregate, MaxAndLatestAreNeverLimitedByASumTheyDoNotReport) {
  const std::string huge = "5" + std::string(35, '0');
  Aggregate a;
  ASSERT_TRUE(a.fits(unsummed(huge)));
  ASSERT_TRUE(a.add(unsummed(huge), at(1), "a"));
  ASSERT_TRUE(a.fits(unsummed(huge)));
  ASSERT_TRUE(a.add(unsummed(huge), at(2), "b"));
  EXPECT_FALSE(a.sum);
  EXPECT_EQ(a.max->to_string(), huge);
  EXPECT_EQ(a.latest_event_id, "b");
  Aggregate merged = a;
  ASSERT_TRUE(merged.merge(a));
  EXPECT_EQ(merged.events, 4);
  EXPECT_FALSE(merged.sum);
  // A sum meter's contribution of the same value does not fit the second time.
  Aggregate summed;
  ASSERT_TRUE(summed.add(number(huge), at(1), "a"));
  EXPECT_FALSE(summed.fits(number(huge)));
}

TEST(MeteringContribute, OnlySumMetersSumTheirField) {
  const auto properties = props(R"({"mem":"5"})");
  EXPECT_TRUE(
      contribute(meter(Aggregation::sum, "mem"), "api_call", properties).contribution.summed);
  for (const auto aggregation : {Aggregation::max, Aggregation::latest}) {
    const auto result = contribute(meter(aggregation, "mem"), "api_call", properties);
    ASSERT_EQ(result.error, ContributionError::none);
    EXPECT_FALSE(result.contribution.summed);
    EXPECT_EQ(result.contribution.number->to_string(), "5");
  }
}

// A well-formed number the exact type cannot hold is out of range, not "not a number" (issue 15,
// defect 9): 1e308 and a 37-digit integer overflow, 1e-40 needs scale 40.
TEST(MeteringContribute, NumbersBeyondTheDecimalTypeAreOutOfRange) {
  const auto m = meter(Aggregation::sum, "n");
  for (const auto* literal : {"1e308", "1e-40", "1000000000000000000000000000000000000"}) {
    const auto result = contribute(m, "api_call", props(std::string(R"({"n":)") + literal + "}"));
    EXPECT_EQ(result.error, ContributionError::field_out_of_range) << literal;
  }
  EXPECT_EQ(contribute(m, "api_call", props(R"({"n":"12abc"})")).error,
            ContributionError::field_not_numeric);
}

// unique_count values: short ones count as themselves, long ones and ones holding a NUL byte by
// their digest — which no kept value can equal (it is one byte longer than any).
TEST(MeteringContribute, DistinctKeysEveryIndexTakes) {
  EXPECT_EQ(distinct_key("ann"), "ann");
  const std::string sixty_four(64, 'x');
  EXPECT_EQ(distinct_key(sixty_four), sixty_four);
  const std::string sixty_five(65, 'x');
  const std::string digest = distinct_key(sixty_five);
  EXPECT_EQ(digest.size(), 65u);
  EXPECT_EQ(digest.front(), '#');
  EXPECT_NE(distinct_key(std::string(65, 'y')), digest);
  const std::string with_nul("a\0b", 3);
  EXPECT_EQ(distinct_key(with_nul).size(), 65u);
  EXPECT_NE(distinct_key(with_nul), distinct_key("ab"));
  const auto result = contribute(meter(Aggregation::unique_count, "user"), "api_call",
                                 props(R"({"user":"a\u0000b"})"));
  ASSERT_EQ(result.error, ContributionError::none);
  EXPECT_EQ(result.contribution.distinct, distinct_key(with_nul));
}

}  // namespace
}  // namespace neruba::domain
