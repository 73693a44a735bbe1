#pragma once
// One-line structured logs (logfmt) on stderr. Every line about a tenant's work names the tenant.
#include <initializer_list>
#include <string_view>
#include <utility>

namespace neruba::log {

enum class Level { debug, info, warn, error };

void set_min_level(Level level);
void write(Level level, std::string_view message,
           std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {});

inline void info(std::string_view message,
                 std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {}) {
  write(Level::info, message, fields);
}
inline void warn(std::string_view message,
                 std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {}) {
  write(Level::warn, message, fields);
}
inline void error(
    std::string_view message,
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {}) {
  write(Level::error, message, fields);
}

}  // namespace neruba::log
