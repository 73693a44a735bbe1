// Fuzzes json::parse, the first thing every request body meets. Invariants on success:
//  - serialize → parse gives an equal Value (same kinds, number literal text, member order);
//  - that re-parse serializes to the same bytes and to the same canonical form;
//  - the canonical form is itself valid JSON and canonical again (idempotent), as hashing needs;
//  - as_int64 agrees with the literal's text where it answers;
//  - accepted input is valid UTF-8, and is_valid_utf8 agrees with the parser's string rules;
//  - ObjectReader and parse_object_body handle any parsed object without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "json/json.hpp"
#include "json/reader.hpp"

namespace {

using neruba::json::Value;

void check_numbers(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::number:
      if (const auto integer = value.as_int64()) {
        NERUBA_FUZZ_CHECK(std::to_string(*integer) == value.text() ||
                          (*integer == 0 && value.text() == "-0"));
      }
      return;
    case Value::Kind::array:
      for (const auto& item : value.items()) check_numbers(item);
      return;
    case Value::Kind::object:
      for (const auto& member : value.members()) check_numbers(member.value);
      return;
    default:
      return;
  }
}

// Reads an events-API-shaped body the way the HTTP edge does; only "must not crash" is checked.
void exercise_reader(std::string_view text) {
  auto body = neruba::json::parse_object_body(text);
  if (!body) return;
  std::vector<neruba::FieldError> errors;
  neruba::json::ObjectReader reader(*body, "", errors);
  (void)reader.required_string("event_id", 255);
  (void)reader.optional_string("customer", 255);
  (void)reader.optional_enum("aggregation", {"count", "sum", "max", "unique_count", "latest"});
  (void)reader.required_string_array("scopes", {"ingest", "read", "write", "operator"});
  (void)reader.optional_integer("seats", 0, 1'000'000);
  (void)reader.optional_bool("finalize");
  (void)reader.optional_string_map("metadata", 50, 500);
  if (const Value* settings = reader.get("settings")) {
    neruba::json::ObjectReader nested(*settings, "settings.", errors);
    (void)nested.optional_integer("late_event_window_days", 0, 3650);
    nested.reject_unknown();
  }
  reader.reject_unknown();
  for (const auto& error : errors) NERUBA_FUZZ_CHECK(!error.type.empty());
}

// is_valid_utf8 (which guards paths, queries and headers) must agree with the parser: the same
// bytes, quoted, form a valid JSON string exactly when they are valid UTF-8.
void check_utf8_agreement(std::string_view text) {
  for (const char c : text) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return;
  }
  const bool valid = neruba::json::is_valid_utf8(text);
  const auto quoted = neruba::json::parse("\"" + std::string(text) + "\"");
  NERUBA_FUZZ_CHECK(quoted.ok() == valid);
  if (valid) NERUBA_FUZZ_CHECK(quoted->text() == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = neruba::fuzz::as_text(data, size);
  check_utf8_agreement(text);
  auto parsed = neruba::json::parse(text);
  if (parsed) NERUBA_FUZZ_CHECK(neruba::json::is_valid_utf8(text));
  if (!parsed) {
    NERUBA_FUZZ_CHECK(parsed.error().detail.find("at byte ") != std::string::npos);
    return 0;
  }
  const Value& value = *parsed;
  check_numbers(value);

  const std::string compact = neruba::json::serialize(value);
  const std::string canonical = neruba::json::serialize_canonical(value);
  auto reparsed = neruba::json::parse(compact);
  NERUBA_FUZZ_CHECK(reparsed.ok());
  NERUBA_FUZZ_CHECK(*reparsed == value);
  NERUBA_FUZZ_CHECK(neruba::json::serialize(*reparsed) == compact);
  NERUBA_FUZZ_CHECK(neruba::json::serialize_canonical(*reparsed) == canonical);

  auto from_canonical = neruba::json::parse(canonical);
  NERUBA_FUZZ_CHECK(from_canonical.ok());
  NERUBA_FUZZ_CHECK(neruba::json::serialize_canonical(*from_canonical) == canonical);
  NERUBA_FUZZ_CHECK(canonical.size() == compact.size());

  exercise_reader(text);
  return 0;
}
