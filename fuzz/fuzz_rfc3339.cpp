// Fuzzes domain::parse_rfc3339, which reads every event timestamp and API instant. Invariants on
// success: format_rfc3339 gives text that parses back to the same instant and formats to the same
// text again; it is the canonical shape (UTC "Z", 20 or 27 bytes); and the input, with t/z
// upper-cased, differs from it only when the input had an offset or fraction digits.
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/time.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = neruba::fuzz::as_text(data, size);
  const auto instant = neruba::domain::parse_rfc3339(text);
  if (!instant) return 0;

  const std::string formatted = neruba::domain::format_rfc3339(*instant);
  const auto again = neruba::domain::parse_rfc3339(formatted);
  NERUBA_FUZZ_CHECK(again.has_value());
  NERUBA_FUZZ_CHECK(*again == *instant);
  NERUBA_FUZZ_CHECK(neruba::domain::format_rfc3339(*again) == formatted);
  NERUBA_FUZZ_CHECK(formatted.size() == 20 || formatted.size() == 27);
  NERUBA_FUZZ_CHECK(formatted.back() == 'Z');
  NERUBA_FUZZ_CHECK(neruba::domain::from_unix_micros(neruba::domain::to_unix_micros(*instant)) ==
                    *instant);

  // A UTC input without a fraction is already canonical, up to the case of 't' and 'z'.
  if (text.size() == 20) {
    std::string upper(text);
    upper[10] = 'T';
    upper[19] = 'Z';
    NERUBA_FUZZ_CHECK(upper == formatted);
  }
  return 0;
}
