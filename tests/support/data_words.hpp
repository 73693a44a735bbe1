#pragma once
// Reading the words of a data-file step (tests/data/README.md), shared by the areas: integers,
// comma-separated decimals, `<name>=<value>` options after the positional words, zones of the
// system's tz database.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <date/tz.h>

#include "domain/decimal.hpp"
#include "support/data_file.hpp"

namespace neruba::test::data {

std::optional<std::int64_t> integer_of(std::string_view text);
// "1.5,2,0.25"; empty text: no decimal.
std::optional<std::vector<domain::Decimal>> decimals_of(std::string_view text);
// The zone of this IANA name, or nullptr.
const date::time_zone* zone_named(const std::string& name);

// An option a directive takes: its name and what makes a value valid.
struct OptionSpec {
  std::string_view name;
  bool (*valid)(std::string_view value);
};

// The words from `first` on are `<name>=<value>` options of `specs`, each valid; returns what is
// wrong.
std::optional<std::string> check_options(const Step& step, std::size_t first,
                                         std::span<const OptionSpec> specs);
// The value of option `name`, if written (checked already). Positional words hold no `=`.
std::optional<std::string_view> option(const Step& step, std::string_view name);

}  // namespace neruba::test::data
