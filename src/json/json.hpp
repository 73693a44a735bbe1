#pragma once
// A small JSON DOM that keeps number literals as their source text, so quantities and money are
// parsed by the exact decimal type and never pass through a double (DESIGN.md principle 2).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace neruba::json {

class Value {
 public:
  enum class Kind { null, boolean, number, string, array, object };
  struct Member;
  using Array = std::vector<Value>;
  using Object = std::vector<Member>;

  Value() = default;
  static Value null();
  static Value boolean(bool b);
  // `text` must be a valid JSON number literal (the parser guarantees it for parsed input).
  static Value number_literal(std::string text);
  static Value number(std::int64_t n);
  static Value string(std::string s);
  // null(), array() and object() are defined after Member: creating a Value needs Member complete,
  // which it is only after this class (clang rejects a default `{}` argument or an in-class body
  // here; GCC happens to accept them).
  static Value array();
  static Value array(Array items);
  static Value object();
  static Value object(Object members);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_number() const { return kind_ == Kind::number; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_array() const { return kind_ == Kind::array; }
  bool is_object() const { return kind_ == Kind::object; }

  bool as_bool() const { return bool_; }
  // The string's content, or the number's literal text.
  const std::string& text() const { return text_; }
  // Moves that text out (a parsed body handing its strings on); the value's text is left empty.
  std::string take_text() { return std::move(text_); }
  const Array& items() const { return array_; }
  Array& items() { return array_; }
  const Object& members() const { return object_; }
  Object& members() { return object_; }
  // An integer value when the number literal is a plain integer in range.
  std::optional<std::int64_t> as_int64() const;

  const Value* find(std::string_view key) const;
  // Replaces the member of that key or appends it (keeps insertion order).
  Value& set(std::string key, Value value);
  Value& push_back(Value value);

  friend bool operator==(const Value& a, const Value& b);

 private:
  Kind kind_ = Kind::null;
  bool bool_ = false;
  std::string text_;
  Array array_;
  Object object_;
};

struct Value::Member {
  std::string key;
  Value value;
};

inline Value Value::null() { return Value{}; }
inline Value Value::array() { return array(Array{}); }
inline Value Value::object() { return object(Object{}); }

// Strict RFC 8259 parsing: UTF-8 validated, duplicate keys and trailing data rejected, nesting
// bounded by limits::json_depth_max. The error's detail names the byte offset.
Result<Value> parse(std::string_view text);

// Compact serialization in member order.
std::string serialize(const Value& value);
// Canonical form for hashing: members sorted by key (bytewise), no whitespace.
std::string serialize_canonical(const Value& value);
void append_quoted(std::string& out, std::string_view text);
// RFC 3629 well-formed UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

}  // namespace neruba::json
