#include "services/timezones.hpp"

#include <date/tz.h>

#include <stdexcept>
#include <string>

namespace neruba::services {

bool is_known_timezone(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  try {
    return date::locate_zone(std::string(name)) != nullptr;
  } catch (const std::runtime_error&) {
    return false;
  }
}

}  // namespace neruba::services
