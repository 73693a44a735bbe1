// Fuzzes domain::Decimal::parse / parse_plain, which read every quantity, price and amount.
// Invariants on success: to_string() is plain notation that parse_plain reads back to the same
// representation (value and scale); parse_plain accepting implies parse accepts the same value;
// the value stays within the documented bounds; neg() and abs() round-trip through text too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/decimal.hpp"
#include "fuzz_check.hpp"

namespace {

using neruba::domain::Decimal;
using neruba::domain::DecimalError;
using neruba::domain::DecimalResult;

void check_round_trip(const Decimal& value) {
  NERUBA_FUZZ_CHECK(value.scale() >= 0 && value.scale() <= Decimal::max_scale);
  const std::string text = value.to_string();
  const DecimalResult plain = Decimal::parse_plain(text);
  NERUBA_FUZZ_CHECK(plain.ok());
  NERUBA_FUZZ_CHECK(plain->same_representation(value));
  const DecimalResult full = Decimal::parse(text);
  NERUBA_FUZZ_CHECK(full.ok() && full->same_representation(value));
  NERUBA_FUZZ_CHECK(plain->to_string() == text);
  NERUBA_FUZZ_CHECK(text != "-0" && (text.rfind("-0", 0) != 0 || value.sign() < 0));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = neruba::fuzz::as_text(data, size);
  const DecimalResult parsed = Decimal::parse(text);
  const DecimalResult plain = Decimal::parse_plain(text);
  NERUBA_FUZZ_CHECK(parsed.ok() == (parsed.error == DecimalError::none));
  NERUBA_FUZZ_CHECK(plain.ok() == (plain.error == DecimalError::none));
  if (plain.ok()) {
    NERUBA_FUZZ_CHECK(parsed.ok() && parsed->same_representation(*plain));
  }
  if (!parsed.ok()) return 0;

  check_round_trip(*parsed);
  check_round_trip(parsed->neg());
  check_round_trip(parsed->abs());
  NERUBA_FUZZ_CHECK(parsed->neg().neg().same_representation(*parsed));
  return 0;
}
