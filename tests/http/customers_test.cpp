// Customers (API.md "Catalog"): POST /v1/customers and GET /v1/customers/{external_id}; a
// duplicate external_id is 409 already-exists; currency and timezone default to the tenant's and
// are validated (ISO 4217 codes, IANA zones); every failure writes nothing.
#include <gtest/gtest.h>

#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

class Customers : public HttpTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Berlin GmbH", R"(,"currency":"EUR","timezone":"Europe/Berlin")");
  }

  // Posts `body`, expects a 422 naming `field` with `type`, and that nothing was written.
  void expect_rejected(const std::string& body, const std::string& field, const std::string& type) {
    const std::string before = fingerprint(tenant_.id);
    const auto response = api().post("/v1/customers", tenant_.key, body);
    expect_problem(response, 422, "validation-failed", body);
    EXPECT_TRUE(has_field_error(response, field, type))
        << "expected " << field << "/" << type << " for " << body << "\n"
        << response.body;
    EXPECT_UNCHANGED(before, fingerprint(tenant_.id)) << body;
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

INSTANTIATE_TEST_SUITE_P(Backends, Customers, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
