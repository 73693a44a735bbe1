#include "storage/locks.hpp"

#include <string>

namespace neruba::storage::locks {
namespace {

void lock_tenant(Tx& tx, LockClass lock_class, const TenantId& tenant, bool shared) {
  if (tx.dialect() != Dialect::postgres) return;
  tx.query(std::string(shared ? "SELECT pg_advisory_xact_lock_shared("
                              : "SELECT pg_advisory_xact_lock(") +
               std::to_string(static_cast<int>(lock_class)) + ", hashtext($1))",
           {tenant.str()});
}

}  // namespace

void migration(Tx& tx) {
  if (tx.dialect() != Dialect::postgres) return;
  tx.query("SELECT pg_advisory_xact_lock(" +
           std::to_string(static_cast<int>(LockClass::migration)) + ")");
}

void bucket_merge(Tx& tx, const TenantId& tenant) {
  lock_tenant(tx, LockClass::bucket_merge, tenant, false);
}

void billing(Tx& tx, const TenantId& tenant) { lock_tenant(tx, LockClass::billing, tenant, false); }

void meters_shared(Tx& tx, const TenantId& tenant) {
  lock_tenant(tx, LockClass::meters, tenant, true);
}

void meters_exclusive(Tx& tx, const TenantId& tenant) {
  lock_tenant(tx, LockClass::meters, tenant, false);
}

}  // namespace neruba::storage::locks
