#pragma once
// The route table and what a handler sees of a request. Handlers live per resource in
// http/routes/; each parses its request, calls one use case and renders the result with a view
// (http/views). Idempotency-Key claims are taken and released here, at the edge, exactly once.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "http/api.hpp"
#include "http/views/views.hpp"
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

struct PageRequest {
  std::string cursor;
  std::size_t limit = 100;
};

using views::Rendered;

inline Rendered ok(json::Value body) { return Rendered{200, std::move(body), std::nullopt}; }
inline Rendered created(json::Value body) { return Rendered{201, std::move(body), std::nullopt}; }

// What a replay of the request's Idempotency-Key answers.
services::StoredResponse stored_response(const Rendered& rendered);

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
  Result<PageRequest> page() const;
  // An optional RFC 3339 query parameter.
  Result<std::optional<Instant>> instant_query(const std::string& name) const;

  // Runs the use case `work` (storage::Tx& → Result<T>) in a write transaction under this call's
  // Idempotency-Key, and renders its value with `view` (const T& → Rendered); the rendered
  // response is what a replay answers, stored in the same transaction.
  template <typename Work, typename View>
  Result<Rendered> write(Work&& work, View&& view) {
    using T = typename std::invoke_result_t<Work&, storage::Tx&>::value_type;
    std::optional<Rendered> rendered;
    auto outcome =
        services::execute_write<T>(api.db(), claim, std::forward<Work>(work), [&](const T& value) {
          rendered = view(value);
          return stored_response(*rendered);
        });
    if (!outcome) return outcome.take_error();
    if (!rendered) rendered = view(outcome.value());
    return std::move(*rendered);
  }

  // Runs `work` in a read transaction and renders its value.
  template <typename Work, typename View>
  Result<Rendered> read(Work&& work, View&& view) {
    using T = typename std::invoke_result_t<Work&, storage::Tx&>::value_type;
    auto outcome = services::execute_read<T>(api.db(), std::forward<Work>(work));
    if (!outcome) return outcome.take_error();
    return view(outcome.value());
  }
};

using Handler = std::function<Result<Rendered>(Call&)>;

struct Route {
  std::string_view method;
  std::string_view name;  // the path template, e.g. "/v1/customers/{external_id}"
  Access access;
  std::vector<std::string_view> scopes;  // any one suffices (Access::tenant)
  Handler handler;
};

// The routes of each resource (http/routes/*.cpp).
void add_health_routes(std::vector<Route>& table);
void add_platform_routes(std::vector<Route>& table);
void add_customer_routes(std::vector<Route>& table);
void add_usage_routes(std::vector<Route>& table);
void add_catalog_routes(std::vector<Route>& table);
void add_subscription_routes(std::vector<Route>& table);
void add_audit_routes(std::vector<Route>& table);
void add_billing_routes(std::vector<Route>& table);

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
