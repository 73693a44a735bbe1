// Tenants, settings and API keys.
#include "http/views/views.hpp"

namespace neruba::http::views {

// A tenant and a key show as the audit trail records them (services::platform's documents).
json::Value tenant(const storage::TenantRecord& tenant) {
  return services::platform::tenant_document(tenant);
}

json::Value settings(const storage::TenantRecord& tenant) {
  json::Value out = json::Value::object();
  out.set("tenant", json::Value::string(tenant.id.str()));
  out.set("settings", tenant.settings);
  return out;
}

json::Value api_key(const storage::ApiKeyRecord& key) {
  return services::platform::api_key_document(key);
}

Rendered created_api_key(const services::platform::CreatedApiKey& created) {
  json::Value shown = api_key(created.record);
  json::Value replay = shown;
  shown.set("key", json::Value::string(created.secret));  // shown once, never stored
  return Rendered{201, std::move(shown), std::move(replay)};
}

}  // namespace neruba::http::views
