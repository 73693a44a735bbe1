#include "services/platform.hpp"

#include "common/assert.hpp"
#include "common/crypto.hpp"
#include "common/limits.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/settings.hpp"
#include "services/validation.hpp"

namespace neruba::services::platform {
namespace {

constexpr std::string_view key_prefix = "nrb_";
constexpr std::size_t key_secret_length = 40;

json::Value string_array(const std::vector<std::string>& items) {
  json::Value out = json::Value::array();
  for (const auto& item : items) out.push_back(json::Value::string(item));
  return out;
}

}  // namespace

json::Value api_key_document(const storage::ApiKeyRecord& key) {
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(key.id.str()));
  out.set("tenant", json::Value::string(key.tenant.str()));
  out.set("name", json::Value::string(key.name));
  out.set("scopes", string_array(key.scopes));
  out.set("prefix", json::Value::string(key.key_prefix));
  out.set("created_at", json::Value::string(domain::format_rfc3339(key.created_at)));
  out.set("revoked_at", key.revoked_at
                            ? json::Value::string(domain::format_rfc3339(*key.revoked_at))
                            : json::Value::null());
  return out;
}

namespace {

Error unknown_tenant() { return Error::not_found("The tenant"); }

}  // namespace

json::Value tenant_document(const storage::TenantRecord& tenant) {
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(tenant.id.str()));
  out.set("name", json::Value::string(tenant.name));
  out.set("currency", json::Value::string(tenant.currency.code()));
  out.set("timezone", json::Value::string(tenant.timezone));
  out.set("settings", tenant.settings);
  out.set("created_at", json::Value::string(domain::format_rfc3339(tenant.created_at)));
  return out;
}

IssuedKey issue_key_secret(const TenantId& tenant) {
  const std::string tenant_part = tenant.str().substr(id_prefix::tenant.size());
  IssuedKey key;
  key.secret =
      std::string(key_prefix) + tenant_part + "_" + crypto::random_token(key_secret_length);
  key.hash = crypto::sha256_hex(key.secret);
  key.prefix = key.secret.substr(0, key_prefix.size() + tenant_part.size() + 5);
  return key;
}

std::optional<TenantId> tenant_of_key(std::string_view key) {
  if (key.substr(0, key_prefix.size()) != key_prefix) return std::nullopt;
  const auto rest = key.substr(key_prefix.size());
  const auto separator = rest.find('_');
  if (separator == std::string_view::npos || separator == 0 || separator > 64) return std::nullopt;
  return TenantId(std::string(id_prefix::tenant) + std::string(rest.substr(0, separator)));
}

Result<Principal> Authenticator::authenticate(storage::Db& db, std::string_view bearer) const {
  const auto hash = crypto::sha256_hex(bearer);
  if (crypto::constant_time_equal(hash, admin_key_hash_)) {
    Principal admin;
    admin.kind = Principal::Kind::admin;
    return admin;
  }
  const auto unauthenticated =
      Error::make(ErrorCode::unauthenticated, "The API key is invalid or revoked.");
  const auto tenant = tenant_of_key(bearer);
  if (!tenant) return unauthenticated;
  auto tx = db.begin(storage::TxMode::read);
  const auto key = storage::api_keys::find_by_hash(*tx, *tenant, hash);
  if (!key || key->revoked_at) return unauthenticated;
  Principal principal;
  principal.kind = Principal::Kind::api_key;
  principal.tenant = key->tenant;
  principal.key_id = key->id;
  principal.key_name = key->name;
  principal.scopes = key->scopes;
  return principal;
}

Result<storage::TenantRecord> create_tenant(storage::Tx& tx, const RequestContext& ctx,
                                            const json::Value& body) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto name = reader.required_string("name", limits::name_length_max);
  const auto currency = read_currency(reader, "currency", false);
  const auto timezone = read_timezone(reader, "timezone", false);
  json::Value tenant_settings = settings::defaults();
  if (const json::Value* patch = reader.get("settings")) {
    auto merged = settings::merge(tenant_settings, *patch, "settings.");
    if (!merged) {
      for (auto& error : merged.take_error().errors) errors.push_back(std::move(error));
    } else {
      tenant_settings = std::move(merged).value();
    }
  }
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  storage::TenantRecord tenant{TenantId(ctx.new_id(id_prefix::tenant)),
                               *name,
                               currency.value_or(*domain::Currency::of("USD")),
                               timezone.value_or("UTC"),
                               std::move(tenant_settings),
                               ctx.now};
  if (!storage::tenants::insert(tx, tenant)) {
    return Error::make(ErrorCode::already_exists, "A tenant with this id already exists.");
  }
  audit::append(tx, ctx, tenant.id,
                {"tenant.created", tenant.id.str(), std::nullopt, tenant_document(tenant), {}, {}});
  return tenant;
}

Result<storage::TenantRecord> get_tenant(storage::Tx& tx, const TenantId& id) {
  auto tenant = storage::tenants::find(tx, id);
  if (!tenant) return unknown_tenant();
  return std::move(*tenant);
}

Page<storage::TenantRecord> list_tenants(storage::Tx& tx, const std::string& cursor,
                                         std::size_t limit) {
  return page_of(storage::tenants::list(tx, cursor, limit + 1), limit,
                 [](const storage::TenantRecord& tenant) { return tenant.id.str(); });
}

Result<storage::TenantRecord> update_tenant(storage::Tx& tx, const RequestContext& ctx,
                                            const TenantId& id, const json::Value& body) {
  // Locked until the transaction ends: two concurrent changes of different settings both land,
  // neither computed from a state the other overwrote.
  auto tenant = storage::tenants::find_for_update(tx, id);
  if (!tenant) return unknown_tenant();
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto name = reader.optional_string("name", limits::name_length_max);
  if (name && name->empty()) reader.add_error("name", "invalid_value", "must not be empty");
  std::optional<json::Value> new_settings;
  if (const json::Value* patch = reader.get("settings")) {
    auto merged = settings::merge(tenant->settings, *patch, "settings.");
    if (!merged) {
      for (auto& error : merged.take_error().errors) errors.push_back(std::move(error));
    } else {
      new_settings = std::move(merged).value();
    }
  }
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  json::Value before = tenant_document(*tenant);
  if (name) tenant->name = *name;
  if (new_settings) tenant->settings = std::move(*new_settings);
  json::Value after = tenant_document(*tenant);
  if (after == before) return std::move(*tenant);  // nothing changed, nothing to record
  NERUBA_ASSERT_MSG(storage::tenants::update(tx, *tenant), "a tenant locked for update vanished");
  audit::append(tx, ctx, id,
                {"tenant.updated", id.str(), std::move(before), std::move(after), {}, {}});
  return std::move(*tenant);
}

Result<CreatedApiKey> create_api_key(storage::Tx& tx, const RequestContext& ctx,
                                     const TenantId& tenant, const json::Value& body) {
  if (!storage::tenants::find(tx, tenant)) return unknown_tenant();
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto name = reader.required_string("name", limits::name_length_max);
  const auto scopes = reader.required_string_array("scopes", all_scopes());
  if (scopes && scopes->empty())
    reader.add_error("scopes", "invalid_value", "must name at least one scope");
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  std::vector<std::string> unique_scopes;
  for (const auto& scope : *scopes) {
    if (std::find(unique_scopes.begin(), unique_scopes.end(), scope) == unique_scopes.end()) {
      unique_scopes.push_back(scope);
    }
  }
  const IssuedKey issued = issue_key_secret(tenant);
  storage::ApiKeyRecord key{tenant,      ApiKeyId(ctx.new_id(id_prefix::api_key)),
                            *name,       unique_scopes,
                            issued.hash, issued.prefix,
                            ctx.now,     std::nullopt};
  if (!storage::api_keys::insert(tx, key)) {
    // Fresh random id and secret: a collision is not something a request can cause.
    return Error::make(ErrorCode::conflict, "The key could not be issued; retry.");
  }
  audit::append(tx, ctx, tenant,
                {"api_key.created", key.id.str(), std::nullopt, api_key_document(key), {}, {}});
  return CreatedApiKey{std::move(key), issued.secret};
}

Result<storage::ApiKeyRecord> revoke_api_key(storage::Tx& tx, const RequestContext& ctx,
                                             const TenantId& tenant, const ApiKeyId& id) {
  auto key = storage::api_keys::find(tx, tenant, id);
  if (!key) return Error::not_found("The API key");
  if (key->revoked_at) return std::move(*key);  // revoking twice changes nothing
  json::Value before = api_key_document(*key);
  if (!storage::api_keys::revoke(tx, tenant, id, ctx.now)) {
    // A concurrent request revoked it first and recorded it: this one changed nothing.
    auto revoked = storage::api_keys::find(tx, tenant, id);
    NERUBA_ASSERT_MSG(revoked && revoked->revoked_at, "a key that refused revocation is live");
    return std::move(*revoked);
  }
  key->revoked_at = ctx.now;
  audit::append(tx, ctx, tenant,
                {"api_key.revoked", id.str(), std::move(before), api_key_document(*key), {}, {}});
  return std::move(*key);
}

Result<Page<storage::ApiKeyRecord>> list_api_keys(storage::Tx& tx, const TenantId& tenant,
                                                  const std::string& cursor, std::size_t limit) {
  if (!storage::tenants::find(tx, tenant)) return unknown_tenant();
  return page_of(storage::api_keys::list(tx, tenant, cursor, limit + 1), limit,
                 [](const storage::ApiKeyRecord& key) { return key.id.str(); });
}

Status record_admin_read(storage::Tx& tx, const RequestContext& ctx, const std::string& method,
                         const std::string& path) {
  if (!storage::tenants::find(tx, ctx.principal.tenant)) return unknown_tenant();
  json::Value what = json::Value::object();
  what.set("method", json::Value::string(method));
  what.set("path", json::Value::string(path));
  audit::append(tx, ctx, ctx.principal.tenant,
                {"tenant.data_read", path, std::nullopt, std::move(what), {}, {}});
  return ok_status();
}

}  // namespace neruba::services::platform
