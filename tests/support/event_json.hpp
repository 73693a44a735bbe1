#pragma once
// Usage events and usage reads as the API speaks them, for the ingest suites and the data-file
// runner alike: event and batch bodies as JSON text, instants from RFC 3339 literals, and the group
// entry of a usage answer.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "domain/time.hpp"
#include "json/json.hpp"
#include "support/json_access.hpp"

namespace neruba::test {

// An instant the test states is valid; a typo fails the test loudly.
inline Instant instant(std::string_view rfc3339) {
  const auto parsed = domain::parse_rfc3339(rfc3339);
  if (!parsed) throw std::runtime_error("bad instant in test: " + std::string(rfc3339));
  return *parsed;
}

inline std::string json_quoted(std::string_view text) {
  std::string out;
  json::append_quoted(out, text);
  return out;
}

// One event as JSON text; `properties` is JSON text (empty: no properties member).
inline std::string event_json(const std::string& event_id, const std::string& customer,
                              const std::string& type, const std::string& timestamp,
                              const std::string& properties = "") {
  std::string out = R"({"event_id":)" + json_quoted(event_id) + R"(,"customer":)" +
                    json_quoted(customer) + R"(,"type":)" + json_quoted(type) + R"(,"timestamp":)" +
                    json_quoted(timestamp);
  if (!properties.empty()) out += R"(,"properties":)" + properties;
  return out + "}";
}

inline std::string batch_json(const std::vector<std::string>& events) {
  std::string out = R"({"events":[)";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out += ",";
    out += events[i];
  }
  return out + "]}";
}

// The entry of a usage answer's meter item's `groups` whose group serializes canonically to
// `group_json`; nullptr when there is none (or `group_json` is not JSON).
inline const json::Value* find_group(const json::Value& meter_item, const std::string& group_json) {
  const auto wanted = json::parse(group_json);
  if (!wanted) return nullptr;
  const std::string canonical = json::serialize_canonical(*wanted);
  for (const auto& group : member(meter_item, "groups").items()) {
    if (json::serialize_canonical(member(group, "group")) == canonical) return &group;
  }
  return nullptr;
}

}  // namespace neruba::test
