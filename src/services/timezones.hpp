#pragma once
#include <string_view>

namespace neruba::services {
// True for an IANA time zone name (a Zone or Link of the tz database: "UTC", "Europe/Berlin",
// "US/Pacific") known to the system tz database; never for the system's other names ("localtime",
// "posixrules", "posix/…", "right/…") nor the placeholder "Factory".
bool is_known_timezone(std::string_view name);
}  // namespace neruba::services
