#include "services/platform.hpp"

#include "common/crypto.hpp"
#include "common/limits.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/page.hpp"
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

json::Value key_json(const storage::ApiKeyRecord& key) {
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

Error unknown_tenant() { return Error::not_found("The tenant"); }

}  // namespace

json::Value tenant_json(const storage::TenantRecord& tenant) {
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(tenant.id.str()));
  out.set("name", json::Value::string(tenant.name));
  out.set("currency", json::Value::string(tenant.currency));
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

Result<Reply> create_tenant(storage::Tx& tx, const RequestContext& ctx, const json::Value& body,
                            TenantId id) {
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
  storage::TenantRecord tenant{std::move(id),
                               *name,
                               currency.value_or("USD"),
                               timezone.value_or("UTC"),
                               std::move(tenant_settings),
                               ctx.now};
  if (!storage::tenants::insert(tx, tenant)) {
    return Error::make(ErrorCode::already_exists, "A tenant with this id already exists.");
  }
  json::Value representation = tenant_json(tenant);
  audit::append(tx, ctx, tenant.id,
                {"tenant.created", tenant.id.str(), std::nullopt, representation, {}, {}});
  return Reply{201, std::move(representation)};
}

Result<Reply> get_tenant(storage::Tx& tx, const TenantId& id) {
  const auto tenant = storage::tenants::find(tx, id);
  if (!tenant) return unknown_tenant();
  return Reply{200, tenant_json(*tenant)};
}

Result<Reply> list_tenants(storage::Tx& tx, const std::string& cursor, std::size_t limit) {
  return page_reply(storage::tenants::list(tx, cursor, limit + 1), limit, tenant_json,
                    [](const storage::TenantRecord& tenant) { return tenant.id.str(); });
}

Result<Reply> update_tenant(storage::Tx& tx, const RequestContext& ctx, const TenantId& id,
                            const json::Value& body) {
  auto tenant = storage::tenants::find(tx, id);
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
  const json::Value before = tenant_json(*tenant);
  if (name) tenant->name = *name;
  if (new_settings) tenant->settings = std::move(*new_settings);
  json::Value after = tenant_json(*tenant);
  if (after == before) return Reply{200, std::move(after)};  // nothing changed, nothing to record
  storage::tenants::update(tx, *tenant);
  audit::append(tx, ctx, id, {"tenant.updated", id.str(), before, after, {}, {}});
  return Reply{200, std::move(after)};
}

Result<Reply> get_settings(storage::Tx& tx, const TenantId& id) {
  const auto tenant = storage::tenants::find(tx, id);
  if (!tenant) return unknown_tenant();
  json::Value out = json::Value::object();
  out.set("tenant", json::Value::string(id.str()));
  out.set("settings", tenant->settings);
  return Reply{200, std::move(out)};
}

Result<Reply> create_api_key(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant,
                             const json::Value& body, ApiKeyId id) {
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
  storage::ApiKeyRecord key{tenant,      std::move(id), *name,   unique_scopes,
                            issued.hash, issued.prefix, ctx.now, std::nullopt};
  storage::api_keys::insert(tx, key);
  json::Value representation = key_json(key);
  audit::append(tx, ctx, tenant,
                {"api_key.created", key.id.str(), std::nullopt, representation, {}, {}});
  json::Value replay = representation;
  representation.set("key", json::Value::string(issued.secret));  // shown once, never stored
  return Reply{201, std::move(representation), std::move(replay)};
}

Result<Reply> revoke_api_key(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant,
                             const ApiKeyId& id) {
  auto key = storage::api_keys::find(tx, tenant, id);
  if (!key) return Error::not_found("The API key");
  if (key->revoked_at) return Reply{200, key_json(*key)};  // revoking twice changes nothing
  const json::Value before = key_json(*key);
  storage::api_keys::revoke(tx, tenant, id, ctx.now);
  key->revoked_at = ctx.now;
  json::Value after = key_json(*key);
  audit::append(tx, ctx, tenant, {"api_key.revoked", id.str(), before, after, {}, {}});
  return Reply{200, std::move(after)};
}

Result<Reply> list_api_keys(storage::Tx& tx, const TenantId& tenant, const std::string& cursor,
                            std::size_t limit) {
  if (!storage::tenants::find(tx, tenant)) return unknown_tenant();
  return page_reply(storage::api_keys::list(tx, tenant, cursor, limit + 1), limit, key_json,
                    [](const storage::ApiKeyRecord& key) { return key.id.str(); });
}

Result<Reply> record_admin_read(storage::Tx& tx, const RequestContext& ctx,
                                const std::string& method, const std::string& path) {
  if (!storage::tenants::find(tx, ctx.principal.tenant)) return unknown_tenant();
  json::Value what = json::Value::object();
  what.set("method", json::Value::string(method));
  what.set("path", json::Value::string(path));
  audit::append(tx, ctx, ctx.principal.tenant,
                {"tenant.data_read", path, std::nullopt, what, {}, {}});
  return Reply{200, json::Value::object()};
}

}  // namespace neruba::services::platform
