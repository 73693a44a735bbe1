#include "json/json.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <span>
#include <unordered_set>

#include "common/limits.hpp"

namespace neruba::json {

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::boolean;
  v.bool_ = b;
  return v;
}

Value Value::number_literal(std::string text) {
  Value v;
  v.kind_ = Kind::number;
  v.text_ = std::move(text);
  return v;
}

Value Value::number(std::int64_t n) { return number_literal(std::to_string(n)); }

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::string;
  v.text_ = std::move(s);
  return v;
}

Value Value::array(Array items) {
  Value v;
  v.kind_ = Kind::array;
  v.array_ = std::move(items);
  return v;
}

Value Value::object(Object members) {
  Value v;
  v.kind_ = Kind::object;
  v.object_ = std::move(members);
  return v;
}

std::optional<std::int64_t> Value::as_int64() const {
  if (kind_ != Kind::number) return std::nullopt;
  std::int64_t out = 0;
  const auto* end = text_.data() + text_.size();
  const auto [ptr, ec] = std::from_chars(text_.data(), end, out);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return out;
}

const Value* Value::find(std::string_view key) const {
  for (const auto& member : object_) {
    if (member.key == key) return &member.value;
  }
  return nullptr;
}

Value& Value::set(std::string key, Value value) {
  kind_ = Kind::object;
  for (auto& member : object_) {
    if (member.key == key) {
      member.value = std::move(value);
      return member.value;
    }
  }
  object_.push_back(Member{std::move(key), std::move(value)});
  return object_.back().value;
}

Value& Value::push_back(Value value) {
  kind_ = Kind::array;
  array_.push_back(std::move(value));
  return array_.back();
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Value::Kind::null:
      return true;
    case Value::Kind::boolean:
      return a.bool_ == b.bool_;
    case Value::Kind::number:
    case Value::Kind::string:
      return a.text_ == b.text_;
    case Value::Kind::array:
      return a.array_ == b.array_;
    case Value::Kind::object:
      return std::equal(a.object_.begin(), a.object_.end(), b.object_.begin(), b.object_.end(),
                        [](const Value::Member& x, const Value::Member& y) {
                          return x.key == y.key && x.value == y.value;
                        });
  }
  return false;
}

namespace {

enum class Utf8Status { valid, invalid, truncated };

struct Utf8Sequence {
  Utf8Status status = Utf8Status::invalid;
  std::size_t length = 0;  // bytes, when valid
};

// The UTF-8 sequence starting at text[pos] (pos < text.size()), checked as RFC 3629 requires: no
// overlong forms, no surrogates, nothing above U+10FFFF. `truncated` when text ends inside it.
// The one decoder behind both json::parse and is_valid_utf8, so they cannot disagree.
Utf8Sequence utf8_sequence_at(std::string_view text, std::size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  std::size_t length = 0;
  std::uint32_t cp = 0;
  if (lead < 0x80) return {Utf8Status::valid, 1};
  if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07;
  } else {
    return {Utf8Status::invalid, 0};
  }
  if (pos + length > text.size()) return {Utf8Status::truncated, 0};
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[pos + i]);
    if ((byte & 0xC0) != 0x80) return {Utf8Status::invalid, 0};
    cp = (cp << 6) | (byte & 0x3F);
  }
  static constexpr std::uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < minimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return {Utf8Status::invalid, 0};
  }
  return {Utf8Status::valid, length};
}

// Bytes the parser copies as they are, in runs: ASCII but the quote, the backslash and control
// characters (a UTF-8 sequence is validated on its own).
constexpr bool plain_ascii(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Value> run() {
    skip_whitespace();
    Value value;
    if (!parse_value(value, 0)) return failure();
    skip_whitespace();
    if (pos_ != text_.size()) {
      set_error("unexpected data after the JSON value");
      return failure();
    }
    return value;
  }

 private:
  Error failure() const {
    return Error::make(ErrorCode::malformed_request,
                       "Malformed JSON at byte " + std::to_string(error_offset_) + ": " + error_);
  }

  bool set_error(std::string message) { return set_error_at(pos_, std::move(message)); }

  // Keeps the first error: the offset names where the input first went wrong.
  bool set_error_at(std::size_t offset, std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
      error_offset_ = offset;
    }
    return false;
  }

  void skip_whitespace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool consume_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return set_error("invalid literal");
    pos_ += word.size();
    return true;
  }

  // `depth` counts the arrays and objects around the value: up to limits::json_depth_max of them
  // may nest, and a scalar inside the innermost one is no further level. The bound also keeps this
  // recursion (and every recursive walk of the resulting Value) far from exhausting the stack.
  bool parse_value(Value& out, std::size_t depth) {
    if (pos_ >= text_.size()) return set_error("unexpected end of input");
    const char c = text_[pos_];
    if ((c == '{' || c == '[') && depth >= limits::json_depth_max) {
      return set_error("nesting deeper than the limit of " +
                       std::to_string(limits::json_depth_max));
    }
    switch (c) {
      case '{':
        return parse_object(out, depth);
      case '[':
        return parse_array(out, depth);
      case '"': {
        std::string s;
        if (!parse_string(s)) return false;
        out = Value::string(std::move(s));
        return true;
      }
      case 't':
        out = Value::boolean(true);
        return consume_literal("true");
      case 'f':
        out = Value::boolean(false);
        return consume_literal("false");
      case 'n':
        out = Value::null();
        return consume_literal("null");
      default:
        return parse_number(out);
    }
  }

  // Small objects are checked for a repeated name by scanning; from this many members on, by a
  // hash set, so an object with a million members costs linear time, not 10^12 comparisons.
  static constexpr std::size_t members_scanned_max = 16;

  static bool has_member(std::span<const Value::Member> members, std::string_view key) {
    return std::any_of(members.begin(), members.end(),
                       [&](const Value::Member& member) { return member.key == key; });
  }

  // An object's (an array's) elements are gathered on a stack shared by every nesting level, then
  // moved into a vector of exactly their number: no vector grows (and moves its elements) member
  // by member, object after object.
  template <typename T>
  static std::vector<T> take_from(std::vector<T>& stack, std::size_t start) {
    std::vector<T> out;
    out.reserve(stack.size() - start);
    std::move(stack.begin() + static_cast<std::ptrdiff_t>(start), stack.end(),
              std::back_inserter(out));
    stack.resize(start);
    return out;
  }

  // Gives a stack back as it was at `start`, however the object or array being parsed ends (an
  // error leaves its elements behind).
  template <typename T>
  struct StackMark {
    std::vector<T>& stack;
    std::size_t start;
    ~StackMark() {
      if (stack.size() > start) stack.resize(start);
    }
  };

  bool parse_object(Value& out, std::size_t depth) {
    ++pos_;  // '{'
    const std::size_t start = member_stack_.size();
    const StackMark<Value::Member> mark{member_stack_, start};
    const auto members = [&] {
      return std::span<const Value::Member>(member_stack_.data() + start,
                                            member_stack_.size() - start);
    };
    std::unordered_set<std::string> names;  // filled only once members_scanned_max is reached
    skip_whitespace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      out = Value::object();
      return true;
    }
    while (true) {
      skip_whitespace();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        if (!members().empty() && pos_ < text_.size() && text_[pos_] == '}') {
          return set_error("trailing comma before '}'");
        }
        return set_error("expected a member name");
      }
      const std::size_t key_offset = pos_;
      std::string key;
      if (!parse_string(key)) return false;
      bool duplicate = false;
      if (members().size() < members_scanned_max) {
        duplicate = has_member(members(), key);
      } else {
        if (names.empty()) {
          for (const auto& member : members()) names.insert(member.key);
        }
        duplicate = !names.insert(key).second;
      }
      if (duplicate) return set_error_at(key_offset, "duplicate member name \"" + key + "\"");
      skip_whitespace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return set_error("expected ':'");
      ++pos_;
      skip_whitespace();
      Value value;
      if (!parse_value(value, depth + 1)) return false;
      member_stack_.push_back(Value::Member{std::move(key), std::move(value)});
      skip_whitespace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        out = Value::object(take_from(member_stack_, start));
        return true;
      }
      return set_error("expected ',' or '}'");
    }
  }

  bool parse_array(Value& out, std::size_t depth) {
    ++pos_;  // '['
    const std::size_t start = item_stack_.size();
    const StackMark<Value> mark{item_stack_, start};
    skip_whitespace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      out = Value::array();
      return true;
    }
    while (true) {
      skip_whitespace();
      if (item_stack_.size() > start && pos_ < text_.size() && text_[pos_] == ']') {
        return set_error("trailing comma before ']'");
      }
      Value value;
      if (!parse_value(value, depth + 1)) return false;
      item_stack_.push_back(std::move(value));
      skip_whitespace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        out = Value::array(take_from(item_stack_, start));
        return true;
      }
      return set_error("expected ',' or ']'");
    }
  }

  bool is_digit(std::size_t at) const {
    return at < text_.size() && text_[at] >= '0' && text_[at] <= '9';
  }

  bool parse_number(Value& out) {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (!is_digit(pos_)) return set_error("invalid value");
    if (text_[pos_] == '0') {
      ++pos_;
      if (is_digit(pos_)) return set_error("leading zeros are not allowed in numbers");
    } else {
      while (is_digit(pos_)) ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!is_digit(pos_)) return set_error("expected a digit after the decimal point");
      while (is_digit(pos_)) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!is_digit(pos_)) return set_error("expected a digit in the exponent");
      while (is_digit(pos_)) ++pos_;
    }
    out = Value::number_literal(std::string(text_.substr(start, pos_ - start)));
    return true;
  }

  // Reads the four hex digits after "\\u"; `escape` is the offset of the backslash, which errors
  // name, as for every error inside an escape sequence.
  bool parse_hex4(std::size_t escape, std::uint32_t& out) {
    if (pos_ + 4 > text_.size()) return set_error_at(escape, "truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return set_error_at(escape, "invalid \\u escape");
      }
    }
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool parse_escape(std::string& out) {
    const std::size_t escape = pos_ - 1;  // the backslash
    if (pos_ >= text_.size()) return set_error_at(escape, "truncated escape");
    const char c = text_[pos_++];
    switch (c) {
      case '"':
        out.push_back('"');
        return true;
      case '\\':
        out.push_back('\\');
        return true;
      case '/':
        out.push_back('/');
        return true;
      case 'b':
        out.push_back('\b');
        return true;
      case 'f':
        out.push_back('\f');
        return true;
      case 'n':
        out.push_back('\n');
        return true;
      case 'r':
        out.push_back('\r');
        return true;
      case 't':
        out.push_back('\t');
        return true;
      case 'u':
        break;
      default:
        return set_error_at(escape, "invalid escape");
    }
    std::uint32_t cp = 0;
    if (!parse_hex4(escape, cp)) return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return set_error_at(escape, "unpaired low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low = 0;
      const std::size_t low_escape = pos_;
      if (text_.substr(pos_, 2) != "\\u") return set_error_at(escape, "unpaired high surrogate");
      pos_ += 2;
      if (!parse_hex4(low_escape, low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return set_error_at(escape, "unpaired high surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, cp);
    return true;
  }

  // Validates one UTF-8 sequence starting at pos_ and appends it (RFC 3629: no overlongs, no
  // surrogates, nothing above U+10FFFF).
  bool copy_utf8(std::string& out) {
    const Utf8Sequence sequence = utf8_sequence_at(text_, pos_);
    if (sequence.status == Utf8Status::truncated) return set_error("truncated UTF-8 sequence");
    if (sequence.status == Utf8Status::invalid) return set_error("invalid UTF-8");
    out.append(text_.substr(pos_, sequence.length));
    pos_ += sequence.length;
    return true;
  }

  bool parse_string(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      // A run of plain ASCII (no quote, backslash or control character) is copied whole.
      std::size_t end = pos_;
      while (end < text_.size() && plain_ascii(static_cast<unsigned char>(text_[end]))) ++end;
      out.append(text_.data() + pos_, end - pos_);
      pos_ = end;
      if (pos_ >= text_.size()) return set_error("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return set_error("control character in string");
      if (c == '\\') {
        ++pos_;
        if (!parse_escape(out)) return false;
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++pos_;
      } else if (!copy_utf8(out)) {
        return false;
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::vector<Value::Member> member_stack_;  // of the objects being parsed, outermost first
  std::vector<Value> item_stack_;            // of the arrays being parsed, outermost first
  std::string error_;
  std::size_t error_offset_ = 0;
};

void write(std::string& out, const Value& value, bool canonical) {
  switch (value.kind()) {
    case Value::Kind::null:
      out += "null";
      return;
    case Value::Kind::boolean:
      out += value.as_bool() ? "true" : "false";
      return;
    case Value::Kind::number:
      out += value.text();
      return;
    case Value::Kind::string:
      append_quoted(out, value.text());
      return;
    case Value::Kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : value.items()) {
        if (!first) out.push_back(',');
        first = false;
        write(out, item, canonical);
      }
      out.push_back(']');
      return;
    }
    case Value::Kind::object: {
      std::vector<const Value::Member*> members;
      members.reserve(value.members().size());
      for (const auto& member : value.members()) members.push_back(&member);
      if (canonical) {
        std::sort(members.begin(), members.end(),
                  [](const auto* a, const auto* b) { return a->key < b->key; });
      }
      out.push_back('{');
      bool first = true;
      for (const auto* member : members) {
        if (!first) out.push_back(',');
        first = false;
        append_quoted(out, member->key);
        out.push_back(':');
        write(out, member->value, canonical);
      }
      out.push_back('}');
      return;
    }
  }
}

}  // namespace

Result<Value> parse(std::string_view text) { return Parser(text).run(); }

bool is_valid_utf8(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    const Utf8Sequence sequence = utf8_sequence_at(text, pos);
    if (sequence.status != Utf8Status::valid) return false;
    pos += sequence.length;
  }
  return true;
}

void append_quoted(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet written, all written as they are
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:  // another control character
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0x0F]);
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

std::string serialize(const Value& value) {
  std::string out;
  write(out, value, false);
  return out;
}

std::string serialize_canonical(const Value& value) {
  std::string out;
  write(out, value, true);
  return out;
}

}  // namespace neruba::json
