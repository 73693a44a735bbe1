#pragma once
// The list envelope `{ "data": [...], "next_cursor": ... }` of API.md, shared by every list.
#include <string>
#include <utility>
#include <vector>

#include "services/context.hpp"

namespace neruba::services {

// Renders one page of rows fetched with limit + 1: the extra row only says that more follow, and
// the last row shown gives the cursor of the next page.
template <typename Row, typename ToJson, typename CursorOf>
Reply page_reply(std::vector<Row> rows, std::size_t limit, ToJson to_json, CursorOf cursor_of) {
  const bool more = rows.size() > limit;
  if (more) rows.pop_back();
  json::Value data = json::Value::array();
  for (const auto& row : rows) data.push_back(to_json(row));
  json::Value out = json::Value::object();
  out.set("data", std::move(data));
  out.set("next_cursor", more ? json::Value::string(cursor_of(rows.back())) : json::Value::null());
  return Reply{200, std::move(out)};
}

}  // namespace neruba::services
