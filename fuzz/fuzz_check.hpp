#pragma once
// Invariant checks for fuzz targets. A broken invariant prints what broke and aborts, which
// libFuzzer reports as a crash (and saves the input); the GCC replay build fails the same way.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define NERUBA_FUZZ_CHECK(condition)                                                              \
  do {                                                                                            \
    if (!(condition)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (false)

namespace neruba::fuzz {

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace neruba::fuzz
