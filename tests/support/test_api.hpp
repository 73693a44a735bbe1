#pragma once
// An in-process Neruba API over a fresh test database: requests go straight to Api::handle, with
// no sockets, so HTTP-level behaviour is tested fast on every backend.
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "http/api.hpp"
#include "json/json.hpp"
#include "support/faulty_db.hpp"
#include "support/test_db.hpp"

namespace neruba::test {

inline constexpr const char* test_admin_key = "nrb_admin_test_key";

// A clock the test moves by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant start) : now_(start) {}
  Instant now() const override { return now_; }
  void advance(std::chrono::microseconds by) { now_ += by; }
  void set(Instant to) { now_ = to; }

 private:
  Instant now_;
};

struct TestResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  json::Value json;  // parsed body (null when not JSON)

  const std::string* header(std::string_view name) const;
  // Convenience: json["key"].text() for string fields; empty when missing.
  std::string field(std::string_view key) const;
};

struct TestTenant {
  std::string id;
  std::string key;  // full-scope tenant key
};

// Ids from a counter (prefix + 24 digits): two APIs fed the same requests in the same order give
// the same ids, so their documents can be compared byte for byte.
class SequentialIds final : public IdGenerator {
 public:
  std::string next(std::string_view prefix) override;

 private:
  std::uint64_t next_ = 0;
};

class TestApi {
 public:
  // Random ids unless `ids` is given.
  explicit TestApi(Backend backend, std::unique_ptr<IdGenerator> ids = nullptr);

  TestResponse call(const std::string& method, const std::string& target, const std::string& bearer,
                    const std::string& body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {});
  TestResponse get(const std::string& target, const std::string& bearer) {
    return call("GET", target, bearer);
  }
  TestResponse post(const std::string& target, const std::string& bearer, const std::string& body,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    return call("POST", target, bearer, body, std::move(headers));
  }

  // Creates a tenant and a key with the given scopes (all four by default).
  TestTenant create_tenant(const std::string& name,
                           const std::string& scopes = R"(["ingest","read","write","operator"])");
  std::string create_key(const std::string& tenant_id, const std::string& scopes);

  TestDatabase& database() { return database_; }
  // The Db the API runs on: the test database behind a FaultyDb, through which a test fails or
  // pauses chosen operations (no rule is armed unless the test arms one).
  FaultyDb& faults() { return faults_; }
  http::Api& api() { return *api_; }
  ManualClock& clock() { return clock_; }

 private:
  TestDatabase database_;
  FaultyDb faults_;
  ManualClock clock_;
  std::unique_ptr<IdGenerator> ids_;
  std::unique_ptr<http::Api> api_;
};

}  // namespace neruba::test
