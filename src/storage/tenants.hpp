#pragma once
// Tenants: a customer of Neruba, its settings and the head of its audit chain.
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "domain/currency.hpp"
#include "json/json.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct TenantRecord {
  TenantId id;
  std::string name;
  domain::Currency currency;
  std::string timezone;
  json::Value settings;  // an object; see services/settings.hpp
  Instant created_at;
};

struct AuditHead {
  std::int64_t seq = 0;
  std::string hash;  // empty before the first record
};

namespace tenants {
// False when the id is taken.
[[nodiscard]] bool insert(Tx& tx, const TenantRecord& tenant);
std::optional<TenantRecord> find(Tx& tx, const TenantId& id);
// find, locking the row for the rest of the transaction (PostgreSQL FOR UPDATE; SQLite's writer
// already holds the database): a read-modify-write of the tenant sees no concurrent change.
std::optional<TenantRecord> find_for_update(Tx& tx, const TenantId& id);
std::vector<TenantRecord> list(Tx& tx, const std::string& after_id, std::size_t limit);
// False when no such tenant.
[[nodiscard]] bool update(Tx& tx, const TenantRecord& tenant);
// Locks the tenant row for the rest of the transaction (PostgreSQL FOR UPDATE; SQLite already
// serializes writers) and returns the audit chain head. nullopt when the tenant does not exist.
std::optional<AuditHead> lock_audit_head(Tx& tx, const TenantId& id);
AuditHead audit_head(Tx& tx, const TenantId& id);
// Moves the head; the caller holds lock_audit_head. False when no such tenant.
[[nodiscard]] bool set_audit_head(Tx& tx, const TenantId& id, const AuditHead& head);
}  // namespace tenants

}  // namespace neruba::storage
