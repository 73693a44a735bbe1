#pragma once
// The route table and the handlers behind it.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "http/api.hpp"
#include "services/idempotency.hpp"

namespace neruba::http {

enum class Access {
  public_,  // no credential (health, metrics)
  admin,    // the platform admin key only
  tenant,   // a tenant key with one of the route's scopes, or the admin reading with justification
};

struct ParsedTarget {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> params;  // from {placeholders} of the matched route
};

struct Page {
  std::string cursor;
  std::size_t limit = 100;
};

// Everything a handler sees of one request.
struct Call {
  Api& api;
  const Request& request;
  services::RequestContext& ctx;
  const ParsedTarget& target;
  std::optional<services::IdempotencyClaim> claim;
  std::optional<Response> raw_response;  // set by handlers that answer something other than JSON

  const std::string& param(const std::string& name) const { return target.params.at(name); }
  const std::string* query(const std::string& name) const;
  Result<json::Value> body() const;
  Result<Page> page() const;
  // Runs `work` in a write transaction under this call's Idempotency-Key.
  Result<services::Reply> write(const std::function<Result<services::Reply>(storage::Tx&)>& work);
  Result<services::Reply> read(const std::function<Result<services::Reply>(storage::Tx&)>& work);
};

using Handler = std::function<Result<services::Reply>(Call&)>;

struct Route {
  std::string_view method;
  std::string_view name;  // the path template, e.g. "/v1/customers/{external_id}"
  Access access;
  std::vector<std::string_view> scopes;  // any one suffices (Access::tenant)
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::optional<Error> error;  // 404 or 405
  std::string allow;           // for 405
};

const std::vector<Route>& routes();
RouteMatch match_route(const std::string& method, const std::vector<std::string>& segments);
Response dispatch_route(Api& api, const Route& route, const Request& request,
                        const ParsedTarget& target, const std::string& request_id);

}  // namespace neruba::http
