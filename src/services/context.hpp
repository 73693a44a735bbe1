#pragma once
// Who is asking, for which tenant, and when. Built by the HTTP edge from the credential alone
// (never from the body) and passed to every use case.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "common/assert.hpp"
#include "common/clock.hpp"
#include "common/ids.hpp"

namespace neruba::services {

namespace scope {
inline constexpr std::string_view ingest = "ingest";
inline constexpr std::string_view read = "read";
inline constexpr std::string_view write = "write";
inline constexpr std::string_view operator_ = "operator";
}  // namespace scope

inline const std::vector<std::string_view>& all_scopes() {
  static const std::vector<std::string_view> scopes = {scope::ingest, scope::read, scope::write,
                                                       scope::operator_};
  return scopes;
}

struct Principal {
  enum class Kind { admin, api_key };
  Kind kind = Kind::api_key;
  // The tenant the request acts on: the key's tenant, or for the admin the tenant named in
  // X-Neruba-Tenant (empty for platform-level requests).
  TenantId tenant;
  ApiKeyId key_id;
  std::string key_name;  // the key's; an admin's only when the platform acts by itself
  std::vector<std::string> scopes;
  std::optional<std::string> justification;  // admin reads of tenant data

  bool is_admin() const { return kind == Kind::admin; }
  bool has_scope(std::string_view wanted) const {
    return std::find(scopes.begin(), scopes.end(), wanted) != scopes.end();
  }
};

struct RequestContext {
  Principal principal;
  std::string request_id;
  Instant now;
  // Every id a use case creates comes from here (opaque, prefixed: `cus_…`, `aud_…`).
  IdGenerator* ids = nullptr;

  std::string new_id(std::string_view prefix) const {
    NERUBA_ASSERT_MSG(ids != nullptr, "a request context without an id generator");
    return ids->next(prefix);
  }
};

// The platform itself acting on a tenant, with no request behind it: `neruba bill-run`, the
// billing scheduler of `neruba serve`. Whoever runs them holds the database, as the platform
// admin does, so the audit trail names actor type `admin`, id `admin`, and `name` (instead of
// "platform admin") to tell them apart.
inline RequestContext platform_context(const TenantId& tenant, std::string name, Instant now,
                                       IdGenerator& ids) {
  RequestContext ctx;
  ctx.principal.kind = Principal::Kind::admin;
  ctx.principal.tenant = tenant;
  ctx.principal.key_name = std::move(name);
  ctx.request_id = ids.next(id_prefix::request);
  ctx.now = now;
  ctx.ids = &ids;
  return ctx;
}

}  // namespace neruba::services
