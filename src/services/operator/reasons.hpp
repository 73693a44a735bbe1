#pragma once
// Why an operator acts (API.md "Operator actions"): every operator action names a reason code —
// built in, or (later) one the tenant defined — and a free-text justification, both kept in its
// audit record.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.hpp"
#include "json/reader.hpp"
#include "storage/db.hpp"

namespace neruba::services {

struct OperatorReason {
  std::optional<std::string> code;
  std::optional<std::string> justification;
};

inline constexpr std::size_t justification_length_max = 2000;

// The built-in reason codes.
const std::vector<std::string_view>& builtin_reason_codes();

// Reads the required `reason_code` and `justification` of an operator action's body.
OperatorReason read_operator_reason(storage::Tx& tx, const TenantId& tenant,
                                    json::ObjectReader& reader);

// Reads an optional `reason_code` (a credit grant's, say): a built-in code when present.
std::optional<std::string> read_optional_reason_code(storage::Tx& tx, const TenantId& tenant,
                                                     json::ObjectReader& reader);

}  // namespace neruba::services
