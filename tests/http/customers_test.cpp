// Customers (API.md "Catalog"): POST /v1/customers and GET /v1/customers/{external_id}; a
// duplicate external_id is 409 already-exists; currency and timezone default to the tenant's and
// are validated (ISO 4217 codes, IANA zones); PATCH /v1/customers/{external_id} sets or clears the
// customer's own invoice grace period (issue 17); every failure writes nothing.
#include <gtest/gtest.h>

#include <map>

#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

class Customers : public HttpTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Berlin GmbH", R"(,"currency":"EUR","timezone":"Europe/Berlin")");
  }

  // Sends `body` as `method` to `target`, expects a 422 naming `field` with `type`, and that
  // nothing was written.
  void expect_invalid(const std::string& method, const std::string& target, const std::string& body,
                      const std::string& field, const std::string& type) {
    const std::string before = fingerprint(tenant_.id);
    const auto response = api().call(method, target, tenant_.key, body);
    expect_problem(response, 422, "validation-failed", body);
    EXPECT_TRUE(has_field_error(response, field, type))
        << "expected " << field << "/" << type << " for " << method << " " << body << "\n"
        << response.body;
    EXPECT_UNCHANGED(before, fingerprint(tenant_.id)) << body;
  }

  void expect_rejected(const std::string& body, const std::string& field, const std::string& type) {
    expect_invalid("POST", "/v1/customers", body, field, type);
  }

  void expect_patch_rejected(const std::string& external_id, const std::string& body,
                             const std::string& field, const std::string& type) {
    expect_invalid("PATCH", "/v1/customers/" + external_id, body, field, type);
  }

  TestResponse patch(const std::string& external_id, const std::string& body,
                     const std::string& key = {}, Headers headers = {}) {
    return api().call("PATCH", "/v1/customers/" + external_id, key.empty() ? tenant_.key : key,
                      body, std::move(headers));
  }

  // The customer's invoice_grace_period_days as GET shows it: "null" or the number.
  std::string grace_of(const std::string& external_id) {
    const auto fetched = api().get("/v1/customers/" + external_id, tenant_.key);
    EXPECT_EQ(fetched.status, 200) << fetched.body;
    return json::serialize(member(fetched.json, "invoice_grace_period_days"));
  }

  Tenant tenant_;
};

TEST_P(Customers, CreateThenGetByExternalId) {
  const auto created =
      api().post("/v1/customers", tenant_.key,
                 R"({"external_id":"acme-42","name":"Acme Ltd","metadata":{"crm":"sf-001"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.field("id");
  EXPECT_EQ(id.rfind("cus_", 0), 0u) << id;
  EXPECT_EQ(created.field("external_id"), "acme-42");
  EXPECT_EQ(created.field("name"), "Acme Ltd");
  EXPECT_EQ(text_of(member(created.json, "metadata"), "crm"), "sf-001");

  const auto fetched = api().get("/v1/customers/acme-42", tenant_.key);
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_EQ(fetched.field("id"), id);
  EXPECT_EQ(fetched.field("external_id"), "acme-42");
  EXPECT_EQ(fetched.field("name"), "Acme Ltd");
  EXPECT_EQ(fetched.field("currency"), "EUR");
  EXPECT_EQ(fetched.field("timezone"), "Europe/Berlin");
  EXPECT_EQ(text_of(member(fetched.json, "metadata"), "crm"), "sf-001");

  // A key with scope read (only) reads it too.
  const Key reader = make_key(tenant_.id, R"(["read"])");
  EXPECT_EQ(api().get("/v1/customers/acme-42", reader.secret).field("id"), id);
}

TEST_P(Customers, CurrencyAndTimezoneDefaultToTheTenants) {
  const auto created = create_customer(tenant_, "defaults");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.field("currency"), "EUR");
  EXPECT_EQ(created.field("timezone"), "Europe/Berlin");

  const Tenant plain = make_tenant("Plain Inc");  // tenant defaults: USD, UTC
  const auto in_plain = create_customer(plain, "defaults");
  ASSERT_EQ(in_plain.status, 201) << in_plain.body;
  EXPECT_EQ(in_plain.field("currency"), "USD");
  EXPECT_EQ(in_plain.field("timezone"), "UTC");
}

TEST_P(Customers, ExplicitCurrencyAndTimezoneWin) {
  const auto created =
      create_customer(tenant_, "tokyo", R"(,"currency":"JPY","timezone":"Asia/Tokyo")");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.field("currency"), "JPY");
  EXPECT_EQ(created.field("timezone"), "Asia/Tokyo");
  const auto kuwait =
      create_customer(tenant_, "kuwait", R"(,"currency":"KWD","timezone":"Asia/Kuwait")");
  ASSERT_EQ(kuwait.status, 201) << kuwait.body;
  EXPECT_EQ(kuwait.field("currency"), "KWD");
  const auto ny = create_customer(tenant_, "ny", R"(,"timezone":"America/New_York")");
  ASSERT_EQ(ny.status, 201) << ny.body;
  EXPECT_EQ(ny.field("currency"), "EUR");
  EXPECT_EQ(ny.field("timezone"), "America/New_York");
}

TEST_P(Customers, DuplicateExternalIdIsAlreadyExistsAndChangesNothing) {
  const auto first = create_customer(tenant_, "dup");
  ASSERT_EQ(first.status, 201);
  const std::string before = fingerprint(tenant_.id);
  const auto second =
      api().post("/v1/customers", tenant_.key, R"({"external_id":"dup","name":"Someone else"})");
  expect_problem(second, 409, "already-exists");
  EXPECT_TRUE(has_field_error(second, "external_id", "already_exists")) << second.body;
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  EXPECT_EQ(api().get("/v1/customers/dup", tenant_.key).field("name"), "Customer dup");
}

TEST_P(Customers, UnknownCurrencyIsRejected) {
  expect_rejected(customer_body("c", R"(,"currency":"ABC")"), "currency", "invalid_value");
  expect_rejected(customer_body("c", R"(,"currency":"ZZZ")"), "currency", "invalid_value");
  expect_rejected(customer_body("c", R"(,"currency":"EURO")"), "currency", "too_long");
  expect_rejected(customer_body("c", R"(,"currency":"")"), "currency", "invalid_value");
  expect_rejected(customer_body("c", R"(,"currency":978)"), "currency", "invalid_type");
}

TEST_P(Customers, UnknownTimezoneIsRejected) {
  expect_rejected(customer_body("c", R"(,"timezone":"Europe/Atlantis")"), "timezone",
                  "invalid_value");
  expect_rejected(customer_body("c", R"(,"timezone":"not a zone")"), "timezone", "invalid_value");
  expect_rejected(customer_body("c", R"(,"timezone":"")"), "timezone", "invalid_value");
  expect_rejected(customer_body("c", R"(,"timezone":["UTC"])"), "timezone", "invalid_type");
  // Names the system's tz library finds that are no IANA zone: "localtime" is the host's own zone,
  // so a customer's billing periods would depend on the node that computes them.
  for (const char* name :
       {"localtime", "posixrules", "posix/Europe/Berlin", "right/UTC", "Factory"}) {
    expect_rejected(customer_body("c", R"(,"timezone":")" + std::string(name) + R"(")"), "timezone",
                    "invalid_value");
  }
}

TEST_P(Customers, IanaZonesAndLinksAreAccepted) {
  int n = 0;
  for (const char* name : {"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5",
                           "US/Pacific", "Asia/Calcutta"}) {
    const auto created = create_customer(tenant_, "zone-" + std::to_string(++n),
                                         R"(,"timezone":")" + std::string(name) + R"(")");
    ASSERT_EQ(created.status, 201) << name << ": " << created.body;
    EXPECT_EQ(created.field("timezone"), name);
  }
}

TEST_P(Customers, RequiredFieldsAndIdentifierRules) {
  expect_rejected(R"({"name":"No id"})", "external_id", "required");
  expect_rejected(R"({"external_id":"x"})", "name", "required");
  expect_rejected(R"({"external_id":"","name":"n"})", "external_id", "invalid_value");
  expect_rejected(R"({"external_id":"a/b","name":"n"})", "external_id", "invalid_value");
  expect_rejected(R"({"external_id":"a b","name":"n"})", "external_id", "invalid_value");
  expect_rejected(R"({"external_id":"a?b","name":"n"})", "external_id", "invalid_value");
  expect_rejected(R"({"external_id":"x","name":""})", "name", "invalid_value");
  expect_rejected(R"({"external_id":7,"name":"n"})", "external_id", "invalid_type");
  expect_rejected(R"({"external_id":"x","name":"n","metadata":{"k":1}})", "metadata.k",
                  "invalid_type");
  expect_rejected(R"({"external_id":"x","name":"n","metadata":"k=v"})", "metadata", "invalid_type");
  expect_rejected(R"({"external_id":")" + std::string(256, 'x') + R"(","name":"n"})", "external_id",
                  "too_long");
}

TEST_P(Customers, EveryProblemOfABodyIsReported) {
  const std::string before = fingerprint(tenant_.id);
  const auto response =
      api().post("/v1/customers", tenant_.key,
                 R"({"external_id":"x","name":5,"currency":"ABC","timezone":"Nowhere/City",)"
                 R"("colour":"red"})");
  expect_problem(response, 422, "validation-failed");
  EXPECT_TRUE(has_field_error(response, "name", "invalid_type")) << response.body;
  EXPECT_TRUE(has_field_error(response, "currency", "invalid_value")) << response.body;
  EXPECT_TRUE(has_field_error(response, "timezone", "invalid_value")) << response.body;
  EXPECT_TRUE(has_field_error(response, "colour", "unknown_field")) << response.body;
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
}

TEST_P(Customers, ExternalIdIsPercentDecodedInThePath) {
  const std::string external_id = "acme+1&x=y:z@eu";
  ASSERT_EQ(create_customer(tenant_, external_id).status, 201);
  const auto fetched = api().get("/v1/customers/" + percent_encode(external_id), tenant_.key);
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_EQ(fetched.field("external_id"), external_id);
  EXPECT_EQ(api().get("/v1/customers/acme%2b1&x=y:z@eu", tenant_.key).status, 200)
      << "lowercase hex escapes decode too";
}

TEST_P(Customers, UnknownCustomerIsNotFound) {
  expect_problem(api().get("/v1/customers/nobody", tenant_.key), 404, "not-found");
}

TEST_P(Customers, CreationIsAuditedWithItsAfterState) {
  const auto created = create_customer(tenant_, "audited");
  ASSERT_EQ(created.status, 201);
  const auto records = walk("/v1/audit?action=customer.created", tenant_.key, 100);
  ASSERT_EQ(records.size(), 1u);
  const auto& record = records[0];
  EXPECT_EQ(text_of(record, "target"), created.field("id"));
  EXPECT_EQ(text_of(member(record, "after"), "external_id"), "audited");
  EXPECT_EQ(text_of(member(record, "after"), "currency"), "EUR");
  EXPECT_TRUE(member(record, "before").is_null());
}

TEST_P(Customers, AGracePeriodOfItsOwnIsOptionalOnCreateAndShownEverywhere) {
  // Without one (or with null) the tenant's applies: null in every document.
  const auto plain = create_customer(tenant_, "plain");
  ASSERT_EQ(plain.status, 201) << plain.body;
  EXPECT_TRUE(member(plain.json, "invoice_grace_period_days").is_null()) << plain.body;
  const auto nulled = create_customer(tenant_, "nulled", R"(,"invoice_grace_period_days":null)");
  ASSERT_EQ(nulled.status, 201) << nulled.body;
  EXPECT_TRUE(member(nulled.json, "invoice_grace_period_days").is_null()) << nulled.body;
  // 0 and the maximum (365) are overrides like any other.
  const auto none = create_customer(tenant_, "none", R"(,"invoice_grace_period_days":0)");
  ASSERT_EQ(none.status, 201) << none.body;
  EXPECT_EQ(int_of(none.json, "invoice_grace_period_days"), 0);
  const auto year = create_customer(tenant_, "year", R"(,"invoice_grace_period_days":365)");
  ASSERT_EQ(year.status, 201) << year.body;
  EXPECT_EQ(int_of(year.json, "invoice_grace_period_days"), 365);

  EXPECT_EQ(grace_of("plain"), "null");
  EXPECT_EQ(grace_of("nulled"), "null");
  EXPECT_EQ(grace_of("none"), "0");
  EXPECT_EQ(grace_of("year"), "365");
  std::map<std::string, std::string> listed;
  for (const auto& item : walk("/v1/customers", tenant_.key, 2)) {
    listed[text_of(item, "external_id")] =
        json::serialize(member(item, "invoice_grace_period_days"));
  }
  EXPECT_EQ(listed, (std::map<std::string, std::string>{
                        {"none", "0"}, {"nulled", "null"}, {"plain", "null"}, {"year", "365"}}));
  // The audit record of the creation carries it too.
  std::map<std::string, std::string> audited;
  for (const auto& record : walk("/v1/audit?action=customer.created", tenant_.key, 100)) {
    audited[text_of(member(record, "after"), "external_id")] =
        json::serialize(member(member(record, "after"), "invoice_grace_period_days"));
  }
  EXPECT_EQ(audited, listed);
}

TEST_P(Customers, AGracePeriodOutOfRangeOrNotAnIntegerIsRejectedOnCreate) {
  expect_rejected(customer_body("c", R"(,"invoice_grace_period_days":-1)"),
                  "invoice_grace_period_days", "out_of_range");
  expect_rejected(customer_body("c", R"(,"invoice_grace_period_days":366)"),
                  "invoice_grace_period_days", "out_of_range");
  expect_rejected(customer_body("c", R"(,"invoice_grace_period_days":"3")"),
                  "invoice_grace_period_days", "invalid_type");
  expect_rejected(customer_body("c", R"(,"invoice_grace_period_days":1.5)"),
                  "invoice_grace_period_days", "invalid_type");
}

TEST_P(Customers, PatchSetsAndClearsTheGracePeriodAndLeavesTheRestAsItWas) {
  const auto created = create_customer(tenant_, "acme", R"(,"metadata":{"crm":"sf-1"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto set = patch("acme", R"({"invoice_grace_period_days":7})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(int_of(set.json, "invoice_grace_period_days"), 7);
  // Everything else is the created customer's.
  json::Value expected = created.json;
  expected.set("invoice_grace_period_days", json::Value::number(std::int64_t{7}));
  EXPECT_EQ(set.json, expected) << set.body;
  EXPECT_EQ(grace_of("acme"), "7");
  // A body that names nothing changes nothing (and answers the customer).
  const std::string before = fingerprint(tenant_.id);
  const auto nothing = patch("acme", "{}");
  ASSERT_EQ(nothing.status, 200) << nothing.body;
  EXPECT_EQ(nothing.json, expected);
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  // null: the tenant's grace period applies again.
  const auto cleared = patch("acme", R"({"invoice_grace_period_days":null})");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(cleared.json, created.json) << cleared.body;
  EXPECT_EQ(grace_of("acme"), "null");
  // A key with scope read only may not.
  const Key reader = make_key(tenant_.id, R"(["read"])");
  expect_problem(patch("acme", R"({"invoice_grace_period_days":1})", reader.secret), 403,
                 "insufficient-scope");
  EXPECT_EQ(grace_of("acme"), "null");
}

TEST_P(Customers, PatchRejectsBadValuesAndUnknownFieldsAndChangesNothing) {
  ASSERT_EQ(create_customer(tenant_, "acme", R"(,"invoice_grace_period_days":2)").status, 201);
  expect_patch_rejected("acme", R"({"invoice_grace_period_days":-1})", "invoice_grace_period_days",
                        "out_of_range");
  expect_patch_rejected("acme", R"({"invoice_grace_period_days":366})", "invoice_grace_period_days",
                        "out_of_range");
  expect_patch_rejected("acme", R"({"invoice_grace_period_days":"7"})", "invoice_grace_period_days",
                        "invalid_type");
  expect_patch_rejected("acme", R"({"invoice_grace_period_days":true})",
                        "invoice_grace_period_days", "invalid_type");
  expect_patch_rejected("acme", R"({"invoice_grace_period_days":2.5})", "invoice_grace_period_days",
                        "invalid_type");
  // Only the grace period can be changed: other fields, even with a valid change beside them,
  // are unknown and nothing is applied.
  expect_patch_rejected("acme", R"({"invoice_grace_period_days":5,"name":"Renamed"})", "name",
                        "unknown_field");
  expect_patch_rejected("acme", R"({"currency":"USD"})", "currency", "unknown_field");
  EXPECT_EQ(grace_of("acme"), "2");
  // Not an object, or no JSON at all: 400.
  const std::string before = fingerprint(tenant_.id);
  expect_problem(patch("acme", "[7]"), 400, "malformed-request");
  expect_problem(patch("acme", "{"), 400, "malformed-request");
  expect_problem(patch("acme", ""), 400, "malformed-request");
  // An unknown customer is not found (a valid body), and an invalid body is invalid first.
  expect_problem(patch("nobody", R"({"invoice_grace_period_days":1})"), 404, "not-found");
  expect_problem(patch("nobody", R"({"invoice_grace_period_days":-1})"), 422, "validation-failed");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
}

TEST_P(Customers, APatchIsAuditedWithTheCustomerBeforeAndAfterUnlessNothingChanged) {
  const auto created = create_customer(tenant_, "audited");
  ASSERT_EQ(created.status, 201);
  ASSERT_EQ(patch("audited", R"({"invoice_grace_period_days":4})").status, 200);
  ASSERT_EQ(patch("audited", R"({"invoice_grace_period_days":4})").status, 200);  // no change
  ASSERT_EQ(patch("audited", R"({"invoice_grace_period_days":null})").status, 200);
  const auto records = walk("/v1/audit?action=customer.updated", tenant_.key, 100);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(text_of(records[0], "target"), created.field("id"));
  EXPECT_EQ(member(records[0], "before"), created.json);
  EXPECT_EQ(int_of(member(records[0], "after"), "invoice_grace_period_days"), 4);
  EXPECT_EQ(text_of(member(records[0], "after"), "external_id"), "audited");
  EXPECT_EQ(member(records[1], "before"), member(records[0], "after"));
  EXPECT_EQ(member(records[1], "after"), created.json);
  EXPECT_EQ(text_of(member(records[1], "actor"), "type"), "api_key");
  const auto verified = api().get("/v1/audit/verify", tenant_.key);
  EXPECT_TRUE(member(verified.json, "ok").as_bool()) << verified.body;
}

TEST_P(Customers, APatchWithAnIdempotencyKeyIsReplayedAndTheKeyIsBoundToItsBody) {
  ASSERT_EQ(create_customer(tenant_, "acme").status, 201);
  const Headers key{{"Idempotency-Key", "patch-acme-1"}};
  const auto first = patch("acme", R"({"invoice_grace_period_days":9})", {}, key);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("Idempotent-Replayed"), nullptr);
  // Changed meanwhile; the replay answers the first response and changes nothing.
  ASSERT_EQ(patch("acme", R"({"invoice_grace_period_days":1})").status, 200);
  const std::string before = fingerprint(tenant_.id);
  const auto replay = patch("acme", R"({"invoice_grace_period_days":9})", {}, key);
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(replay.body, first.body);
  const auto* replayed = replay.header("Idempotent-Replayed");
  EXPECT_TRUE(replayed != nullptr && *replayed == "true");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  EXPECT_EQ(grace_of("acme"), "1");
  expect_problem(patch("acme", R"({"invoice_grace_period_days":3})", {}, key), 409,
                 "idempotency-key-reused");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
}

TEST_P(Customers, AnotherTenantsKeyCannotPatchTheCustomer) {
  ASSERT_EQ(create_customer(tenant_, "acme", R"(,"invoice_grace_period_days":2)").status, 201);
  const Tenant other = make_tenant("Other Inc");
  const std::string before = fingerprint(tenant_.id);
  const auto response =
      api().call("PATCH", "/v1/customers/acme", other.key, R"({"invoice_grace_period_days":30})");
  const auto missing = api().call("PATCH", "/v1/customers/never-existed", other.key,
                                  R"({"invoice_grace_period_days":30})");
  expect_problem(response, 404, "not-found");
  EXPECT_EQ(text_of(response.json, "detail"), text_of(missing.json, "detail"));
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  EXPECT_EQ(grace_of("acme"), "2");
  // Nor can the platform admin, which never writes tenant data.
  expect_problem(
      api().call("PATCH", "/v1/customers/acme", test_admin_key,
                 R"({"invoice_grace_period_days":30})",
                 {{"X-Neruba-Tenant", tenant_.id}, {"X-Neruba-Justification", "support ticket 7"}}),
      403, "tenant-boundary");
  EXPECT_EQ(grace_of("acme"), "2");
}

INSTANTIATE_TEST_SUITE_P(Backends, Customers, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
