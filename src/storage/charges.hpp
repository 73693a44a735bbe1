#pragma once
// One-off charges (API.md POST /v1/charges): an amount for a customer's next invoice, unique per
// tenant, customer and charge key. Pending until a billing run puts it on an invoice; never on two
// (the invoice is set once, under a condition that it is not set).
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct ChargeRecord {
  TenantId tenant;
  std::string id;  // chg_…
  CustomerId customer;
  std::string charge_key;
  std::string kind;  // one_off
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string description;
  Instant created_at;
  std::optional<std::string> invoice;
};

namespace charges {
// False when the customer has a charge with that key.
[[nodiscard]] bool insert(Tx& tx, const ChargeRecord& charge);
[[nodiscard]] std::optional<ChargeRecord> find_by_key(Tx& tx, const TenantId& tenant,
                                                      const CustomerId& customer,
                                                      const std::string& charge_key);
// Charges on no invoice yet, or on this invoice (a draft being recomputed), created at or before
// `until`, by creation then id.
std::vector<ChargeRecord> pending(Tx& tx, const TenantId& tenant, const CustomerId& customer,
                                  Instant until);
std::vector<ChargeRecord> on_invoice(Tx& tx, const TenantId& tenant, const std::string& invoice);
// The customers with ids in [first, last] that have a charge on no invoice yet, created at or
// before `until` (a billing run's chunk asks once for all its customers).
std::set<CustomerId> pending_between(Tx& tx, const TenantId& tenant, const CustomerId& first,
                                     const CustomerId& last, Instant until);
// Puts a pending charge on an invoice. False when it is on one already.
[[nodiscard]] bool attach(Tx& tx, const TenantId& tenant, const std::string& id,
                          const std::string& invoice);
}  // namespace charges

}  // namespace neruba::storage
