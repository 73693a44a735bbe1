#include "support/data_blocks.hpp"

#include <algorithm>

#include "domain/time.hpp"
#include "json/json.hpp"

namespace neruba::test::data {
namespace {

// `case <name>`: every area starts afresh (a new tenant, the clock back at its start, no window).
std::vector<BlockKind> common_blocks() {
  return {{"case",
           "<name>",
           Needs::nothing,
           1,
           1,
           {},
           nullptr,
           [](Session& session, const Step& step) -> std::optional<Outcome> {
             session.start_case(step.words[0]);
             return std::nullopt;
           }}};
}

}  // namespace

std::optional<std::string> json_after(const Step& step, std::size_t words) {
  const std::string text = step.rest_after(words);
  if (!json::parse(text)) return "`" + text + "` is not JSON";
  return std::nullopt;
}

std::optional<std::string> instant_at(const Step& step, std::size_t index) {
  if (index >= step.words.size() || !domain::parse_rfc3339(step.words[index])) {
    return "`" + (index < step.words.size() ? step.words[index] : "") + "` is not an instant";
  }
  return std::nullopt;
}

const std::vector<BlockKind>& block_kinds() {
  // A new area adds its list here; a new kind of an existing area, an entry in that list.
  static const std::vector<BlockKind> kinds = [] {
    std::vector<BlockKind> all;
    for (auto&& area :
         {common_blocks(), api_blocks(), metering_blocks(), decimal_blocks(), calendar_blocks(),
          pricing_blocks(), subscription_blocks(), billing_blocks()}) {
      all.insert(all.end(), area.begin(), area.end());
    }
    return all;
  }();
  return kinds;
}

const BlockKind* find_block_kind(std::string_view keyword) {
  const auto& kinds = block_kinds();
  const auto it = std::find_if(kinds.begin(), kinds.end(),
                               [&](const BlockKind& kind) { return kind.keyword == keyword; });
  return it == kinds.end() ? nullptr : &*it;
}

}  // namespace neruba::test::data
