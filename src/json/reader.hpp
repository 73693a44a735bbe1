#pragma once
// Reads a request object field by field, collecting every problem (not just the first) as
// FieldErrors, and reports members it does not know, so a typo never passes silently.
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "json/json.hpp"

namespace neruba::json {

class ObjectReader {
 public:
  // `path` prefixes field names in errors ("settings." for a nested object, "" at the top).
  ObjectReader(const Value& value, std::string path, std::vector<FieldError>& errors);

  bool is_object() const { return object_ != nullptr; }
  const Value* get(std::string_view name);  // marks the member as known
  std::optional<std::string> required_string(std::string_view name, std::size_t max_length);
  std::optional<std::string> optional_string(std::string_view name, std::size_t max_length);
  // A string out of a fixed set; errors list the allowed values.
  std::optional<std::string> optional_enum(std::string_view name,
                                           const std::vector<std::string_view>& allowed);
  std::optional<std::vector<std::string>> required_string_array(
      std::string_view name, const std::vector<std::string_view>& allowed);
  std::optional<std::int64_t> optional_integer(std::string_view name, std::int64_t min,
                                               std::int64_t max);
  std::optional<bool> optional_bool(std::string_view name);
  // An object whose values are all strings (metadata).
  std::optional<Value> optional_string_map(std::string_view name, std::size_t max_entries,
                                           std::size_t max_length);
  // Adds an error for every member never asked for.
  void reject_unknown();

  void add_error(std::string_view name, std::string type, std::string detail);
  std::string field(std::string_view name) const { return path_ + std::string(name); }

 private:
  const Value* object_ = nullptr;
  std::string path_;
  std::vector<FieldError>& errors_;
  std::set<std::string, std::less<>> known_;
};

// The body must be a JSON object: parses it or returns a malformed_request / validation error.
Result<Value> parse_object_body(std::string_view body);

}  // namespace neruba::json
