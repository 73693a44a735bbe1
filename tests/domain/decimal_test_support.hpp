#pragma once
// Helpers shared by the Decimal and currency tests.
#include <stdexcept>
#include <string>
#include <string_view>

#include "domain/decimal.hpp"

namespace neruba::domain::test {

// One string for both outcomes, "12.50" or "error:overflow", so a failing expectation shows what
// actually came back. The differential test and scripts/decimal_oracle.py use the same format.
inline std::string result_text(const DecimalResult& result) {
  if (!result) {
    return "error:" + std::string(decimal_error_name(result.error));
  }
  return result->to_string();
}

// A Decimal from a literal the test states is valid; a typo in a test fails it loudly.
inline Decimal dec(std::string_view text) {
  const DecimalResult parsed = Decimal::parse(text);
  if (!parsed) {
    throw std::invalid_argument("bad Decimal literal in test: " + std::string(text));
  }
  return *parsed;
}

}  // namespace neruba::domain::test
