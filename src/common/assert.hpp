#pragma once
// Invariants checked in every build, production included (TigerBeetle's rule: an assertion that is
// switched off in production protects nothing there). NERUBA_ASSERT is for what the code itself
// guarantees — a broken one is a bug, never bad input: input errors are Result values. A failed
// assertion logs where and what, then aborts: a billing engine that goes on from a state it knows
// to be wrong can write wrong money.
#include <string_view>

namespace neruba::detail {

[[noreturn]] void assertion_failed(std::string_view expression, std::string_view file, int line,
                                   std::string_view message);

}  // namespace neruba::detail

#define NERUBA_ASSERT(condition)                                              \
  do {                                                                        \
    if (!(condition)) [[unlikely]] {                                          \
      ::neruba::detail::assertion_failed(#condition, __FILE__, __LINE__, {}); \
    }                                                                         \
  } while (false)

// With a message that says what the invariant means.
#define NERUBA_ASSERT_MSG(condition, message)                                      \
  do {                                                                             \
    if (!(condition)) [[unlikely]] {                                               \
      ::neruba::detail::assertion_failed(#condition, __FILE__, __LINE__, message); \
    }                                                                              \
  } while (false)
