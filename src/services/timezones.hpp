#pragma once
#include <string_view>

namespace neruba::services {
// True for an IANA time zone name known to the system tz database ("UTC", "Europe/Berlin").
bool is_known_timezone(std::string_view name);
}  // namespace neruba::services
