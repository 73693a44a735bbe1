// The audit trail (API.md "Audit", DESIGN.md "audit record"): every state-changing request writes
// exactly one record with tenant, actor, action, target, request id (= the X-Request-Id response
// header), time and before/after; GET /v1/audit filters and pages by cursor; GET /v1/audit/verify
// answers { ok, records, head }.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>

#include "domain/time.hpp"
#include "http/routes.hpp"
#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

using namespace std::chrono_literals;

Instant at(const char* text) { return *domain::parse_rfc3339(text); }

bool is_sha256_hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::vector<std::string> actions_of(const std::vector<json::Value>& records) {
  std::vector<std::string> out;
  for (const auto& record : records) out.push_back(text_of(record, "action"));
  return out;
}

class AuditTrail : public HttpTest {
 protected:
  // Every audit record of every tenant: "tenant_id seq" → action.
  std::map<std::string, std::string> all_records() {
    std::map<std::string, std::string> out;
    for (const auto& row : query("SELECT tenant_id, seq, action FROM audit_records")) {
      out.emplace(row.text(0) + " " + row.text(1), row.text(2));
    }
    return out;
  }

  // Runs `request`, which must succeed, and expects it to have added exactly the audit records
  // `actions` (in seq order within a tenant) and to have changed none.
  void expect_records(const std::string& label, const std::vector<std::string>& actions,
                      const std::function<TestResponse()>& request) {
    const auto before = all_records();
    const auto response = request();
    EXPECT_GE(response.status, 200) << label << ": " << response.body;
    EXPECT_LT(response.status, 300) << label << ": " << response.body;
    const auto after = all_records();
    std::vector<std::string> added;
    for (const auto& [key, action] : after) {
      const auto old = before.find(key);
      if (old == before.end()) {
        added.push_back(action);
      } else {
        EXPECT_EQ(old->second, action) << label << " changed audit record " << key;
      }
    }
    EXPECT_EQ(after.size(), before.size() + added.size()) << label << " removed audit records";
    EXPECT_EQ(added, actions) << label << ": " << response.body;
  }
};

TEST_P(AuditTrail, EveryStateChangeWritesExactlyOneRecord) {
  const Tenant tenant = make_tenant("Acme");  // tenant.created + api_key.created
  EXPECT_EQ(audit_count(tenant.id), 2);

  ASSERT_EQ(create_customer(tenant, "c1").status, 201);
  EXPECT_EQ(audit_count(tenant.id), 3);

  ASSERT_EQ(api()
                .call("PATCH", "/v1/tenants/" + tenant.id, test_admin_key,
                      R"({"settings":{"ingest_burst":500}})")
                .status,
            200);
  EXPECT_EQ(audit_count(tenant.id), 4);

  const Key extra = make_key(tenant.id, R"(["read"])", "extra");
  EXPECT_EQ(audit_count(tenant.id), 5);

  ASSERT_EQ(
      api()
          .call("DELETE", "/v1/tenants/" + tenant.id + "/api-keys/" + extra.id, test_admin_key)
          .status,
      200);
  EXPECT_EQ(audit_count(tenant.id), 6);

  // Reads with a tenant key write nothing.
  for (const std::string target : {"/v1/customers", "/v1/customers/c1", "/v1/settings", "/v1/audit",
                                   "/v1/audit/verify", "/v1/invoices", "/v1/customers/c1/balance",
                                   "/v1/ledger/balances", "/v1/ledger/transactions"}) {
    ASSERT_EQ(api().get(target, tenant.key).status, 200) << target;
  }
  ASSERT_EQ(admin_get("/v1/tenants/" + tenant.id).status, 200);
  ASSERT_EQ(admin_get("/v1/tenants/" + tenant.id + "/api-keys").status, 200);
  EXPECT_EQ(audit_count(tenant.id), 6);

  EXPECT_EQ(actions_of(audit_trail(tenant)),
            (std::vector<std::string>{"tenant.created", "api_key.created", "customer.created",
                                      "tenant.updated", "api_key.created", "api_key.revoked"}));

  // Every state-changing route of the table: one successful request writes exactly the records
  // expected of it, in any tenant. A write route without an entry here fails the test.
  const Key to_revoke = make_key(tenant.id, R"(["read"])", "to revoke");
  // A subscription for the routes that change one.
  ASSERT_EQ(api()
                .post("/v1/plans", tenant.key,
                      R"({"code":"before_walk","name":"Before","currency":"USD",)"
                      R"("interval":"month","effective_from":"2026-01-01T00:00:00Z",)"
                      R"("charges":[{"type":"seat","unit_price":"5.00"}]})")
                .status,
            201);
  const auto subscription =
      api().post("/v1/subscriptions", tenant.key,
                 R"({"customer":"c1","plan":"before_walk","start":"2026-01-01T00:00:00Z"})");
  ASSERT_EQ(subscription.status, 201) << subscription.body;
  // Billing. With 3 days of grace, the invoice at 01-01 is due for finalization on 01-05 and the
  // one at 01-05 is not: c1's (5.00, one seat) is finalized before the walk, for the payment; c2's
  // is a draft the walk finalizes, then voids; c3's is the one the walk's run finalizes.
  ASSERT_EQ(api()
                .call("PATCH", "/v1/tenants/" + tenant.id, test_admin_key,
                      R"({"settings":{"invoice_grace_period_days":3}})")
                .status,
            200);
  for (const auto& [customer, start] : std::vector<std::pair<std::string, std::string>>{
           {"c2", "2026-01-05T00:00:00Z"}, {"c3", "2026-01-01T00:00:00Z"}}) {
    ASSERT_EQ(create_customer(tenant, customer).status, 201);
    ASSERT_EQ(api()
                  .post("/v1/subscriptions", tenant.key,
                        R"({"customer":")" + customer + R"(","plan":"before_walk","start":")" +
                            start + R"("})")
                  .status,
              201);
  }
  const auto invoice_of = [&](const std::string& customer) {
    const auto run =
        api().post("/v1/billing-runs", tenant.key, R"({"customer":")" + customer + R"("})");
    EXPECT_EQ(run.status, 201) << run.body;
    const auto& invoices = member(run.json, "invoices").items();
    EXPECT_EQ(invoices.size(), 1u) << run.body;
    return invoices.empty() ? std::string() : text_of(invoices[0], "id");
  };
  const std::string paid = invoice_of("c1");
  const std::string draft = invoice_of("c2");
  ASSERT_EQ(api().get("/v1/invoices/" + paid, tenant.key).field("status"), "finalized");
  ASSERT_EQ(api().get("/v1/invoices/" + draft, tenant.key).field("status"), "draft");
  struct Write {
    std::string bearer;
    std::string body;
    std::vector<std::string> actions;  // the records it adds
  };
  const std::map<std::string, Write> writes = {
      {"POST /v1/tenants", {test_admin_key, R"({"name":"Walked"})", {"tenant.created"}}},
      {"PATCH /v1/tenants/{tenant_id}",
       {test_admin_key, R"({"name":"Acme Walked"})", {"tenant.updated"}}},
      {"POST /v1/tenants/{tenant_id}/api-keys",
       {test_admin_key, R"({"name":"walked","scopes":["read"]})", {"api_key.created"}}},
      {"DELETE /v1/tenants/{tenant_id}/api-keys/{key_id}",
       {test_admin_key, "", {"api_key.revoked"}}},
      {"POST /v1/customers", {tenant.key, customer_body("walked"), {"customer.created"}}},
      {"PATCH /v1/customers/{external_id}",
       {tenant.key, R"({"invoice_grace_period_days":5})", {"customer.updated"}}},
      {"POST /v1/meters",
       {tenant.key,
        R"({"code":"walked","event_type":"walk","aggregation":"count"})",
        {"meter.created"}}},
      {"POST /v1/plans",
       {tenant.key,
        R"({"code":"walked","name":"Walked","currency":"USD","interval":"month",)"
        R"("charges":[{"type":"recurring","amount":"10.00"}]})",
        {"plan.created"}}},
      {"POST /v1/plans/{plan_code}/versions",
       {tenant.key,
        R"({"name":"Walked v2","currency":"USD","interval":"month",)"
        R"("effective_from":"2026-03-01T00:00:00Z","charges":[{"type":"recurring","amount":"12.00"}]})",
        {"plan.version_created"}}},
      {"POST /v1/subscriptions",
       {tenant.key,
        R"({"customer":"walked","plan":"walked","start":"2026-02-01T00:00:00Z"})",
        {"subscription.created"}}},
      {"POST /v1/subscriptions/{subscription_id}/changes",
       {tenant.key, R"({"seats":3,"effective":"now"})", {"subscription.changed"}}},
      {"POST /v1/subscriptions/{subscription_id}/cancel",
       {tenant.key, R"({"at":"period_end"})", {"subscription.canceled"}}},
      // A run audits each invoice it finalizes (c3's), then itself.
      {"POST /v1/billing-runs", {tenant.key, "{}", {"invoice.finalized", "billing_run.completed"}}},
      {"POST /v1/invoices/{invoice_id}/finalize", {tenant.key, "{}", {"invoice.finalized"}}},
      {"POST /v1/invoices/{invoice_id}/void",
       {tenant.key,
        R"({"reason_code":"billing_error","justification":"walked: charged in error"})",
        {"invoice.voided"}}},
      {"POST /v1/credit-grants",
       {tenant.key,
        R"({"customer":"c1","amount":"3.00","currency":"USD","kind":"promotional",)"
        R"("reason_code":"goodwill"})",
        {"credit_grant.created"}}},
      {"POST /v1/charges",
       {tenant.key,
        R"({"customer":"c1","charge_key":"walked","amount":"7.00","currency":"USD",)"
        R"("description":"Walked fee"})",
        {"charge.created"}}},
      {"POST /v1/payments",
       {tenant.key,
        R"({"invoice":")" + paid +
            R"(","amount":"2.00","provider":"manual","provider_payment_id":"walked-1"})",
        {"payment.created"}}},
      // Events are not audited one by one: a batch of known customers writes no record.
      {"POST /v1/events",
       {tenant.key,
        events_body({event_json("walk-1", "c1", "walk"), event_json("walk-2", "walked", "walk")}),
        {}}},
  };
  const std::map<std::string, std::string> values = {{"tenant_id", tenant.id},
                                                     {"key_id", to_revoke.id},
                                                     {"external_id", "walked"},
                                                     {"plan_code", "walked"},
                                                     {"subscription_id", subscription.field("id")},
                                                     {"invoice_id", draft}};
  std::size_t walked = 0;
  for (const auto& route : http::routes()) {
    if (!is_write(route)) continue;
    const auto write = writes.find(route_key(route));
    if (write == writes.end()) {
      ADD_FAILURE() << route_key(route) << ": a state-changing route without its audit records";
      continue;
    }
    ++walked;
    const std::string target = fill_route(route, values);
    expect_records(route_key(route), write->second.actions, [&] {
      return api().call(std::string(route.method), target, write->second.bearer,
                        write->second.body);
    });
  }
  EXPECT_EQ(walked, writes.size()) << "an entry of `writes` names no route of the table";

  // What the billing records say, by hand. The walk's run finalized c3's invoice at 01-01 (seat
  // 5.00; the second number, c1's being the first) and nothing else; c2's draft was finalized
  // third, then voided with the operator's reason; the grant keeps its reason code.
  const auto record = [&](const std::string& action, std::size_t index = 0) {
    const auto records = walk("/v1/audit?action=" + action, tenant.key, 100);
    EXPECT_GT(records.size(), index) << action;
    return records.size() > index ? records[index] : json::Value();
  };
  const auto run = record("billing_run.completed", 2);  // the two before the walk, then its own
  EXPECT_EQ(int_of(member(run, "after"), "invoices_created"), 1);
  EXPECT_EQ(int_of(member(run, "after"), "invoices_finalized"), 1);
  EXPECT_EQ(int_of(member(run, "after"), "invoices_updated"), 0);
  EXPECT_TRUE(member(member(run, "after"), "customer").is_null());
  const auto by_run = record("invoice.finalized", 1);
  EXPECT_EQ(text_of(member(by_run, "after"), "customer"), "c3");
  EXPECT_EQ(text_of(member(by_run, "after"), "number"), "INV-000002");
  EXPECT_EQ(text_of(member(by_run, "after"), "total"), "5.00");
  const auto finalized = record("invoice.finalized", 2);
  EXPECT_EQ(text_of(finalized, "target"), draft);
  EXPECT_EQ(text_of(member(finalized, "after"), "number"), "INV-000003");
  EXPECT_EQ(text_of(member(finalized, "after"), "status"), "finalized");
  const auto voided = record("invoice.voided");
  EXPECT_EQ(text_of(voided, "target"), draft);
  EXPECT_EQ(text_of(voided, "reason_code"), "billing_error");
  EXPECT_EQ(text_of(voided, "justification"), "walked: charged in error");
  EXPECT_EQ(text_of(member(voided, "before"), "status"), "finalized");
  EXPECT_EQ(text_of(member(voided, "before"), "amount_due"), "5.00");
  EXPECT_EQ(text_of(member(voided, "after"), "status"), "void");
  EXPECT_EQ(text_of(member(voided, "after"), "amount_due"), "0.00");
  const auto grant = record("credit_grant.created");
  EXPECT_EQ(text_of(grant, "reason_code"), "goodwill");
  EXPECT_TRUE(member(grant, "justification").is_null());
  EXPECT_EQ(text_of(member(grant, "after"), "amount"), "3.00");
  EXPECT_EQ(text_of(member(grant, "after"), "kind"), "promotional");
  EXPECT_EQ(text_of(member(grant, "after"), "customer"), "c1");
  const auto charge = record("charge.created");
  EXPECT_EQ(text_of(member(charge, "after"), "charge_key"), "walked");
  EXPECT_EQ(text_of(member(charge, "after"), "amount"), "7.00");
  EXPECT_TRUE(member(member(charge, "after"), "invoice").is_null());
  const auto payment = record("payment.created");
  EXPECT_EQ(text_of(member(payment, "after"), "invoice"), paid);
  EXPECT_EQ(text_of(member(payment, "after"), "amount"), "2.00");
  EXPECT_EQ(text_of(member(payment, "after"), "applied"), "2.00");
  EXPECT_EQ(text_of(member(payment, "after"), "excess"), "0.00");
  EXPECT_EQ(text_of(payment, "target"), text_of(member(payment, "after"), "id"));

  // Ingest that creates a customer (auto_create_customers on) records it: one customer.created
  // for a new customer however many of the batch's events name it.
  expect_records("PATCH auto_create_customers", {"tenant.updated"}, [&] {
    return api().call("PATCH", "/v1/tenants/" + tenant.id, test_admin_key,
                      R"({"settings":{"auto_create_customers":true}})");
  });
  expect_records("POST /v1/events naming a new customer", {"customer.created"}, [&] {
    return api().post("/v1/events", tenant.key,
                      events_body({event_json("walk-3", "auto-created", "walk"),
                                   event_json("walk-4", "auto-created", "walk"),
                                   event_json("walk-5", "c1", "walk")}));
  });
  EXPECT_EQ(api().get("/v1/customers/auto-created", tenant.key).status, 200);
}

TEST_P(AuditTrail, RecordNamesTenantActorActionTargetRequestTimeAndAfter) {
  const Tenant tenant = make_tenant("Acme");
  api().clock().set(at("2026-02-01T08:30:00Z"));
  const auto created = create_customer(tenant, "c1");
  ASSERT_EQ(created.status, 201);
  const auto* request_id = created.header("X-Request-Id");
  ASSERT_NE(request_id, nullptr);
  ASSERT_FALSE(request_id->empty());

  const auto records = walk("/v1/audit?action=customer.created", tenant.key, 10);
  ASSERT_EQ(records.size(), 1u);
  const auto& record = records[0];
  EXPECT_FALSE(text_of(record, "id").empty());
  EXPECT_EQ(int_of(record, "seq"), 3);
  if (!member(record, "tenant").is_null()) {
    EXPECT_EQ(text_of(record, "tenant"), tenant.id);
  }
  const auto& actor = member(record, "actor");
  EXPECT_EQ(text_of(actor, "type"), "api_key");
  EXPECT_EQ(text_of(actor, "id"), tenant.key_id);
  EXPECT_EQ(text_of(actor, "name"), tenant.key_name);
  EXPECT_EQ(text_of(record, "action"), "customer.created");
  EXPECT_EQ(text_of(record, "target"), created.field("id"));
  EXPECT_EQ(text_of(record, "request_id"), *request_id);
  const auto time = domain::parse_rfc3339(text_of(record, "time"));
  ASSERT_TRUE(time.has_value()) << text_of(record, "time");
  EXPECT_EQ(*time, at("2026-02-01T08:30:00Z"));
  EXPECT_TRUE(member(record, "before").is_null());
  EXPECT_EQ(text_of(member(record, "after"), "external_id"), "c1");
  EXPECT_EQ(text_of(member(record, "after"), "id"), created.field("id"));
  EXPECT_TRUE(is_sha256_hex(text_of(record, "hash"))) << text_of(record, "hash");
  EXPECT_TRUE(is_sha256_hex(text_of(record, "prev_hash"))) << text_of(record, "prev_hash");
  EXPECT_NE(text_of(record, "hash"), text_of(record, "prev_hash"));
}

TEST_P(AuditTrail, UpdateRecordCarriesBeforeAndAfter) {
  const Tenant tenant = make_tenant("Acme");
  const auto patched =
      api().call("PATCH", "/v1/tenants/" + tenant.id, test_admin_key, R"({"name":"Acme Renamed"})");
  ASSERT_EQ(patched.status, 200);
  const auto records = walk("/v1/audit?action=tenant.updated", tenant.key, 10);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(text_of(member(records[0], "before"), "name"), "Acme");
  EXPECT_EQ(text_of(member(records[0], "after"), "name"), "Acme Renamed");
  EXPECT_EQ(text_of(member(records[0], "actor"), "type"), "admin");
  EXPECT_EQ(text_of(records[0], "target"), tenant.id);
  EXPECT_EQ(text_of(records[0], "request_id"), *patched.header("X-Request-Id"));
}

TEST_P(AuditTrail, ClientRequestIdIsEchoedAndRecorded) {
  const Tenant tenant = make_tenant("Acme");
  const auto created =
      create_customer(tenant, "c1", "", {{"X-Request-Id", "client-req-2026-0001"}});
  ASSERT_EQ(created.status, 201);
  ASSERT_NE(created.header("X-Request-Id"), nullptr);
  EXPECT_EQ(*created.header("X-Request-Id"), "client-req-2026-0001");
  const auto records = walk("/v1/audit?target=" + created.field("id"), tenant.key, 10);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(text_of(records[0], "request_id"), "client-req-2026-0001");
}

TEST_P(AuditTrail, SeqIsContiguousAndEachRecordChainsToThePrevious) {
  const Tenant tenant = make_tenant("Acme");
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(create_customer(tenant, "c" + std::to_string(i)).status, 201);
  const auto trail = audit_trail(tenant);
  ASSERT_EQ(trail.size(), 7u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < trail.size(); ++i) {
    EXPECT_EQ(int_of(trail[i], "seq"), static_cast<std::int64_t>(i + 1));
    ids.insert(text_of(trail[i], "id"));
    if (i > 0) {
      EXPECT_EQ(text_of(trail[i], "prev_hash"), text_of(trail[i - 1], "hash")) << "seq " << i + 1;
    }
  }
  EXPECT_EQ(ids.size(), trail.size()) << "record ids are unique";
}

TEST_P(AuditTrail, CursorWithLimitOneWalksTheWholeTrail) {
  const Tenant tenant = make_tenant("Acme");
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(create_customer(tenant, "c" + std::to_string(i)).status, 201);
  std::size_t pages = 0;
  const auto one_by_one = walk("/v1/audit", tenant.key, 1, {}, &pages);
  const auto at_once = walk("/v1/audit", tenant.key, 1000);
  ASSERT_EQ(at_once.size(), 8u);
  ASSERT_EQ(one_by_one.size(), at_once.size());
  EXPECT_GE(pages, 8u);
  for (std::size_t i = 0; i < at_once.size(); ++i) {
    EXPECT_EQ(json::serialize(one_by_one[i]), json::serialize(at_once[i])) << "item " << i;
    EXPECT_EQ(int_of(one_by_one[i], "seq"), static_cast<std::int64_t>(i + 1));
  }
  // Other page sizes give the same sequence.
  for (const std::size_t limit : {2u, 3u, 7u, 8u, 9u}) {
    const auto paged = walk("/v1/audit", tenant.key, limit);
    ASSERT_EQ(paged.size(), at_once.size()) << "limit " << limit;
    for (std::size_t i = 0; i < paged.size(); ++i) {
      EXPECT_EQ(int_of(paged[i], "seq"), static_cast<std::int64_t>(i + 1)) << "limit " << limit;
    }
  }
}

class AuditFilters : public HttpTest {
 protected:
  void SetUp() override {
    api().clock().set(at("2026-03-01T10:00:00Z"));
    tenant_ = make_tenant("Acme");                         // seq 1, 2 at 10:00 (admin)
    second_ = make_key(tenant_.id, kAllScopes, "second");  // seq 3 at 10:00 (admin)
    api().clock().set(at("2026-03-01T11:00:00Z"));
    c1_ = create_customer(tenant_, "c1").field("id");  // seq 4 at 11:00 (first key)
    api().clock().set(at("2026-03-01T12:00:00Z"));
    c2_ = api().post("/v1/customers", second_.secret, customer_body("c2")).field("id");  // seq 5
    api().clock().set(at("2026-03-01T13:00:00Z"));
    ASSERT_EQ(
        api()
            .call("PATCH", "/v1/tenants/" + tenant_.id, test_admin_key, R"({"name":"Acme 2"})")
            .status,
        200);  // seq 6 at 13:00 (admin)
    ASSERT_FALSE(c1_.empty());
    ASSERT_FALSE(c2_.empty());
  }

  std::vector<std::int64_t> seqs(const std::string& query, std::size_t limit = 1000) {
    std::vector<std::int64_t> out;
    for (const auto& record : walk("/v1/audit" + query, tenant_.key, limit)) {
      out.push_back(int_of(record, "seq"));
    }
    return out;
  }

  using Seqs = std::vector<std::int64_t>;
  Tenant tenant_;
  Key second_;
  std::string c1_, c2_;
};

TEST_P(AuditFilters, FromIsInclusiveAndToIsExclusive) {
  EXPECT_EQ(seqs("?from=2026-03-01T12:00:00Z"), (Seqs{5, 6}));
  EXPECT_EQ(seqs("?to=2026-03-01T12:00:00Z"), (Seqs{1, 2, 3, 4}));
  EXPECT_EQ(seqs("?from=2026-03-01T11:00:00Z&to=2026-03-01T12:00:00Z"), (Seqs{4}));
  EXPECT_EQ(seqs("?from=2026-03-01T11:30:00Z&to=2026-03-01T11:59:59Z"), (Seqs{}));
  EXPECT_EQ(seqs("?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z"), (Seqs{1, 2, 3, 4, 5, 6}));
}

TEST_P(AuditFilters, ActorActionAndTarget) {
  EXPECT_EQ(seqs("?actor=" + tenant_.key_id), (Seqs{4}));
  EXPECT_EQ(seqs("?actor=" + second_.id), (Seqs{5}));
  EXPECT_EQ(seqs("?action=customer.created"), (Seqs{4, 5}));
  EXPECT_EQ(seqs("?action=api_key.created"), (Seqs{2, 3}));
  EXPECT_EQ(seqs("?action=tenant.updated"), (Seqs{6}));
  EXPECT_EQ(seqs("?action=no.such.action"), (Seqs{}));
  EXPECT_EQ(seqs("?target=" + c1_), (Seqs{4}));
  EXPECT_EQ(seqs("?target=" + second_.id), (Seqs{3}));
  EXPECT_EQ(seqs("?target=" + tenant_.id), (Seqs{1, 6}));
}

TEST_P(AuditFilters, FiltersCombineAndPageByCursor) {
  EXPECT_EQ(seqs("?action=customer.created&actor=" + second_.id), (Seqs{5}));
  EXPECT_EQ(seqs("?action=customer.created&from=2026-03-01T11:30:00Z"), (Seqs{5}));
  EXPECT_EQ(seqs("?action=api_key.created", 1), (Seqs{2, 3}));
  EXPECT_EQ(seqs("?from=2026-03-01T10:00:00Z", 1), (Seqs{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(seqs("?target=" + tenant_.id, 1), (Seqs{1, 6}));
}

TEST_P(AuditFilters, TimeFilterAcceptsOffsets) {
  // 13:00+01:00 is 12:00Z.
  EXPECT_EQ(seqs("?from=" + percent_encode("2026-03-01T13:00:00+01:00")), (Seqs{5, 6}));
}

class AuditVerify : public HttpTest {};

TEST_P(AuditVerify, IntactChainReportsOkRecordsAndHead) {
  const Tenant tenant = make_tenant("Acme");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(create_customer(tenant, "c" + std::to_string(i)).status, 201);
  const auto verify = api().get("/v1/audit/verify", tenant.key);
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_TRUE(member(verify.json, "ok").is_bool());
  EXPECT_TRUE(member(verify.json, "ok").as_bool()) << verify.body;
  EXPECT_EQ(int_of(verify.json, "records"), 5);
  const auto trail = audit_trail(tenant);
  ASSERT_EQ(trail.size(), 5u);
  EXPECT_EQ(verify.field("head"), text_of(trail.back(), "hash"));
  EXPECT_TRUE(member(verify.json, "first_broken_seq").is_null()) << verify.body;

  // The head follows the chain.
  ASSERT_EQ(create_customer(tenant, "c9").status, 201);
  const auto again = api().get("/v1/audit/verify", tenant.key);
  EXPECT_EQ(int_of(again.json, "records"), 6);
  EXPECT_NE(again.field("head"), verify.field("head"));
  EXPECT_EQ(again.field("head"), text_of(audit_trail(tenant).back(), "hash"));
}

TEST_P(AuditVerify, AdminReadsAreChainedLikeEverythingElse) {
  const Tenant tenant = make_tenant("Acme");
  ASSERT_EQ(admin_read("/v1/customers", tenant.id, "one").status, 200);
  ASSERT_EQ(admin_read("/v1/audit", tenant.id, "two").status, 200);
  const auto verify = admin_read("/v1/audit/verify", tenant.id, "three");
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_TRUE(member(verify.json, "ok").as_bool()) << verify.body;
  EXPECT_EQ(int_of(verify.json, "records"), 5) << "2 setup records + 3 recorded admin reads";
}

TEST_P(AuditVerify, OperatorScopeMayVerifyAndList) {
  const Tenant tenant = make_tenant("Acme");
  const Key op = make_key(tenant.id, R"(["operator"])", "operator");
  EXPECT_EQ(api().get("/v1/audit/verify", op.secret).status, 200);
  EXPECT_EQ(api().get("/v1/audit", op.secret).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTrail, ::testing::ValuesIn(test_backends()), backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, AuditFilters, ::testing::ValuesIn(test_backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, AuditVerify, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
