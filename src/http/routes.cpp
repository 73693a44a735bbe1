#include "http/routes.hpp"

#include "common/limits.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"

namespace neruba::http {
namespace {

std::vector<std::string> split_template(std::string_view name) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= name.size()) {
    const auto end = name.find('/', start);
    out.emplace_back(
        name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

bool match_segments(const std::vector<std::string>& pattern,
                    const std::vector<std::string>& segments,
                    std::map<std::string, std::string>& params) {
  if (pattern.size() != segments.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::string& part = pattern[i];
    if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
      if (segments[i].empty()) return false;
      params[part.substr(1, part.size() - 2)] = segments[i];
    } else if (part != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

services::StoredResponse stored_response(const Rendered& rendered) {
  return services::StoredResponse{
      rendered.status,
      json::serialize(rendered.replay_body ? *rendered.replay_body : rendered.body)};
}

const std::string* Call::query(const std::string& name) const {
  const auto it = target.query.find(name);
  return it == target.query.end() ? nullptr : &it->second;
}

Result<json::Value> Call::body() const {
  if (request.body.empty())
    return Error::make(ErrorCode::malformed_request, "The request needs a JSON body.");
  return json::parse_object_body(request.body);
}

Result<PageRequest> Call::page() const {
  PageRequest page;
  page.limit = limits::page_size_default;
  if (const auto* limit = query("limit")) {
    std::size_t parsed = 0;
    bool valid = !limit->empty() && limit->size() <= 4;
    for (const char c : *limit) {
      valid = valid && c >= '0' && c <= '9';
      if (valid) parsed = parsed * 10 + static_cast<std::size_t>(c - '0');
    }
    if (!valid || parsed < 1 || parsed > limits::page_size_max) {
      return Error::invalid(
          {FieldError{"limit",
                      "out_of_range",
                      "must be an integer from 1 to " + std::to_string(limits::page_size_max),
                      {}}});
    }
    page.limit = parsed;
  }
  if (const auto* cursor = query("cursor")) page.cursor = *cursor;
  return page;
}

Result<std::optional<Instant>> Call::instant_query(const std::string& name) const {
  const std::string* text = query(name);
  if (text == nullptr) return std::optional<Instant>();
  const auto instant = domain::parse_rfc3339(*text);
  if (!instant) {
    return Error::invalid({FieldError{name, "invalid_value", "must be an RFC 3339 instant", {}}});
  }
  return std::optional<Instant>(*instant);
}

const std::vector<Route>& routes() {
  static const std::vector<Route> table = [] {
    std::vector<Route> all;
    add_health_routes(all);
    add_platform_routes(all);
    add_customer_routes(all);
    add_usage_routes(all);
    add_catalog_routes(all);
    add_subscription_routes(all);
    add_billing_routes(all);
    add_audit_routes(all);
    return all;
  }();
  return table;
}

RouteMatch match_route(const std::string& method, const std::vector<std::string>& segments) {
  static const auto patterns = [] {
    std::vector<std::vector<std::string>> out;
    for (const auto& route : routes()) out.push_back(split_template(route.name));
    return out;
  }();
  RouteMatch match;
  for (std::size_t i = 0; i < routes().size(); ++i) {
    std::map<std::string, std::string> params;
    if (!match_segments(patterns[i], segments, params)) continue;
    // A literal route ("/v1/audit/verify") wins over a placeholder one by table order.
    if (routes()[i].method == method) {
      match.route = &routes()[i];
      match.params = std::move(params);
      match.error.reset();
      match.allow.clear();
      return match;
    }
    match.allow += (match.allow.empty() ? "" : ", ") + std::string(routes()[i].method);
  }
  if (!match.allow.empty()) {
    match.error =
        Error::make(ErrorCode::method_not_allowed, "This path does not support " + method + ".");
  } else {
    match.error = Error::make(ErrorCode::not_found, "No such endpoint.");
  }
  return match;
}

}  // namespace neruba::http
