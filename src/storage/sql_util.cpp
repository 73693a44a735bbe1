#include "storage/sql_util.hpp"

namespace neruba::storage::sql {

std::string select_from(std::string_view columns, std::string_view rest) {
  std::string statement = "SELECT ";
  statement += columns;
  statement += ' ';
  statement += rest;
  return statement;
}

json::Value parse_stored_json(const std::string& text) {
  auto parsed = json::parse(text);
  if (!parsed) {
    throw StorageError(StorageError::Kind::other,
                       "stored JSON is corrupt: " + parsed.error().detail);
  }
  return std::move(parsed).value();
}

Param optional_json(const std::optional<json::Value>& value) {
  if (value) return json::serialize(*value);
  return std::monostate{};
}

std::string values_clause(std::size_t rows, std::size_t columns) {
  std::string out;
  std::size_t param = 1;
  for (std::size_t r = 0; r < rows; ++r) {
    out += r == 0 ? "(" : ", (";
    for (std::size_t c = 0; c < columns; ++c) {
      if (c > 0) out += ", ";
      out += "$" + std::to_string(param++);
    }
    out += ")";
  }
  return out;
}

void append_array_element(std::string& out, std::string_view value) {
  out.push_back('"');
  // Runs without a quote or backslash are copied whole (ids, hashes: the whole value).
  while (!value.empty()) {
    const std::size_t special = value.find_first_of("\"\\");
    out.append(value.substr(0, special));
    if (special == std::string_view::npos) break;
    out.push_back('\\');
    out.push_back(value[special]);
    value.remove_prefix(special + 1);
  }
  out.push_back('"');
}

}  // namespace neruba::storage::sql
