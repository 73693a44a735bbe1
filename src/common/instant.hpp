#pragma once
// A point in time: UTC microseconds since the Unix epoch. The type of every instant in Neruba —
// records, domain values and the wire alike (RFC 3339 there, domain/time.hpp).
#include <chrono>

namespace neruba {

using Instant = std::chrono::sys_time<std::chrono::microseconds>;

}  // namespace neruba
