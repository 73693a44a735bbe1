#pragma once
// RFC 3339 instants on the wire; UTC microseconds inside.
#include <optional>
#include <string>
#include <string_view>

#include "common/instant.hpp"

namespace neruba::domain {

// Accepts `YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)`, also lowercase t/z. Returns nullopt on any
// deviation, including impossible dates (2026-02-30) and leap seconds.
std::optional<Instant> parse_rfc3339(std::string_view text);
// `2026-01-05T10:00:00Z`, with `.ffffff` only when the instant has a sub-second part.
std::string format_rfc3339(Instant instant);

std::int64_t to_unix_micros(Instant instant);
Instant from_unix_micros(std::int64_t micros);

}  // namespace neruba::domain
