#include "json/reader.hpp"

namespace neruba::json {
namespace {

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::null:
      return "null";
    case Value::Kind::boolean:
      return "a boolean";
    case Value::Kind::number:
      return "a number";
    case Value::Kind::string:
      return "a string";
    case Value::Kind::array:
      return "an array";
    case Value::Kind::object:
      return "an object";
  }
  return "unknown";
}

std::string allowed_list(const std::vector<std::string_view>& allowed) {
  std::string out;
  for (const auto value : allowed) {
    if (!out.empty()) out += ", ";
    out += value;
  }
  return out;
}

bool contains(const std::vector<std::string_view>& allowed, std::string_view value) {
  for (const auto item : allowed) {
    if (item == value) return true;
  }
  return false;
}

}  // namespace

ObjectReader::ObjectReader(const Value& value, std::string path, std::vector<FieldError>& errors)
    : path_(std::move(path)), errors_(errors) {
  if (value.is_object()) {
    object_ = &value;
  } else {
    std::string name = path_;
    if (!name.empty() && name.back() == '.') name.pop_back();
    errors_.push_back(FieldError{name,
                                 "invalid_type",
                                 std::string("must be an object, not ") + kind_name(value.kind()),
                                 {}});
  }
}

void ObjectReader::add_error(std::string_view name, std::string type, std::string detail) {
  errors_.push_back(FieldError{field(name), std::move(type), std::move(detail), {}});
}

const Value* ObjectReader::get(std::string_view name) {
  known_.emplace(name);
  if (object_ == nullptr) return nullptr;
  const Value* value = object_->find(name);
  return (value == nullptr || value->is_null()) ? nullptr : value;
}

std::optional<std::string> ObjectReader::optional_string(std::string_view name,
                                                         std::size_t max_length) {
  const Value* value = get(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    add_error(name, "invalid_type",
              std::string("must be a string, not ") + kind_name(value->kind()));
    return std::nullopt;
  }
  if (value->text().size() > max_length) {
    add_error(name, "too_long", "must be at most " + std::to_string(max_length) + " bytes");
    return std::nullopt;
  }
  // Valid JSON ("\u0000"), but no text column of PostgreSQL takes it, and both backends must
  // answer alike: refused here, for every string field a request names.
  if (value->text().find('\0') != std::string::npos) {
    add_error(name, "invalid_value", "must not contain U+0000");
    return std::nullopt;
  }
  return value->text();
}

std::optional<std::string> ObjectReader::required_string(std::string_view name,
                                                         std::size_t max_length) {
  if (object_ != nullptr && get(name) == nullptr) {
    add_error(name, "required", "is required");
    return std::nullopt;
  }
  auto value = optional_string(name, max_length);
  if (value && value->empty()) {
    add_error(name, "invalid_value", "must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> ObjectReader::optional_enum(
    std::string_view name, const std::vector<std::string_view>& allowed) {
  auto value = optional_string(name, 64);
  if (value && !contains(allowed, *value)) {
    add_error(name, "invalid_value", "must be one of: " + allowed_list(allowed));
    return std::nullopt;
  }
  return value;
}

std::optional<std::vector<std::string>> ObjectReader::required_string_array(
    std::string_view name, const std::vector<std::string_view>& allowed) {
  const Value* value = get(name);
  if (value == nullptr) {
    if (object_ != nullptr) add_error(name, "required", "is required");
    return std::nullopt;
  }
  if (!value->is_array()) {
    add_error(name, "invalid_type",
              std::string("must be an array, not ") + kind_name(value->kind()));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool valid = true;
  for (std::size_t i = 0; i < value->items().size(); ++i) {
    const Value& item = value->items()[i];
    const std::string item_name = std::string(name) + "[" + std::to_string(i) + "]";
    if (!item.is_string() || !contains(allowed, item.text())) {
      add_error(item_name, "invalid_value", "must be one of: " + allowed_list(allowed));
      valid = false;
    } else {
      out.push_back(item.text());
    }
  }
  if (!valid) return std::nullopt;
  return out;
}

std::optional<std::int64_t> ObjectReader::optional_integer(std::string_view name, std::int64_t min,
                                                           std::int64_t max) {
  const Value* value = get(name);
  if (value == nullptr) return std::nullopt;
  const auto integer = value->as_int64();
  if (!value->is_number() || !integer) {
    add_error(name, "invalid_type", "must be an integer");
    return std::nullopt;
  }
  if (*integer < min || *integer > max) {
    add_error(name, "out_of_range",
              "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return integer;
}

std::optional<bool> ObjectReader::optional_bool(std::string_view name) {
  const Value* value = get(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) {
    add_error(name, "invalid_type",
              std::string("must be a boolean, not ") + kind_name(value->kind()));
    return std::nullopt;
  }
  return value->as_bool();
}

std::optional<Value> ObjectReader::optional_string_map(std::string_view name,
                                                       std::size_t max_entries,
                                                       std::size_t max_length) {
  const Value* value = get(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_object()) {
    add_error(name, "invalid_type",
              std::string("must be an object, not ") + kind_name(value->kind()));
    return std::nullopt;
  }
  if (value->members().size() > max_entries) {
    add_error(name, "too_long", "must have at most " + std::to_string(max_entries) + " entries");
    return std::nullopt;
  }
  bool valid = true;
  for (const auto& member : value->members()) {
    const std::string member_name = std::string(name) + "." + member.key;
    if (!member.value.is_string()) {
      add_error(member_name, "invalid_type", "metadata values must be strings");
      valid = false;
    } else if (member.value.text().size() > max_length || member.key.size() > max_length) {
      add_error(member_name, "too_long",
                "must be at most " + std::to_string(max_length) + " bytes");
      valid = false;
    }
  }
  if (!valid) return std::nullopt;
  return *value;
}

void ObjectReader::reject_unknown() {
  if (object_ == nullptr) return;
  for (const auto& member : object_->members()) {
    if (known_.find(member.key) == known_.end()) {
      add_error(member.key, "unknown_field", "is not a recognised field");
    }
  }
}

Result<Value> parse_object_body(std::string_view body) {
  auto parsed = parse(body);
  if (!parsed) return parsed;
  if (!parsed->is_object()) {
    return Error::make(ErrorCode::malformed_request, "The request body must be a JSON object.");
  }
  return parsed;
}

}  // namespace neruba::json
