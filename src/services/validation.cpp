#include "services/validation.hpp"

#include "domain/currency.hpp"
#include "services/timezones.hpp"

namespace neruba::services {

std::optional<domain::Currency> read_currency(json::ObjectReader& reader, std::string_view name,
                                              bool required) {
  const auto code = required ? reader.required_string(name, 3) : reader.optional_string(name, 3);
  if (!code) return std::nullopt;
  auto currency = domain::Currency::of(*code);
  if (!currency) {
    reader.add_error(name, "invalid_value", "must be an ISO 4217 currency code such as \"USD\"");
  }
  return currency;
}

std::optional<std::string> read_timezone(json::ObjectReader& reader, std::string_view name,
                                         bool required) {
  auto zone = required ? reader.required_string(name, 64) : reader.optional_string(name, 64);
  if (zone && !is_known_timezone(*zone)) {
    reader.add_error(name, "invalid_value", "must be an IANA time zone such as \"Europe/Berlin\"");
    return std::nullopt;
  }
  return zone;
}

bool has_control_characters(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

bool is_valid_identifier(std::string_view text, std::size_t max_length) {
  if (text.empty() || text.size() > max_length) return false;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%') return false;
  }
  return true;
}

}  // namespace neruba::services
