#include "support/data_words.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace neruba::test::data {

std::optional<std::int64_t> integer_of(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::vector<domain::Decimal>> decimals_of(std::string_view text) {
  std::vector<domain::Decimal> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const auto parsed = domain::Decimal::parse(text.substr(0, comma));
    if (!parsed) return std::nullopt;
    out.push_back(*parsed);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

const date::time_zone* zone_named(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::runtime_error&) {
    return nullptr;
  }
}

std::optional<std::string> check_options(const Step& step, std::size_t first,
                                         std::span<const OptionSpec> specs) {
  for (std::size_t index = first; index < step.words.size(); ++index) {
    const std::string& word = step.words[index];
    const std::size_t equals = word.find('=');
    const std::string_view name = std::string_view(word).substr(0, equals);
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const OptionSpec& option) { return option.name == name; });
    if (equals == std::string::npos || spec == specs.end()) return "`" + word + "` is no option";
    if (!spec->valid(std::string_view(word).substr(equals + 1))) {
      return "`" + word + "` has an invalid value";
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> option(const Step& step, std::string_view name) {
  for (const std::string& word : step.words) {
    if (word.size() > name.size() && word.compare(0, name.size(), name) == 0 &&
        word[name.size()] == '=') {
      return std::string_view(word).substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

}  // namespace neruba::test::data
