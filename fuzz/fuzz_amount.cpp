// Fuzzes domain::parse_amount, which reads every money amount a client sends. The input is
// "<currency>:<amount>" (the currency part is fuzzed too, so unknown codes are exercised).
// Invariants on success: the scale is exactly the currency's minor-unit digits, and the amount
// as text (to_string) parses back to the same value and scale.
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/currency.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = neruba::fuzz::as_text(data, size);
  const std::size_t colon = input.find(':');
  if (colon == std::string_view::npos) return 0;
  const std::string_view currency = input.substr(0, colon);
  const std::string_view text = input.substr(colon + 1);

  const auto amount = neruba::domain::parse_amount(text, currency);
  NERUBA_FUZZ_CHECK(amount.ok() == (amount.error == neruba::domain::MoneyError::none));
  if (!amount.ok()) return 0;

  const auto digits = neruba::domain::minor_unit_digits(currency);
  NERUBA_FUZZ_CHECK(digits.has_value());
  NERUBA_FUZZ_CHECK(amount->scale() == *digits);
  const std::string formatted = amount->to_string();
  const auto again = neruba::domain::parse_amount(formatted, currency);
  NERUBA_FUZZ_CHECK(again.ok() && again->same_representation(*amount));
  // The padding to the minor unit never changes the value the client sent.
  const auto as_decimal = neruba::domain::Decimal::parse_plain(text);
  NERUBA_FUZZ_CHECK(as_decimal.ok() && *as_decimal == *amount);
  return 0;
}
