#pragma once
// Field checks shared by use cases.
#include <optional>
#include <string>

#include "json/reader.hpp"

namespace neruba::services {

// Reads an optional ISO 4217 code; reports unknown codes.
std::optional<std::string> read_currency(json::ObjectReader& reader, std::string_view name,
                                         bool required);
// Reads an optional IANA time zone name; reports unknown zones.
std::optional<std::string> read_timezone(json::ObjectReader& reader, std::string_view name,
                                         bool required);
// Ids and external ids: 1..max printable ASCII characters without spaces or '/'.
bool is_valid_identifier(std::string_view text, std::size_t max_length);

}  // namespace neruba::services
