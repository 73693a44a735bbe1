#pragma once
// Metering, pure: which events a meter counts, under which group, with which value, and how
// partial aggregates merge. Ingest (pre-aggregation) and reads (edge recomputation) share it, so
// a bucketed read and a raw-event read can never disagree.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "domain/decimal.hpp"
#include "json/json.hpp"

namespace neruba::domain {

enum class Aggregation { count, sum, max, unique_count, latest };

std::optional<Aggregation> parse_aggregation(std::string_view name);
std::string_view aggregation_name(Aggregation aggregation);
// sum, max, unique_count and latest read a property; count does not.
bool aggregation_needs_field(Aggregation aggregation);

struct MeterDefinition {
  std::string id;
  std::string code;
  std::string event_type;
  Aggregation aggregation = Aggregation::count;
  std::string field;                                        // empty for count
  std::map<std::string, std::vector<std::string>> filters;  // property → allowed values
  std::vector<std::string> group_by;                        // property names
};

// What one event contributes to one meter.
struct Contribution {
  std::string group_key;            // canonical JSON object of the group_by values ("{}" if none)
  std::optional<Decimal> number;    // sum, max, latest
  std::optional<std::string> text;  // unique_count: the distinct value's canonical text
};

enum class ContributionError { none, not_matching, field_missing, field_not_numeric };

struct ContributionResult {
  ContributionError error = ContributionError::none;
  Contribution contribution;
};

// Property values compare by their JSON text: strings by content, numbers by literal, booleans
// as "true"/"false"; other kinds never match a filter.
std::optional<std::string> property_text(const json::Value& value);

ContributionResult contribute(const MeterDefinition& meter, const std::string& event_type,
                              const json::Value& properties);

// A partial aggregate over some events of one meter, customer and group.
struct Aggregate {
  std::int64_t events = 0;
  std::optional<Decimal> sum;
  std::optional<Decimal> max;
  std::optional<std::int64_t> latest_at;  // unix micros
  std::string latest_event_id;
  std::optional<Decimal> latest_value;
  std::set<std::string> distinct;  // unique_count values (only filled where the caller needs them)

  // Whether add() would succeed (the sum still fits the decimal type).
  bool fits(const Contribution& contribution) const;
  // Adds one event's contribution; false on decimal overflow, and then nothing changed.
  bool add(const Contribution& contribution, std::int64_t occurred_at, const std::string& event_id);
  // Adds another partial aggregate; false on decimal overflow, and then nothing changed.
  bool merge(const Aggregate& other);
};

// Usage is pre-aggregated by UTC hour: [start, start + 1 h).
inline constexpr std::int64_t usage_bucket_micros = 3600LL * 1'000'000;
inline std::int64_t usage_bucket_start(std::int64_t micros) {
  const std::int64_t remainder = micros % usage_bucket_micros;
  return micros - remainder - (remainder < 0 ? usage_bucket_micros : 0);
}

// The meter's value over an aggregate, as the API shows it: count and unique_count as integers,
// sum as the exact decimal ("0" when no events), max and latest as decimals or null.
std::optional<std::string> meter_value(Aggregation aggregation, const Aggregate& aggregate);

}  // namespace neruba::domain
