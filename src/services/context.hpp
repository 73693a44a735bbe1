#pragma once
// Who is asking, for which tenant, and when. Built by the HTTP edge from the credential alone
// (never from the body) and passed to every use case.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "json/json.hpp"

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
  std::string key_name;
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
};

// What a use case answers: the status and the JSON document of a success.
struct Reply {
  int status = 200;
  json::Value body;
  // What an Idempotency-Key replay answers, when it must differ from the first response: a
  // secret is shown once and never stored, so its replay omits it.
  std::optional<json::Value> replay_body;
};

}  // namespace neruba::services
