#include "services/timezones.hpp"

#include <date/tz.h>

#include <stdexcept>
#include <string>

namespace neruba::services {
namespace {

// The names the tz library lists are the files of the system's zoneinfo directory, which also
// holds names that are no IANA zone: "localtime" (a link to the host's own zone, so a period would
// differ per node), "posixrules", the "posix/" and "right/" copies of the database; the library
// skips some of them, which ones depends on its version. Every Zone and Link name of the tz
// database has components that each begin with an ASCII capital letter ("America/Argentina/
// Buenos_Aires", "Etc/GMT+5", "EST5EDT", "US/Pacific"); those other names do not. "Factory" does,
// but is the tz database's placeholder for a zone not set (abbreviation "-00"), no place's time.
bool has_iana_form(std::string_view name) {
  if (name == "Factory") return false;
  bool component_start = true;
  for (const char c : name) {
    if (component_start && (c < 'A' || c > 'Z')) return false;
    component_start = c == '/';
  }
  return !component_start;  // no trailing '/'
}

}  // namespace

bool is_known_timezone(std::string_view name) {
  if (name.empty() || name.size() > 64 || !has_iana_form(name)) return false;
  try {
    return date::locate_zone(std::string(name)) != nullptr;
  } catch (const std::runtime_error&) {
    return false;
  }
}

}  // namespace neruba::services
