#include "support/test_api.hpp"

#include "common/crypto.hpp"
#include "domain/time.hpp"

namespace neruba::test {

const std::string* TestResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return &value;
    }
  }
  return nullptr;
}

std::string TestResponse::field(std::string_view key) const {
  if (!json.is_object()) return "";
  const auto* value = json.find(key);
  return value == nullptr ? "" : value->text();
}

std::string SequentialIds::next(std::string_view prefix) {
  std::string digits = std::to_string(++next_);
  return std::string(prefix) + std::string(24 - std::min<std::size_t>(24, digits.size()), '0') +
         digits;
}

TestApi::TestApi(Backend backend, std::unique_ptr<IdGenerator> ids)
    : database_(backend),
      faults_(database_.db()),
      clock_(*domain::parse_rfc3339("2026-01-05T10:00:00Z")),
      ids_(ids ? std::move(ids) : make_random_id_generator()),
      api_(std::make_unique<http::Api>(faults_, clock_, *ids_,
                                       crypto::sha256_hex(test_admin_key))) {}

TestResponse TestApi::call(const std::string& method, const std::string& target,
                           const std::string& bearer, const std::string& body,
                           std::vector<std::pair<std::string, std::string>> headers) {
  http::Request request;
  request.method = method;
  request.target = target;
  request.body = body;
  if (!bearer.empty()) request.headers["authorization"] = "Bearer " + bearer;
  if (!body.empty()) request.headers["content-type"] = "application/json";
  for (auto& [name, value] : headers) {
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[lower] = value;
  }
  const http::Response response = api_->handle(request);
  TestResponse out;
  out.status = response.status;
  out.headers = response.headers;
  out.headers.emplace_back("Content-Type", response.content_type);
  out.body = response.body;
  if (auto parsed = json::parse(response.body)) out.json = std::move(parsed).value();
  return out;
}

TestTenant TestApi::create_tenant(const std::string& name, const std::string& scopes) {
  const auto tenant =
      post("/v1/tenants", test_admin_key, R"({"name":")" + name + R"(","currency":"USD"})");
  if (tenant.status != 201) throw std::runtime_error("create tenant failed: " + tenant.body);
  TestTenant out;
  out.id = tenant.field("id");
  out.key = create_key(out.id, scopes);
  return out;
}

std::string TestApi::create_key(const std::string& tenant_id, const std::string& scopes) {
  const auto key = post("/v1/tenants/" + tenant_id + "/api-keys", test_admin_key,
                        R"({"name":"test key","scopes":)" + scopes + "}");
  if (key.status != 201) throw std::runtime_error("create key failed: " + key.body);
  return key.field("key");
}

}  // namespace neruba::test
