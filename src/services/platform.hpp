#pragma once
// Tenants, API keys, tenant settings and authentication: the platform surface of API.md. Use cases
// return the records they read or wrote; the HTTP edge renders them (http/views).
#include <optional>
#include <string>

#include "common/error.hpp"
#include "services/context.hpp"
#include "services/page.hpp"
#include "storage/api_keys.hpp"
#include "storage/db.hpp"
#include "storage/tenants.hpp"

namespace neruba::services::platform {

// Resolves a bearer credential to a principal. The admin key is compared by hash in constant time.
class Authenticator {
 public:
  explicit Authenticator(std::string admin_key_hash) : admin_key_hash_(std::move(admin_key_hash)) {}
  Result<Principal> authenticate(storage::Db& db, std::string_view bearer) const;

 private:
  std::string admin_key_hash_;
};

// Tenant keys look like nrb_<tenant part>_<secret>: the tenant part routes the lookup to the
// tenant's own rows (tenant-leading index), the secret is 40 random base62 characters.
struct IssuedKey {
  std::string secret;
  std::string hash;
  std::string prefix;
};
IssuedKey issue_key_secret(const TenantId& tenant);
std::optional<TenantId> tenant_of_key(std::string_view key);

// A key just created: its record and the secret, shown once and never stored.
struct CreatedApiKey {
  storage::ApiKeyRecord record;
  std::string secret;
};

Result<storage::TenantRecord> create_tenant(storage::Tx& tx, const RequestContext& ctx,
                                            const json::Value& body);
Result<storage::TenantRecord> get_tenant(storage::Tx& tx, const TenantId& id);
Page<storage::TenantRecord> list_tenants(storage::Tx& tx, const std::string& cursor,
                                         std::size_t limit);
Result<storage::TenantRecord> update_tenant(storage::Tx& tx, const RequestContext& ctx,
                                            const TenantId& id, const json::Value& body);

Result<CreatedApiKey> create_api_key(storage::Tx& tx, const RequestContext& ctx,
                                     const TenantId& tenant, const json::Value& body);
Result<storage::ApiKeyRecord> revoke_api_key(storage::Tx& tx, const RequestContext& ctx,
                                             const TenantId& tenant, const ApiKeyId& id);
Result<Page<storage::ApiKeyRecord>> list_api_keys(storage::Tx& tx, const TenantId& tenant,
                                                  const std::string& cursor, std::size_t limit);

// Records a platform admin's read of tenant data, with its justification, in that tenant's trail.
Status record_admin_read(storage::Tx& tx, const RequestContext& ctx, const std::string& method,
                         const std::string& path);

// The documents the audit trail records for tenants and keys (its before/after states).
json::Value tenant_document(const storage::TenantRecord& tenant);
json::Value api_key_document(const storage::ApiKeyRecord& key);

}  // namespace neruba::services::platform
