#pragma once
// A tenant's API keys: hashed secrets with scopes, revocable.
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct ApiKeyRecord {
  TenantId tenant;
  ApiKeyId id;
  std::string name;
  std::vector<std::string> scopes;
  std::string key_hash;    // SHA-256 hex of the whole secret key
  std::string key_prefix;  // first characters of the key, to recognise it in listings
  Instant created_at;
  std::optional<Instant> revoked_at;
};

namespace api_keys {
// False when the id or the hash is taken.
[[nodiscard]] bool insert(Tx& tx, const ApiKeyRecord& key);
std::optional<ApiKeyRecord> find_by_hash(Tx& tx, const TenantId& tenant,
                                         const std::string& key_hash);
std::optional<ApiKeyRecord> find(Tx& tx, const TenantId& tenant, const ApiKeyId& id);
std::vector<ApiKeyRecord> list(Tx& tx, const TenantId& tenant, const std::string& after_id,
                               std::size_t limit);
// Revokes a key not yet revoked. False when it was revoked already (or does not exist): then
// nothing changed, and whoever revoked it first recorded it.
[[nodiscard]] bool revoke(Tx& tx, const TenantId& tenant, const ApiKeyId& id, Instant at);
}  // namespace api_keys

}  // namespace neruba::storage
