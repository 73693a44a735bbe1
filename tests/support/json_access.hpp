#pragma once
// Reading fields of response documents in tests, shared by every suite.
#include <cstdint>
#include <string>
#include <string_view>

#include "json/json.hpp"

namespace neruba::test {

// The member `name` of an object, or a null value when absent (or not an object).
inline const json::Value& member(const json::Value& value, std::string_view name) {
  static const json::Value null_value;
  if (!value.is_object()) return null_value;
  const json::Value* found = value.find(name);
  return found == nullptr ? null_value : *found;
}

inline std::string text_of(const json::Value& value, std::string_view name) {
  return member(value, name).text();
}

// -999999 when absent or not an integer: never a value the API answers, so a test notices.
inline std::int64_t int_of(const json::Value& value, std::string_view name) {
  return member(value, name).as_int64().value_or(-999999);
}

}  // namespace neruba::test
