// Tenant isolation (DESIGN.md principles 1 and 7): two tenants A and B. For every endpoint of the
// route table, B can neither read nor write A's objects; B's audit trail never holds A's records;
// the tenant comes from the key alone; the same Idempotency-Key in A and B never collides.
#include <gtest/gtest.h>

#include <set>

#include "http/routes.hpp"
#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

class TenantIsolation : public HttpTest {
 protected:
  void SetUp() override {
    a_ = make_tenant("Alpha Corp");
    b_ = make_tenant("Beta Corp");
    const auto customer =
        create_customer(a_, "alpha-only-customer", R"(,"metadata":{"plan":"alpha-secret-plan"})");
    ASSERT_EQ(customer.status, 201) << customer.body;
    a_customer_id_ = customer.field("id");
    ASSERT_EQ(create_customer(b_, "beta-customer").status, 201);
    ASSERT_EQ(api()
                  .call("PATCH", "/v1/tenants/" + a_.id, test_admin_key,
                        R"({"settings":{"late_event_window_days":400}})")
                  .status,
              200);
    for (const auto& record : audit_trail(a_)) {
      a_audit_hashes_.push_back(text_of(record, "hash"));
      a_audit_ids_.push_back(text_of(record, "id"));
    }
    ASSERT_FALSE(a_audit_hashes_.empty());
  }

  // Strings only A's data contains; none may ever show up in a response to B.
  std::vector<std::string> a_secrets() const {
    std::vector<std::string> out = {a_.id,
                                    a_customer_id_,
                                    a_.key_id,
                                    a_.key,
                                    "Customer alpha-only-customer",
                                    "alpha-secret-plan"};
    out.insert(out.end(), a_audit_hashes_.begin(), a_audit_hashes_.end());
    out.insert(out.end(), a_audit_ids_.begin(), a_audit_ids_.end());
    return out;
  }

  void expect_no_leak(const TestResponse& response, const std::string& request_text,
                      const std::string& label) {
    for (const auto& secret : a_secrets()) {
      if (secret.empty() || request_text.find(secret) != std::string::npos) continue;
      EXPECT_EQ(response.body.find(secret), std::string::npos)
          << label << " leaked \"" << secret << "\": " << response.body;
    }
  }

  Tenant a_;
  Tenant b_;
  std::string a_customer_id_;
  std::vector<std::string> a_audit_hashes_;
  std::vector<std::string> a_audit_ids_;
};

// Walks the whole route table: B's full-scope key aimed at A's objects never reads or changes
// anything of A's. Admin routes refuse a tenant key with 403; tenant routes act on B only.
TEST_P(TenantIsolation, EveryRouteInTheTableKeepsTenantBOutOfTenantA) {
  const std::string a_before = fingerprint(a_.id);
  std::size_t probed = 0;
  for (const auto& route : http::routes()) {
    if (route.access == http::Access::public_) continue;
    std::string target;
    for (std::size_t i = 1; i <= route.name.size();) {
      const auto end = route.name.find('/', i);
      const std::string part(
          route.name.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      std::string filled = part;
      if (part.size() > 2 && part.front() == '{') {
        const std::string name = part.substr(1, part.size() - 2);
        if (name == "tenant_id") {
          filled = a_.id;
        } else if (name == "key_id") {
          filled = a_.key_id;
        } else if (name == "external_id" || name == "customer") {
          filled = "alpha-only-customer";
        } else {
          filled = a_customer_id_;  // any other id: aim at an object of A's
        }
      }
      target += "/" + filled;
      if (end == std::string_view::npos) break;
      i = end + 1;
    }
    const std::string method(route.method);
    std::string body;
    if (method == "POST" || method == "PATCH" || method == "PUT") {
      body =
          route.name == "/v1/customers"
              ? R"({"external_id":"alpha-only-customer","name":"Hijack","tenant":")" + a_.id + "\"}"
              : R"({"tenant":")" + a_.id + R"(","name":"Hijack"})";
    }
    const std::string label = method + " " + std::string(route.name) + " as " + target;
    const auto response = api().call(method, target, b_.key, body,
                                     {{"X-Neruba-Tenant", a_.id},
                                      {"X-Neruba-Justification", "I am B, let me in"},
                                      {"Idempotency-Key", "probe-" + std::to_string(probed)}});
    ++probed;
    if (route.access == http::Access::admin) {
      expect_problem(response, 403, "insufficient-scope", label);
    } else {
      // A tenant route: whatever it answers, it answered about B.
      EXPECT_NE(response.status, 500) << label << ": " << response.body;
    }
    expect_no_leak(response, target + "\n" + body, label);
    EXPECT_UNCHANGED(a_before, fingerprint(a_.id)) << label << " changed tenant A";
  }
  EXPECT_GE(probed, 13u) << "the route table shrank?";
  // A's key and data are intact.
  EXPECT_EQ(api().get("/v1/customers/alpha-only-customer", a_.key).status, 200);
}

TEST_P(TenantIsolation, CustomerOfAnotherTenantIsNotFoundExactlyLikeAMissingOne) {
  const auto other = api().get("/v1/customers/alpha-only-customer", b_.key);
  const auto missing = api().get("/v1/customers/never-existed", b_.key);
  expect_problem(other, 404, "not-found");
  expect_problem(missing, 404, "not-found");
  EXPECT_EQ(text_of(other.json, "title"), text_of(missing.json, "title"));
  EXPECT_EQ(text_of(other.json, "detail"), text_of(missing.json, "detail"));
  expect_no_leak(other, "", "GET A's customer");
  // Read-only and write-only keys of B see the same 404.
  const Key b_reader = make_key(b_.id, R"(["read"])");
  expect_problem(api().get("/v1/customers/alpha-only-customer", b_reader.secret), 404, "not-found");
}

TEST_P(TenantIsolation, CustomerListShowsOnlyTheKeysTenant) {
  EXPECT_EQ(customer_external_ids(b_), std::vector<std::string>{"beta-customer"});
  EXPECT_EQ(customer_external_ids(a_), std::vector<std::string>{"alpha-only-customer"});
}

TEST_P(TenantIsolation, SameExternalIdInBothTenantsAreTwoCustomers) {
  const auto b_copy = create_customer(b_, "alpha-only-customer");
  ASSERT_EQ(b_copy.status, 201) << b_copy.body;
  EXPECT_NE(b_copy.field("id"), a_customer_id_);
  const auto a_view = api().get("/v1/customers/alpha-only-customer", a_.key);
  ASSERT_EQ(a_view.status, 200);
  EXPECT_EQ(a_view.field("id"), a_customer_id_);
  EXPECT_EQ(a_view.field("name"), "Customer alpha-only-customer");
}

TEST_P(TenantIsolation, ABodyNamingAnotherTenantNeverActsOnIt) {
  const std::string a_before = fingerprint(a_.id);
  for (const std::string field : {"tenant", "tenant_id"}) {
    const auto response =
        api().post("/v1/customers", b_.key,
                   R"({"external_id":"planted-)" + field + R"(","name":"Planted",")" + field +
                       R"(":")" + a_.id + "\"}");
    // Rejected as an unknown field or accepted for B, never for A.
    if (response.status == 201) {
      EXPECT_EQ(api().get("/v1/customers/planted-" + field, b_.key).status, 200);
    } else {
      expect_problem(response, 422, "validation-failed", field);
    }
    EXPECT_EQ(api().get("/v1/customers/planted-" + field, a_.key).status, 404);
  }
  EXPECT_UNCHANGED(a_before, fingerprint(a_.id));
}

TEST_P(TenantIsolation, SettingsAreTheKeysTenants) {
  const auto b_settings = api().get("/v1/settings", b_.key);
  ASSERT_EQ(b_settings.status, 200) << b_settings.body;
  EXPECT_EQ(int_of(member(b_settings.json, "settings"), "late_event_window_days"), 35);
  expect_no_leak(b_settings, "", "GET /v1/settings as B");
  const auto a_settings = api().get("/v1/settings", a_.key);
  ASSERT_EQ(a_settings.status, 200);
  EXPECT_EQ(int_of(member(a_settings.json, "settings"), "late_event_window_days"), 400);
}

TEST_P(TenantIsolation, AuditTrailOfBNeverContainsRecordsOfA) {
  const auto trail = audit_trail(b_);
  EXPECT_EQ(static_cast<std::int64_t>(trail.size()), audit_count(b_.id));
  std::set<std::string> hashes;
  for (const auto& record : trail) {
    const std::string serialized = json::serialize(record);
    for (const auto& secret : a_secrets()) {
      EXPECT_EQ(serialized.find(secret), std::string::npos) << serialized;
    }
    if (!member(record, "tenant").is_null()) {
      EXPECT_EQ(text_of(record, "tenant"), b_.id);
    }
    hashes.insert(text_of(record, "hash"));
  }
  for (const auto& hash : a_audit_hashes_) EXPECT_EQ(hashes.count(hash), 0u);

  // Filters aimed at A's actors and targets find nothing in B's trail.
  for (const std::string& query : std::vector<std::string>{
           "/v1/audit?actor=" + a_.key_id, "/v1/audit?target=" + a_customer_id_,
           "/v1/audit?target=" + a_.id, "/v1/audit?action=tenant.updated"}) {
    const auto response = api().get(query, b_.key);
    ASSERT_EQ(response.status, 200) << query << ": " << response.body;
    EXPECT_TRUE(member(response.json, "data").items().empty()) << query << ": " << response.body;
  }
  // Cursors are no way into A's chain either (and only cursors the API returns are cursors).
  const auto from_first = api().get("/v1/audit?cursor=1", b_.key);
  ASSERT_EQ(from_first.status, 200) << from_first.body;
  expect_no_leak(from_first, "", "GET /v1/audit?cursor=1 as B");
  EXPECT_EQ(api().get("/v1/audit?cursor=0", b_.key).status, 422);
}

TEST_P(TenantIsolation, AuditVerifyCoversOnlyTheKeysTenant) {
  const auto b_verify = api().get("/v1/audit/verify", b_.key);
  ASSERT_EQ(b_verify.status, 200) << b_verify.body;
  EXPECT_TRUE(member(b_verify.json, "ok").as_bool());
  EXPECT_EQ(int_of(b_verify.json, "records"), audit_count(b_.id));
  expect_no_leak(b_verify, "", "GET /v1/audit/verify as B");
}

TEST_P(TenantIsolation, TenantKeyCannotManageTheOtherTenantsKeys) {
  const std::string a_before = fingerprint(a_.id);
  expect_problem(api().call("DELETE", "/v1/tenants/" + a_.id + "/api-keys/" + a_.key_id, b_.key),
                 403, "insufficient-scope");
  expect_problem(api().get("/v1/tenants/" + a_.id + "/api-keys", b_.key), 403,
                 "insufficient-scope");
  expect_problem(api().post("/v1/tenants/" + a_.id + "/api-keys", b_.key,
                            R"({"name":"backdoor","scopes":["read"]})"),
                 403, "insufficient-scope");
  expect_problem(api().call("PATCH", "/v1/tenants/" + a_.id, b_.key, R"({"name":"Owned"})"), 403,
                 "insufficient-scope");
  EXPECT_UNCHANGED(a_before, fingerprint(a_.id));
  EXPECT_EQ(api().get("/v1/customers", a_.key).status, 200);
}

TEST_P(TenantIsolation, AdminCannotRevokeAKeyThroughTheOtherTenantsPath) {
  expect_problem(
      api().call("DELETE", "/v1/tenants/" + b_.id + "/api-keys/" + a_.key_id, test_admin_key), 404,
      "not-found");
  EXPECT_EQ(api().get("/v1/customers", a_.key).status, 200);
}

TEST_P(TenantIsolation, SameIdempotencyKeyInTwoTenantsDoesNotCollide) {
  const Headers key = {{"Idempotency-Key", "shared-key-1"}};
  // The same body, even: each tenant gets its own customer and its own first response.
  const auto in_a = api().post("/v1/customers", a_.key, customer_body("shared"), key);
  const auto in_b = api().post("/v1/customers", b_.key, customer_body("shared"), key);
  ASSERT_EQ(in_a.status, 201) << in_a.body;
  ASSERT_EQ(in_b.status, 201) << in_b.body;
  EXPECT_EQ(in_a.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(in_b.header("Idempotent-Replayed"), nullptr);
  EXPECT_NE(in_a.field("id"), in_b.field("id"));
  EXPECT_EQ(api().get("/v1/customers/shared", a_.key).field("id"), in_a.field("id"));
  EXPECT_EQ(api().get("/v1/customers/shared", b_.key).field("id"), in_b.field("id"));

  // Another body under the same key in the other tenant is no conflict either.
  const Headers other_key = {{"Idempotency-Key", "shared-key-2"}};
  const auto a2 = api().post("/v1/customers", a_.key, customer_body("a-two"), other_key);
  const auto b2 = api().post("/v1/customers", b_.key, customer_body("b-two"), other_key);
  EXPECT_EQ(a2.status, 201) << a2.body;
  EXPECT_EQ(b2.status, 201) << b2.body;

  // And each tenant's replay is its own.
  const auto replay_b = api().post("/v1/customers", b_.key, customer_body("shared"), key);
  EXPECT_EQ(replay_b.status, 201);
  EXPECT_EQ(replay_b.body, in_b.body);
  ASSERT_NE(replay_b.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(*replay_b.header("Idempotent-Replayed"), "true");
}

INSTANTIATE_TEST_SUITE_P(Backends, TenantIsolation, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
