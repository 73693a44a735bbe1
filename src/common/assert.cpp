#include "common/assert.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.hpp"

namespace neruba::detail {

void assertion_failed(std::string_view expression, std::string_view file, int line,
                      std::string_view message) {
  log::error("assertion failed", {{"expression", expression},
                                  {"file", file},
                                  {"line", std::to_string(line)},
                                  {"message", message}});
  std::fflush(stderr);
  std::abort();
}

}  // namespace neruba::detail
