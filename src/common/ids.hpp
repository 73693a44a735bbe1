#pragma once
// Strong typedefs for identifiers: passing a customer id where a tenant id goes does not compile.
#include <compare>
#include <string>
#include <string_view>
#include <utility>

namespace neruba {

template <typename Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string value) : value_(std::move(value)) {}
  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const StrongId&) const = default;

 private:
  std::string value_;
};

using TenantId = StrongId<struct TenantTag>;
using ApiKeyId = StrongId<struct ApiKeyTag>;
using CustomerId = StrongId<struct CustomerTag>;
using AuditRecordId = StrongId<struct AuditRecordTag>;
using MeterId = StrongId<struct MeterTag>;

// Prefixes of the opaque ids (DESIGN.md: `cus_…`, `inv_…`).
namespace id_prefix {
inline constexpr std::string_view tenant = "ten_";
inline constexpr std::string_view api_key = "key_";
inline constexpr std::string_view customer = "cus_";
inline constexpr std::string_view audit_record = "aud_";
inline constexpr std::string_view meter = "mtr_";
inline constexpr std::string_view idempotency_claim = "clm_";
inline constexpr std::string_view request = "req_";
inline constexpr std::string_view subscription = "sub_";
}  // namespace id_prefix

}  // namespace neruba
