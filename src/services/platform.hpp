#pragma once
// Tenants, API keys, tenant settings and authentication: the platform surface of API.md.
#include <optional>
#include <string>

#include "common/error.hpp"
#include "services/context.hpp"
#include "storage/db.hpp"
#include "storage/repositories.hpp"

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

Result<Reply> create_tenant(storage::Tx& tx, const RequestContext& ctx, const json::Value& body,
                            TenantId id);
Result<Reply> get_tenant(storage::Tx& tx, const TenantId& id);
Result<Reply> list_tenants(storage::Tx& tx, const std::string& cursor, std::size_t limit);
Result<Reply> update_tenant(storage::Tx& tx, const RequestContext& ctx, const TenantId& id,
                            const json::Value& body);
Result<Reply> get_settings(storage::Tx& tx, const TenantId& id);

Result<Reply> create_api_key(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant,
                             const json::Value& body, ApiKeyId id);
Result<Reply> revoke_api_key(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant,
                             const ApiKeyId& id);
Result<Reply> list_api_keys(storage::Tx& tx, const TenantId& tenant, const std::string& cursor,
                            std::size_t limit);

// Records a platform admin's read of tenant data, with its justification, in that tenant's trail.
Result<Reply> record_admin_read(storage::Tx& tx, const RequestContext& ctx,
                                const std::string& method, const std::string& path);

json::Value tenant_json(const storage::TenantRecord& tenant);

}  // namespace neruba::services::platform
