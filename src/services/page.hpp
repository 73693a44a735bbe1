#pragma once
// One page of a list (API.md "Lists"): the items and the cursor of the next page, if any.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace neruba::services {

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
};

// A page from rows fetched with limit + 1: the extra row only says that more follow, and the last
// row shown gives the cursor of the next page.
template <typename Row, typename CursorOf>
Page<Row> page_of(std::vector<Row> rows, std::size_t limit, CursorOf cursor_of) {
  Page<Row> page;
  const bool more = rows.size() > limit;
  if (more) rows.pop_back();
  if (more) page.next_cursor = cursor_of(rows.back());
  page.items = std::move(rows);
  return page;
}

}  // namespace neruba::services
