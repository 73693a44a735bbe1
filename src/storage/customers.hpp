#pragma once
// A tenant's end customers.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "domain/currency.hpp"
#include "json/json.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct CustomerRecord {
  TenantId tenant;
  CustomerId id;
  std::string external_id;
  std::string name;
  domain::Currency currency;
  std::string timezone;
  json::Value metadata;  // an object of string values
  Instant created_at;
  // Days the invoices of a closed period stay drafts for this customer; nullopt: the tenant's
  // setting applies (issue 17).
  std::optional<std::int64_t> invoice_grace_period_days = std::nullopt;
};

namespace customers {
// False when the external id (or the id) is taken — possibly by a transaction that committed
// while this one waited for it (PostgreSQL): find_by_external_id then reads the winner.
[[nodiscard]] bool insert(Tx& tx, const CustomerRecord& customer);
std::optional<CustomerRecord> find_by_external_id(Tx& tx, const TenantId& tenant,
                                                  const std::string& external_id);
// find_by_external_id, locking the customer's row for the rest of the transaction (PostgreSQL
// FOR NO KEY UPDATE; SQLite's writer holds the database): the customer's subscription writes take
// turns, so each sees the others' meters (no double billing).
[[nodiscard]] std::optional<CustomerRecord> find_by_external_id_for_update(
    Tx& tx, const TenantId& tenant, const std::string& external_id);
[[nodiscard]] std::optional<CustomerRecord> find(Tx& tx, const TenantId& tenant,
                                                 const CustomerId& id);
// find, locking the row as find_by_external_id_for_update does: a customer's money movements
// (billing, payments, grants, charges) take turns on it.
[[nodiscard]] std::optional<CustomerRecord> find_for_update(Tx& tx, const TenantId& tenant,
                                                            const CustomerId& id);
// The tenant's customers in customer id order after `after_id`, their rows locked as
// find_for_update locks one (a billing run's chunk), in id order.
std::vector<CustomerRecord> lock_by_id_after(Tx& tx, const TenantId& tenant,
                                             const CustomerId& after_id, std::size_t limit);
// The customers with these ids, by id; an id no customer has is absent.
std::map<CustomerId, CustomerRecord> find_many(Tx& tx, const TenantId& tenant,
                                               std::span<const CustomerId> ids);
std::vector<CustomerRecord> list(Tx& tx, const TenantId& tenant,
                                 const std::string& after_external_id, std::size_t limit);
// Sets (or, with nullopt, clears) the customer's grace period override. False when the tenant
// has no such customer.
[[nodiscard]] bool set_invoice_grace_period_days(Tx& tx, const TenantId& tenant,
                                                 const CustomerId& id,
                                                 std::optional<std::int64_t> days);
}  // namespace customers

}  // namespace neruba::storage
