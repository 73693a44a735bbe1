#pragma once
// Helpers the repositories share (storage-internal): statement text, stored JSON, multi-row
// inserts and PostgreSQL array parameters.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.hpp"
#include "storage/db.hpp"

namespace neruba::storage::sql {

inline constexpr std::size_t insert_chunk = 100;  // rows per multi-row INSERT

// "SELECT <columns> <rest>".
std::string select_from(std::string_view columns, std::string_view rest);

// A JSON column as written by serialize(); text that does not parse is corruption.
json::Value parse_stored_json(const std::string& text);
Param optional_json(const std::optional<json::Value>& value);

// "($1, $2, $3), ($4, $5, $6)" for `rows` rows of `columns` placeholders.
std::string values_clause(std::size_t rows, std::size_t columns);

// Runs `prefix VALUES (…), (…) suffix` over rows in chunks; `bind` appends one row's params.
// Returns the rows the statements changed (an ON CONFLICT DO NOTHING suffix may skip some).
template <typename RowT>
[[nodiscard]] std::int64_t insert_rows(
    Tx& tx, std::string_view prefix, std::string_view suffix, std::size_t columns,
    std::span<const RowT> rows, const std::function<void(const RowT&, std::vector<Param>&)>& bind) {
  std::size_t start = 0;
  std::int64_t changed = 0;
  std::vector<Param> params;
  while (start < rows.size()) {
    const std::size_t count = std::min(insert_chunk, rows.size() - start);
    std::string statement(prefix);
    statement += " VALUES ";
    statement += values_clause(count, columns);
    statement += suffix;
    params.clear();
    params.reserve(count * columns);
    for (std::size_t i = start; i < start + count; ++i) bind(rows[i], params);
    changed += tx.exec(statement, params);
    start += count;
  }
  return changed;
}

inline constexpr std::size_t in_chunk = 500;  // keys per IN list

// Runs `prefix IN ($k, …) suffix` over `keys` in chunks of in_chunk, the keys' parameters after
// `leading`'s, and hands each chunk's rows to `each`: a read of many rows by key in a few
// statements, on both backends.
void query_in(Tx& tx, std::string_view prefix, std::string_view suffix,
              const std::vector<Param>& leading, std::span<const std::string> keys,
              const std::function<void(const Rows&)>& each);

// PostgreSQL array literals, so that a whole batch travels as one parameter per column and one
// set-based statement (`unnest`) replaces thousands of per-row statements.
void append_array_element(std::string& out, std::string_view value);

// "{a,b,NULL}": `get` gives each item's optional value, `append` writes a present one.
template <typename Items, typename Get, typename Append>
std::string array_literal(const Items& items, Get get, Append append) {
  std::string out = "{";
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.push_back(',');
    first = false;
    const auto value = get(item);
    if (value) {
      append(out, *value);
    } else {
      out += "NULL";
    }
  }
  out.push_back('}');
  return out;
}

// A present text element, viewed in place (its string outlives the array being built).
inline std::optional<std::string_view> present(const std::string& text) { return text; }

template <typename Items, typename Get>
std::string text_array(const Items& items, Get get) {
  return array_literal(items, get, append_array_element);
}

template <typename Items, typename Get>
std::string bigint_array(const Items& items, Get get) {
  return array_literal(items, get,
                       [](std::string& out, std::int64_t value) { out += std::to_string(value); });
}

// Many (customer, [from, to)) ranges as one relation `k(customer_id, range_from, range_to)` for a
// set-based read: `FROM <relation> CROSS JOIN <table> WHERE <table>.customer_id = k.customer_id
// AND …`, an index seek per range (SQLite keeps the CROSS JOIN's order). PostgreSQL: three array
// parameters unnested side by side; SQLite: one JSON array of [customer_id, from, to] triples
// through json_each. Instants as BIGINT microseconds.
struct RangeItem {
  std::string_view customer_id;
  std::int64_t from;
  std::int64_t to;
};
struct RangeRelation {
  std::string sql;            // the relation, to follow FROM
  std::vector<Param> params;  // its parameters, numbered from `first_param`
};
RangeRelation range_relation(Dialect dialect, std::span<const RangeItem> ranges, int first_param);

}  // namespace neruba::storage::sql
