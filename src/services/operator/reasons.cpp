#include "services/operator/reasons.hpp"

#include <algorithm>

#include "services/validation.hpp"

namespace neruba::services {
namespace {

bool known_code(std::string_view code) {
  const auto& codes = builtin_reason_codes();
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::string codes_text() {
  std::string out;
  for (const auto code : builtin_reason_codes()) {
    if (!out.empty()) out += ", ";
    out += code;
  }
  return out;
}

std::optional<std::string> read_code(json::ObjectReader& reader, bool required) {
  auto code = required ? reader.required_string("reason_code", 64)
                       : reader.optional_string("reason_code", 64);
  if (code && !known_code(*code)) {
    reader.add_error("reason_code", "invalid_value", "must be one of " + codes_text());
    return std::nullopt;
  }
  return code;
}

}  // namespace

const std::vector<std::string_view>& builtin_reason_codes() {
  static const std::vector<std::string_view> codes = {
      "billing_error", "service_issue",   "goodwill", "duplicate_charge",
      "fraud",         "contract_change", "other"};
  return codes;
}

OperatorReason read_operator_reason(storage::Tx& /*tx*/, const TenantId& /*tenant*/,
                                    json::ObjectReader& reader) {
  OperatorReason out;
  out.code = read_code(reader, true);
  out.justification = reader.required_string("justification", justification_length_max);
  if (out.justification &&
      (out.justification->empty() || has_control_characters(*out.justification))) {
    reader.add_error("justification", "invalid_value",
                     "must say why, in 1 to 2000 characters without control characters");
    out.justification.reset();
  }
  return out;
}

std::optional<std::string> read_optional_reason_code(storage::Tx& /*tx*/,
                                                     const TenantId& /*tenant*/,
                                                     json::ObjectReader& reader) {
  return read_code(reader, false);
}

}  // namespace neruba::services
