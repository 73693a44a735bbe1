#pragma once
// Field checks shared by use cases.
#include <optional>
#include <string>

#include "domain/currency.hpp"
#include "json/reader.hpp"

namespace neruba::services {

// Reads an optional ISO 4217 code; reports unknown codes.
std::optional<domain::Currency> read_currency(json::ObjectReader& reader, std::string_view name,
                                              bool required);
// Reads an optional IANA time zone name; reports unknown zones.
std::optional<std::string> read_timezone(json::ObjectReader& reader, std::string_view name,
                                         bool required);
// Ids and external ids: 1..max printable ASCII characters without spaces or '/'.
bool is_valid_identifier(std::string_view text, std::size_t max_length);
// The rule is_valid_identifier checks, as error details state it.
inline constexpr std::string_view identifier_rule =
    "printable ASCII without spaces, '/', '?', '#' or '%'";
// C0 controls or DEL (bytes of multi-byte UTF-8 sequences are all >= 0x80, so UTF-8 passes).
bool has_control_characters(std::string_view text);

}  // namespace neruba::services
