#pragma once
// Metering, pure: which events a meter counts, under which group, with which value, and how
// partial aggregates merge. Ingest (pre-aggregation) and reads (edge recomputation) share it, so
// a bucketed read and a raw-event read can never disagree.
//
// Two aggregates: Aggregate is one stored bucket (an hour of one meter, customer and group), whose
// sum must fit the Decimal type — ingest rejects the event that would break that. UsageTotal is
// what a read adds up over any window and any groups: its sum is exact and never overflows, so an
// accepted event can never make usage unreadable. A meter is limited only by what it reports:
// only sum meters keep a sum.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.hpp"
#include "common/instant.hpp"
#include "domain/decimal.hpp"
#include "domain/exact_sum.hpp"
#include "json/json.hpp"

namespace neruba::domain {

enum class Aggregation { count, sum, max, unique_count, latest };

std::optional<Aggregation> parse_aggregation(std::string_view name);
std::string_view aggregation_name(Aggregation aggregation);
// sum, max, unique_count and latest read a property; count does not.
bool aggregation_needs_field(Aggregation aggregation);

struct MeterDefinition {
  MeterId id;
  std::string code;
  std::string event_type;
  Aggregation aggregation = Aggregation::count;
  std::string field;                                        // empty for count
  std::map<std::string, std::vector<std::string>> filters;  // property → allowed values
  std::vector<std::string> group_by;                        // property names
};

// What one event contributes to one meter.
struct Contribution {
  std::string group_key;          // canonical JSON object of the group_by values ("{}" if none)
  std::optional<Decimal> number;  // sum, max, latest: the event's value
  bool summed = false;            // sum meters add `number` to their total; max and latest never do
  std::optional<std::string> distinct;  // unique_count: the value's distinct_key()
};

enum class ContributionError {
  none,
  not_matching,        // another event type, or filtered out
  field_missing,       // the meter's field is absent or null: the event counts nowhere
  field_not_numeric,   // not a number (sum, max, latest) or not a scalar (unique_count)
  field_out_of_range,  // a number beyond the exact decimal type (36 digits, scale 36)
};

struct ContributionResult {
  ContributionError error = ContributionError::none;
  Contribution contribution;
};

// Property values compare by their JSON text: strings by content, numbers by literal, booleans
// as "true"/"false"; other kinds never match a filter.
std::optional<std::string> property_text(const json::Value& value);

// The key a unique_count value is counted by: the value's text itself when it is at most
// distinct_key_length_max bytes and holds no NUL byte, otherwise "#" and its SHA-256 in hex — one
// byte longer than any kept value, so the two forms never meet. Every index takes it.
inline constexpr std::size_t distinct_key_length_max = 64;
std::string distinct_key(std::string_view value_text);

ContributionResult contribute(const MeterDefinition& meter, const std::string& event_type,
                              const json::Value& properties);

// A stored bucket's aggregate over some events of one meter, customer and group.
struct Aggregate {
  std::int64_t events = 0;
  std::optional<Decimal> sum;  // sum meters only
  std::optional<Decimal> max;
  std::optional<Instant> latest_at;
  std::string latest_event_id;
  std::optional<Decimal> latest_value;

  // Whether add() would succeed (a sum meter's total still fits the decimal type).
  [[nodiscard]] bool fits(const Contribution& contribution) const;
  // Adds one event's contribution; false on decimal overflow, and then nothing changed.
  [[nodiscard]] bool add(const Contribution& contribution, Instant occurred_at,
                         const std::string& event_id);
  // Adds another partial aggregate; false on decimal overflow, and then nothing changed.
  [[nodiscard]] bool merge(const Aggregate& other);
};

// What a read adds up: any number of buckets and events, exactly, without overflow.
struct UsageTotal {
  std::int64_t events = 0;
  ExactSum sum;
  std::optional<Decimal> max;
  std::optional<Instant> latest_at;
  std::string latest_event_id;
  std::optional<Decimal> latest_value;
  std::set<std::string> distinct;  // distinct keys, for unique_count meters

  void add(const Contribution& contribution, Instant occurred_at, const std::string& event_id);
  void add(const Aggregate& bucket);
};

// Usage is pre-aggregated by UTC hour: [start, start + 1 h).
inline constexpr std::chrono::microseconds usage_bucket_length = std::chrono::hours(1);
inline Instant usage_bucket_start(Instant at) { return std::chrono::floor<std::chrono::hours>(at); }

// The meter's value over a total, as the API shows it: count and unique_count as integers, sum as
// the exact decimal ("0" when no events), max and latest as decimals or null.
std::optional<std::string> meter_value(Aggregation aggregation, const UsageTotal& total);

}  // namespace neruba::domain
