// Tenants and their API keys (the platform admin key), and a tenant's settings.
#include "services/platform.hpp"
#include "http/routes.hpp"

namespace neruba::http {
namespace {

namespace platform = services::platform;

Rendered tenant_created(const storage::TenantRecord& tenant) {
  return created(views::tenant(tenant));
}
Rendered tenant_shown(const storage::TenantRecord& tenant) { return ok(views::tenant(tenant)); }
Rendered key_shown(const storage::ApiKeyRecord& key) { return ok(views::api_key(key)); }

Result<Rendered> create_tenant(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  return call.write([&](storage::Tx& tx) { return platform::create_tenant(tx, call.ctx, *body); },
                    tenant_created);
}

Result<Rendered> list_tenants(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  return call.read(
      [&](storage::Tx& tx) {
        return Result<services::Page<storage::TenantRecord>>(
            platform::list_tenants(tx, page->cursor, page->limit));
      },
      [](const services::Page<storage::TenantRecord>& tenants) {
        return ok(views::page<storage::TenantRecord>(tenants, views::tenant));
      });
}

Result<Rendered> get_tenant(Call& call) {
  const TenantId id(call.param("tenant_id"));
  return call.read([&](storage::Tx& tx) { return platform::get_tenant(tx, id); }, tenant_shown);
}

Result<Rendered> update_tenant(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const TenantId id(call.param("tenant_id"));
  return call.write(
      [&](storage::Tx& tx) { return platform::update_tenant(tx, call.ctx, id, *body); },
      tenant_shown);
}

Result<Rendered> create_api_key(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const TenantId tenant(call.param("tenant_id"));
  return call.write(
      [&](storage::Tx& tx) { return platform::create_api_key(tx, call.ctx, tenant, *body); },
      views::created_api_key);
}

Result<Rendered> list_api_keys(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  const TenantId tenant(call.param("tenant_id"));
  return call.read(
      [&](storage::Tx& tx) {
        return platform::list_api_keys(tx, tenant, page->cursor, page->limit);
      },
      [](const services::Page<storage::ApiKeyRecord>& keys) {
        return ok(views::page<storage::ApiKeyRecord>(keys, views::api_key));
      });
}

Result<Rendered> revoke_api_key(Call& call) {
  const TenantId tenant(call.param("tenant_id"));
  const ApiKeyId id(call.param("key_id"));
  return call.write(
      [&](storage::Tx& tx) { return platform::revoke_api_key(tx, call.ctx, tenant, id); },
      key_shown);
}

Result<Rendered> get_settings(Call& call) {
  return call.read(
      [&](storage::Tx& tx) { return platform::get_tenant(tx, call.ctx.principal.tenant); },
      [](const storage::TenantRecord& tenant) { return ok(views::settings(tenant)); });
}

}  // namespace

void add_platform_routes(std::vector<Route>& table) {
  namespace scope = services::scope;
  table.push_back({"POST", "/v1/tenants", Access::admin, {}, create_tenant});
  table.push_back({"GET", "/v1/tenants", Access::admin, {}, list_tenants});
  table.push_back({"GET", "/v1/tenants/{tenant_id}", Access::admin, {}, get_tenant});
  table.push_back({"PATCH", "/v1/tenants/{tenant_id}", Access::admin, {}, update_tenant});
  table.push_back({"POST", "/v1/tenants/{tenant_id}/api-keys", Access::admin, {}, create_api_key});
  table.push_back({"GET", "/v1/tenants/{tenant_id}/api-keys", Access::admin, {}, list_api_keys});
  table.push_back(
      {"DELETE", "/v1/tenants/{tenant_id}/api-keys/{key_id}", Access::admin, {}, revoke_api_key});
  table.push_back({"GET", "/v1/settings", Access::tenant, {scope::write}, get_settings});
}

}  // namespace neruba::http
