#include "http/routes.hpp"

#include "common/limits.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/customers.hpp"
#include "services/platform.hpp"
#include "services/settings.hpp"
#include "services/usage.hpp"
#include "storage/repositories.hpp"

namespace neruba::http {
namespace {

using services::Reply;
namespace scope = services::scope;

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

Result<Reply> health(Call&) {
  json::Value body = json::Value::object();
  body.set("status", json::Value::string("ok"));
  return Reply{200, std::move(body)};
}

Result<Reply> ready(Call& call) {
  if (!call.api.db().ping())
    return Error::make(ErrorCode::unavailable, "The database is not reachable.");
  json::Value body = json::Value::object();
  body.set("status", json::Value::string("ready"));
  return Reply{200, std::move(body)};
}

Result<Reply> metrics(Call& call) {
  Response response;
  response.content_type = "text/plain; version=0.0.4";
  response.body = call.api.metrics().render();
  response.body += render_ingest(call.api.pipeline().stats());
  call.raw_response = std::move(response);
  return Reply{};
}

Result<Reply> create_tenant(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const TenantId id(call.api.ids().next(id_prefix::tenant));
  return call.write(
      [&](storage::Tx& tx) { return services::platform::create_tenant(tx, call.ctx, *body, id); });
}

Result<Reply> list_tenants(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  return call.read([&](storage::Tx& tx) {
    return services::platform::list_tenants(tx, page->cursor, page->limit);
  });
}

Result<Reply> get_tenant(Call& call) {
  const TenantId id(call.param("tenant_id"));
  return call.read([&](storage::Tx& tx) { return services::platform::get_tenant(tx, id); });
}

Result<Reply> update_tenant(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const TenantId id(call.param("tenant_id"));
  return call.write(
      [&](storage::Tx& tx) { return services::platform::update_tenant(tx, call.ctx, id, *body); });
}

Result<Reply> create_api_key(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const TenantId tenant(call.param("tenant_id"));
  const ApiKeyId id(call.api.ids().next(id_prefix::api_key));
  return call.write([&](storage::Tx& tx) {
    return services::platform::create_api_key(tx, call.ctx, tenant, *body, id);
  });
}

Result<Reply> list_api_keys(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  const TenantId tenant(call.param("tenant_id"));
  return call.read([&](storage::Tx& tx) {
    return services::platform::list_api_keys(tx, tenant, page->cursor, page->limit);
  });
}

Result<Reply> revoke_api_key(Call& call) {
  const TenantId tenant(call.param("tenant_id"));
  const ApiKeyId id(call.param("key_id"));
  return call.write([&](storage::Tx& tx) {
    return services::platform::revoke_api_key(tx, call.ctx, tenant, id);
  });
}

Result<Reply> get_settings(Call& call) {
  return call.read([&](storage::Tx& tx) {
    return services::platform::get_settings(tx, call.ctx.principal.tenant);
  });
}

Result<Reply> create_customer(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const CustomerId id(call.api.ids().next(id_prefix::customer));
  return call.write(
      [&](storage::Tx& tx) { return services::customers::create(tx, call.ctx, *body, id); });
}

Result<Reply> get_customer(Call& call) {
  const std::string external_id = call.param("external_id");
  return call.read(
      [&](storage::Tx& tx) { return services::customers::get(tx, call.ctx, external_id); });
}

Result<Reply> list_customers(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  return call.read([&](storage::Tx& tx) {
    return services::customers::list(tx, call.ctx, page->cursor, page->limit);
  });
}

Result<std::optional<Instant>> instant_query(const Call& call, const std::string& name) {
  const std::string* text = call.query(name);
  if (text == nullptr) return std::optional<Instant>();
  const auto instant = domain::parse_rfc3339(*text);
  if (!instant) {
    return Error::invalid({FieldError{name, "invalid_value", "must be an RFC 3339 instant", {}}});
  }
  return std::optional<Instant>(*instant);
}

Result<Reply> list_audit(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  storage::AuditFilter filter;
  filter.limit = page->limit;
  if (!page->cursor.empty()) {
    try {
      filter.after_seq = std::stoll(page->cursor);
    } catch (const std::exception&) {
      return Error::invalid(
          {FieldError{"cursor", "invalid_value", "is not a cursor this API returned", {}}});
    }
  }
  auto from = instant_query(call, "from");
  if (!from) return from.take_error();
  auto to = instant_query(call, "to");
  if (!to) return to.take_error();
  filter.from = from.value();
  filter.to = to.value();
  if (const auto* actor = call.query("actor")) filter.actor = *actor;
  if (const auto* action = call.query("action")) filter.action = *action;
  if (const auto* target = call.query("target")) filter.target = *target;
  return call.read([&](storage::Tx& tx) { return services::audit::list(tx, call.ctx, filter); });
}

Result<Reply> verify_audit(Call& call) {
  return call.read([&](storage::Tx& tx) {
    return Result<Reply>(Reply{
        200, services::audit::to_json(services::audit::verify(tx, call.ctx.principal.tenant))});
  });
}

// Reads the ingest settings and rate of the tenant (one indexed row).
struct TenantIngestConfig {
  services::ingest::IngestSettings settings;
  std::int64_t events_per_second = 0;
  std::int64_t burst = 0;
};

Result<TenantIngestConfig> ingest_config(Call& call) {
  auto tx = call.api.db().begin(storage::TxMode::read);
  const auto tenant = storage::tenants::find(*tx, call.ctx.principal.tenant);
  if (!tenant) return Error::not_found("The tenant");
  const auto integer = [&](std::string_view name, std::int64_t fallback) {
    const json::Value* value = tenant->settings.find(name);
    return value ? value->as_int64().value_or(fallback) : fallback;
  };
  TenantIngestConfig config;
  config.settings.late_event_window_days =
      integer("late_event_window_days", limits::late_event_window_days_default);
  config.settings.future_event_skew_seconds =
      integer("future_event_skew_seconds", limits::future_event_skew_seconds_default);
  const json::Value* auto_create = tenant->settings.find("auto_create_customers");
  config.settings.auto_create_customers =
      auto_create != nullptr && auto_create->is_bool() && auto_create->as_bool();
  config.events_per_second =
      integer("ingest_events_per_second", services::settings::ingest_events_per_second_default);
  config.burst = integer("ingest_burst", services::settings::ingest_burst_default);
  return config;
}

Result<Reply> ingest_events(Call& call) {
  if (call.request.body.empty())
    return Error::make(ErrorCode::malformed_request, "The request needs a JSON body.");
  auto config = ingest_config(call);
  if (!config) return config.take_error();
  auto batch = services::ingest::parse_batch(call.request.body, config->settings, call.ctx.now);
  if (!batch) return batch.take_error();
  const TenantId& tenant = call.ctx.principal.tenant;
  // Backpressure before any work is queued: the tenant's in-flight budget (taken here, given back
  // if the batch goes no further), then its own rate — so a refusal for either takes nothing.
  auto reservation = call.api.pipeline().reserve(tenant, batch->size);
  if (!reservation) {
    Error error = Error::make(ErrorCode::rate_limited,
                              "Too many of the tenant's events are waiting to be written.");
    error.retry_after_seconds = 1;
    return error;
  }
  if (const auto wait =
          call.api.rate_limiter().admit(tenant, static_cast<std::int64_t>(batch->size),
                                        config->events_per_second, config->burst)) {
    Error error =
        Error::make(ErrorCode::rate_limited, "The tenant's ingest rate limit of " +
                                                 std::to_string(config->events_per_second) +
                                                 " events per second is exhausted; retry later.");
    error.retry_after_seconds = *wait;
    return error;
  }
  auto job = std::make_unique<services::ingest::Pipeline::Job>();
  job->ctx = call.ctx;
  job->settings = config->settings;
  job->batch = std::move(batch).value();
  job->claim = call.claim;
  call.api.pipeline().plan(*job);
  return call.api.pipeline().submit(std::move(job), std::move(*reservation)).get();
}

Result<Reply> create_meter(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  std::string id = call.api.ids().next("mtr_");
  return call.write(
      [&](storage::Tx& tx) { return services::usage::create_meter(tx, call.ctx, *body, id); });
}

Result<Reply> list_meters(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  return call.read([&](storage::Tx& tx) {
    return services::usage::list_meters(tx, call.ctx, page->cursor, page->limit);
  });
}

Result<Reply> get_meter(Call& call) {
  const std::string code = call.param("code");
  return call.read([&](storage::Tx& tx) { return services::usage::get_meter(tx, call.ctx, code); });
}

Result<Reply> customer_usage(Call& call) {
  auto from = instant_query(call, "from");
  if (!from) return from.take_error();
  auto to = instant_query(call, "to");
  if (!to) return to.take_error();
  std::vector<FieldError> errors;
  if (!from.value()) errors.push_back(FieldError{"from", "required", "is required (RFC 3339)", {}});
  if (!to.value()) errors.push_back(FieldError{"to", "required", "is required (RFC 3339)", {}});
  if (errors.empty() && *to.value() < *from.value()) {
    errors.push_back(FieldError{"to", "invalid_value", "must not be before from", {}});
  }
  if (!errors.empty()) return Error::invalid(std::move(errors));
  const std::string external_id = call.param("external_id");
  return call.read([&](storage::Tx& tx) {
    return services::usage::customer_usage(tx, call.ctx, external_id, *from.value(), *to.value());
  });
}

}  // namespace

const std::string* Call::query(const std::string& name) const {
  const auto it = target.query.find(name);
  return it == target.query.end() ? nullptr : &it->second;
}

Result<json::Value> Call::body() const {
  if (request.body.empty())
    return Error::make(ErrorCode::malformed_request, "The request needs a JSON body.");
  return json::parse_object_body(request.body);
}

Result<Page> Call::page() const {
  Page page;
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

Result<Reply> Call::write(const std::function<Result<Reply>(storage::Tx&)>& work) {
  return services::execute_write(api.db(), claim, work);
}

Result<Reply> Call::read(const std::function<Result<Reply>(storage::Tx&)>& work) {
  return services::execute_read(api.db(), work);
}

const std::vector<Route>& routes() {
  static const std::vector<Route> table = {
      {"GET", "/healthz", Access::public_, {}, health},
      {"GET", "/readyz", Access::public_, {}, ready},
      {"GET", "/metrics", Access::public_, {}, metrics},
      {"POST", "/v1/tenants", Access::admin, {}, create_tenant},
      {"GET", "/v1/tenants", Access::admin, {}, list_tenants},
      {"GET", "/v1/tenants/{tenant_id}", Access::admin, {}, get_tenant},
      {"PATCH", "/v1/tenants/{tenant_id}", Access::admin, {}, update_tenant},
      {"POST", "/v1/tenants/{tenant_id}/api-keys", Access::admin, {}, create_api_key},
      {"GET", "/v1/tenants/{tenant_id}/api-keys", Access::admin, {}, list_api_keys},
      {"DELETE", "/v1/tenants/{tenant_id}/api-keys/{key_id}", Access::admin, {}, revoke_api_key},
      {"GET", "/v1/settings", Access::tenant, {scope::write}, get_settings},
      {"POST", "/v1/customers", Access::tenant, {scope::write}, create_customer},
      {"GET", "/v1/customers", Access::tenant, {scope::read, scope::write}, list_customers},
      {"GET",
       "/v1/customers/{external_id}",
       Access::tenant,
       {scope::read, scope::write},
       get_customer},
      {"POST", "/v1/events", Access::tenant, {scope::ingest}, ingest_events},
      {"POST", "/v1/meters", Access::tenant, {scope::write}, create_meter},
      {"GET", "/v1/meters", Access::tenant, {scope::read, scope::write}, list_meters},
      {"GET", "/v1/meters/{code}", Access::tenant, {scope::read, scope::write}, get_meter},
      {"GET", "/v1/customers/{external_id}/usage", Access::tenant, {scope::read}, customer_usage},
      {"GET", "/v1/audit", Access::tenant, {scope::read, scope::operator_}, list_audit},
      {"GET", "/v1/audit/verify", Access::tenant, {scope::read, scope::operator_}, verify_audit},
  };
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
