#pragma once
// Shared helpers of the ingest suites (tests/ingest): a fixture with an in-process API over a fresh
// database per backend (TestApi), shortcuts for tenants, settings, customers, meters, event batches
// and usage reads, and direct counts of stored rows (to prove that a refused batch wrote nothing).
//
// The clock of every fixture starts at kNow = 2026-01-10T00:00:00Z, so events on 2026-01-05 are
// inside the default windows (35 days late, 300 s future).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/time.hpp"
#include "json/json.hpp"
#include "storage/db.hpp"
#include "support/event_json.hpp"
#include "support/json_access.hpp"
#include "support/test_api.hpp"
#include "support/test_db.hpp"

namespace neruba::test::ingest_tests {

inline constexpr const char* kAllScopes = R"(["ingest","read","write","operator"])";
inline constexpr const char* kNow = "2026-01-10T00:00:00Z";
inline constexpr const char* kErrorTypePrefix = "https://neruba.dev/errors/";

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Tenant {
  std::string id;
  std::string key;
};

class IngestTest : public ::testing::TestWithParam<Backend> {
 protected:
  IngestTest() : api_(GetParam()) { api_.clock().set(instant(kNow)); }

  TestApi& api() { return api_; }
  storage::Db& db() { return api_.database().db(); }

  Tenant make_tenant(const std::string& name, const std::string& scopes = kAllScopes) {
    const auto response =
        api_.post("/v1/tenants", test_admin_key, R"({"name":)" + json_quoted(name) + "}");
    EXPECT_EQ(response.status, 201) << response.body;
    Tenant tenant{response.field("id"), ""};
    tenant.key = make_key(tenant.id, scopes);
    return tenant;
  }

  std::string make_key(const std::string& tenant_id, const std::string& scopes) {
    const auto response = api_.post("/v1/tenants/" + tenant_id + "/api-keys", test_admin_key,
                                    R"({"name":"ingest test key","scopes":)" + scopes + "}");
    EXPECT_EQ(response.status, 201) << response.body;
    return response.field("key");
  }

  // PATCH /v1/tenants/{id} {"settings": settings} with the admin key; expects 200.
  void patch_settings(const Tenant& tenant, const std::string& settings) {
    const auto response = api_.call("PATCH", "/v1/tenants/" + tenant.id, test_admin_key,
                                    R"({"settings":)" + settings + "}");
    ASSERT_EQ(response.status, 200) << settings << "\n" << response.body;
  }

  void create_customer(const Tenant& tenant, const std::string& external_id) {
    const auto response =
        api_.post("/v1/customers", tenant.key,
                  R"({"external_id":)" + json_quoted(external_id) + R"(,"name":"Customer"})");
    ASSERT_EQ(response.status, 201) << response.body;
  }

  void create_meter(const Tenant& tenant, const std::string& body) {
    const auto response = api_.post("/v1/meters", tenant.key, body);
    ASSERT_EQ(response.status, 201) << body << "\n" << response.body;
  }

  TestResponse post_events(const Tenant& tenant, const std::vector<std::string>& events,
                           Headers headers = {}) {
    return api_.post("/v1/events", tenant.key, batch_json(events), std::move(headers));
  }

  // Posts the batch and expects a 200 with these counts (conflicts and rejected as list sizes).
  TestResponse post_expect(const Tenant& tenant, const std::vector<std::string>& events,
                           std::int64_t accepted, std::int64_t duplicates = 0,
                           std::size_t conflicts = 0, std::size_t rejected = 0) {
    const auto response = post_events(tenant, events);
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(int_of(response.json, "accepted"), accepted) << response.body;
    EXPECT_EQ(int_of(response.json, "duplicates"), duplicates) << response.body;
    EXPECT_EQ(member(response.json, "conflicts").items().size(), conflicts) << response.body;
    EXPECT_EQ(member(response.json, "rejected").items().size(), rejected) << response.body;
    return response;
  }

  TestResponse usage(const Tenant& tenant, const std::string& customer, const std::string& from,
                     const std::string& to) {
    return api_.get("/v1/customers/" + customer + "/usage?from=" + from + "&to=" + to, tenant.key);
  }

  // The usage entry of one meter (a null value when the meter is missing from the answer).
  json::Value meter_usage(const Tenant& tenant, const std::string& customer,
                          const std::string& meter, const std::string& from,
                          const std::string& to) {
    const auto response = usage(tenant, customer, from, to);
    EXPECT_EQ(response.status, 200) << response.body;
    for (const auto& item : member(response.json, "meters").items()) {
      if (text_of(item, "meter") == meter) return item;
    }
    ADD_FAILURE() << "meter " << meter << " missing from " << response.body;
    return json::Value();
  }

  // The meter's value as text ("null" for a JSON null) and its event count.
  std::pair<std::string, std::int64_t> value_and_events(const Tenant& tenant,
                                                        const std::string& customer,
                                                        const std::string& meter,
                                                        const std::string& from,
                                                        const std::string& to) {
    const json::Value item = meter_usage(tenant, customer, meter, from, to);
    const json::Value& value = member(item, "value");
    return {value.is_null() ? std::string("null") : value.text(), int_of(item, "events")};
  }

  std::int64_t scalar(std::string_view sql, std::initializer_list<storage::Param> params) {
    auto tx = db().begin(storage::TxMode::read);
    return tx->query(sql, params).at(0).integer(0);
  }

  std::int64_t stored_events(const Tenant& tenant) {
    return scalar("SELECT COUNT(*) FROM events WHERE tenant_id = $1", {tenant.id});
  }
  // Events counted in the tenant's usage buckets, over all meters.
  std::int64_t counted_in_buckets(const Tenant& tenant) {
    return scalar("SELECT COALESCE(SUM(event_count), 0) FROM usage_buckets WHERE tenant_id = $1",
                  {tenant.id});
  }
  std::int64_t stored_customers(const Tenant& tenant) {
    return scalar("SELECT COUNT(*) FROM customers WHERE tenant_id = $1", {tenant.id});
  }

  TestApi api_;
};

// Asserts a problem-details response with this status and type slug.
inline void expect_problem(const TestResponse& response, int status, std::string_view slug) {
  EXPECT_EQ(response.status, status) << response.body;
  const auto* content_type = response.header("Content-Type");
  ASSERT_NE(content_type, nullptr);
  EXPECT_EQ(content_type->rfind("application/problem+json", 0), 0u) << *content_type;
  EXPECT_EQ(text_of(response.json, "type"), std::string(kErrorTypePrefix) + std::string(slug))
      << response.body;
  EXPECT_EQ(int_of(response.json, "status"), status) << response.body;
}

// The rejected[] item of a batch answer with this index (null value when there is none).
inline json::Value rejected_at(const TestResponse& response, std::int64_t index) {
  for (const auto& item : member(response.json, "rejected").items()) {
    if (int_of(item, "index") == index) return item;
  }
  return json::Value();
}

inline json::Value conflict_at(const TestResponse& response, std::int64_t index) {
  for (const auto& item : member(response.json, "conflicts").items()) {
    if (int_of(item, "index") == index) return item;
  }
  return json::Value();
}

}  // namespace neruba::test::ingest_tests
