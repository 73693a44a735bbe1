// GET /healthz, /readyz, /metrics: public, no credential.
#include "http/routes.hpp"

namespace neruba::http {
namespace {

Result<Rendered> health(Call&) {
  json::Value body = json::Value::object();
  body.set("status", json::Value::string("ok"));
  return ok(std::move(body));
}

Result<Rendered> ready(Call& call) {
  if (!call.api.db().ping()) {
    return Error::make(ErrorCode::unavailable, "The database is not reachable.");
  }
  json::Value body = json::Value::object();
  body.set("status", json::Value::string("ready"));
  return ok(std::move(body));
}

Result<Rendered> metrics(Call& call) {
  Response response;
  response.content_type = "text/plain; version=0.0.4";
  response.body = call.api.metrics().render();
  response.body += render_ingest(call.api.ingest().pipeline().stats());
  call.raw_response = std::move(response);
  return ok(json::Value());
}

}  // namespace

void add_health_routes(std::vector<Route>& table) {
  table.push_back({"GET", "/healthz", Access::public_, {}, health});
  table.push_back({"GET", "/readyz", Access::public_, {}, ready});
  table.push_back({"GET", "/metrics", Access::public_, {}, metrics});
}

}  // namespace neruba::http
