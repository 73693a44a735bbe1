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

void query_in(Tx& tx, std::string_view prefix, std::string_view suffix,
              const std::vector<Param>& leading, std::span<const std::string> keys,
              const std::function<void(const Rows&)>& each) {
  std::vector<Param> params;
  for (std::size_t start = 0; start < keys.size(); start += in_chunk) {
    const std::size_t count = std::min(in_chunk, keys.size() - start);
    std::string statement(prefix);
    statement += " IN (";
    params = leading;
    for (std::size_t i = start; i < start + count; ++i) {
      if (i > start) statement += ", ";
      params.emplace_back(TextRef{keys[i]});
      statement += "$" + std::to_string(params.size());
    }
    statement += ")";
    statement += suffix;
    each(tx.query(statement, params));
  }
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

RangeRelation range_relation(Dialect dialect, std::span<const RangeItem> ranges, int first_param) {
  const auto p = [&](int offset) { return "$" + std::to_string(first_param + offset); };
  RangeRelation out;
  if (dialect == Dialect::postgres) {
    out.sql = "unnest(CAST(" + p(0) + " AS TEXT[]), CAST(" + p(1) + " AS BIGINT[]), CAST(" + p(2) +
              " AS BIGINT[])) AS k(customer_id, range_from, range_to)";
    out.params.emplace_back(array_literal(
        ranges, [](const RangeItem& r) { return std::optional(r.customer_id); },
        append_array_element));
    out.params.emplace_back(
        bigint_array(ranges, [](const RangeItem& r) { return std::optional(r.from); }));
    out.params.emplace_back(
        bigint_array(ranges, [](const RangeItem& r) { return std::optional(r.to); }));
    return out;
  }
  out.sql =
      "(SELECT json_extract(value, '$[0]') AS customer_id, json_extract(value, '$[1]') AS "
      "range_from, json_extract(value, '$[2]') AS range_to FROM json_each(" +
      p(0) + ")) AS k";
  std::string array = "[";
  for (const RangeItem& r : ranges) {
    if (array.size() > 1) array.push_back(',');
    array.push_back('[');
    json::append_quoted(array, r.customer_id);
    array += "," + std::to_string(r.from) + "," + std::to_string(r.to) + "]";
  }
  array.push_back(']');
  out.params.emplace_back(std::move(array));
  return out;
}

}  // namespace neruba::storage::sql
