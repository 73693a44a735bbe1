// Tenant isolation (DESIGN.md principles 1 and 7): two tenants A and B. For every endpoint of the
// route table, B can neither read nor write A's objects; B's audit trail never holds A's records;
// the tenant comes from the key alone; the same Idempotency-Key in A and B never collides.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "http/routes.hpp"
#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

// A window around the events' hour (kEventTime), for usage reads.
constexpr const char* kUsageWindow = "from=2026-01-05T00:00:00Z&to=2026-01-06T00:00:00Z";

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
    // A meters its events (a count, and a sum grouped by a property) and has usage buckets; B has
    // a meter, events and usage of its own.
    for (const std::string body :
         {R"({"code":"alpha_count","event_type":"alpha_event","aggregation":"count"})",
          R"({"code":"alpha_tokens","event_type":"alpha_event","aggregation":"sum",)"
          R"("field":"tokens","group_by":["model"]})"}) {
      const auto meter = api().post("/v1/meters", a_.key, body);
      ASSERT_EQ(meter.status, 201) << meter.body;
      a_meter_ids_.push_back(meter.field("id"));
    }
    const auto b_meter =
        api().post("/v1/meters", b_.key,
                   R"({"code":"beta_count","event_type":"beta_event","aggregation":"count"})");
    ASSERT_EQ(b_meter.status, 201) << b_meter.body;
    // Each has a plan; A's prices A's meter under a name only A's data holds.
    const auto a_plan = api().post("/v1/plans", a_.key,
                                   plan_body("alpha_plan", "Alpha Secret Plan", "alpha_tokens"));
    ASSERT_EQ(a_plan.status, 201) << a_plan.body;
    // A second plan of A's whose code B then uses for a plan of its own.
    const auto a_spare = api().post("/v1/plans", a_.key,
                                    plan_body("alpha_spare", "Alpha Spare Plan", "alpha_tokens"));
    ASSERT_EQ(a_spare.status, 201) << a_spare.body;
    const auto b_plan =
        api().post("/v1/plans", b_.key, plan_body("beta_plan", "Beta Plan", "beta_count"));
    ASSERT_EQ(b_plan.status, 201) << b_plan.body;
    // Each has a subscription; B also has a plan without usage, for a second one of its own.
    const auto a_subscription = api().post(
        "/v1/subscriptions", a_.key,
        R"({"customer":"alpha-only-customer","plan":"alpha_plan","start":"2026-01-01T00:00:00Z"})");
    ASSERT_EQ(a_subscription.status, 201) << a_subscription.body;
    a_subscription_id_ = a_subscription.field("id");
    const auto b_subscription = api().post(
        "/v1/subscriptions", b_.key,
        R"({"customer":"beta-customer","plan":"beta_plan","start":"2026-01-01T00:00:00Z"})");
    ASSERT_EQ(b_subscription.status, 201) << b_subscription.body;
    b_subscription_id_ = b_subscription.field("id");
    ASSERT_EQ(api()
                  .post("/v1/plans", b_.key,
                        R"({"code":"beta_flat","name":"Beta Flat","currency":"USD",)"
                        R"("interval":"month","effective_from":"2026-01-01T00:00:00Z",)"
                        R"("charges":[{"type":"recurring","amount":"1.00"}]})")
                  .status,
              201);
    const std::string a_properties = R"({"tokens":"7.5","model":"alpha-secret-model"})";
    const auto a_events = api().post(
        "/v1/events", a_.key,
        events_body(
            {event_json("alpha-ev-1", "alpha-only-customer", "alpha_event", a_properties),
             event_json("alpha-ev-2", "alpha-only-customer", "alpha_event", a_properties),
             event_json("alpha-ev-3", "alpha-only-customer", "alpha_event", a_properties)}));
    ASSERT_EQ(a_events.status, 200) << a_events.body;
    ASSERT_EQ(int_of(a_events.json, "accepted"), 3) << a_events.body;
    const auto b_events = api().post(
        "/v1/events", b_.key,
        events_body({event_json("beta-ev-1", "beta-customer", "beta_event", R"({"model":"b"})")}));
    ASSERT_EQ(b_events.status, 200) << b_events.body;
    ASSERT_EQ(int_of(b_events.json, "accepted"), 1) << b_events.body;
    ASSERT_GT(scalar("SELECT COUNT(*) FROM usage_buckets WHERE tenant_id = $1", {a_.id}), 0);
    ASSERT_GT(scalar("SELECT COUNT(*) FROM usage_buckets WHERE tenant_id = $1", {b_.id}), 0);
    // Billing: each tenant has a draft of its customer's first invoice (at 2026-01-01; runs that
    // do not finalize) and a grant on its ledger.
    for (const Tenant* tenant : {&a_, &b_}) {
      const bool is_a = tenant == &a_;
      const std::string customer = is_a ? "alpha-only-customer" : "beta-customer";
      const auto run = api().post("/v1/billing-runs", tenant->key, R"({"finalize":false})");
      ASSERT_EQ(run.status, 201) << run.body;
      const auto& invoices = member(run.json, "invoices").items();
      ASSERT_EQ(invoices.size(), 1u) << run.body;
      (is_a ? a_invoice_id_ : b_invoice_id_) = text_of(invoices[0], "id");
      const auto grant = api().post("/v1/credit-grants", tenant->key,
                                    R"({"customer":")" + customer +
                                        R"(","amount":"2.00","currency":"USD","kind":"prepaid"})");
      ASSERT_EQ(grant.status, 201) << grant.body;
      if (is_a) {
        a_billing_secrets_ = {a_invoice_id_, text_of(run.json, "id"), grant.field("id")};
        for (const auto& row : query("SELECT transaction_id FROM ledger_transactions WHERE "
                                     "tenant_id = $1",
                                     {a_.id})) {
          a_billing_secrets_.push_back(row.text(0));
        }
      }
    }
    ASSERT_EQ(a_billing_secrets_.size(), 4u) << "A's invoice, run, grant and grant transaction";
    for (const auto& record : audit_trail(a_)) {
      a_audit_hashes_.push_back(text_of(record, "hash"));
      a_audit_ids_.push_back(text_of(record, "id"));
    }
    ASSERT_FALSE(a_audit_hashes_.empty());
  }

  // A plan with a monthly fee and a per-unit price on `meter`, effective at the test clock's start.
  static std::string plan_body(const std::string& code, const std::string& name,
                               const std::string& meter,
                               const std::string& effective_from = "2026-01-01T00:00:00Z") {
    return R"({"code":")" + code + R"(","name":")" + name +
           R"(","currency":"USD","interval":"month","effective_from":")" + effective_from +
           R"(","charges":[{"type":"recurring","amount":"10.00"},{"type":"usage","meter":")" +
           meter + R"(","model":"per_unit","unit_price":"0.5"}]})";
  }

  // Strings only A's data contains; none may ever show up in a response to B.
  std::vector<std::string> a_secrets() const {
    std::vector<std::string> out = {a_.id,
                                    a_customer_id_,
                                    a_subscription_id_,
                                    a_.key_id,
                                    a_.key,
                                    "Customer alpha-only-customer",
                                    "alpha-secret-plan",
                                    "Alpha Secret Plan",
                                    "Alpha Spare Plan",
                                    "alpha_count",
                                    "alpha_tokens",
                                    "alpha_event",
                                    "alpha-ev-1",
                                    "alpha-ev-2",
                                    "alpha-ev-3",
                                    "alpha-secret-model"};
    out.insert(out.end(), a_meter_ids_.begin(), a_meter_ids_.end());
    out.insert(out.end(), a_more_secrets_.begin(), a_more_secrets_.end());
    out.insert(out.end(), a_billing_secrets_.begin(), a_billing_secrets_.end());
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

  // The values of `field` of the items of `list` (a JSON array).
  static std::set<std::string> values_of(const json::Value& list, std::string_view field) {
    std::set<std::string> out;
    for (const auto& item : list.items()) out.insert(text_of(item, field));
    return out;
  }

  // The first column of `sql` (one parameter: B's tenant id), as a set.
  std::set<std::string> b_column(std::string_view sql) {
    std::set<std::string> out;
    for (const auto& row : query(sql, {b_.id})) out.insert(row.text(0));
    return out;
  }

  Tenant a_;
  Tenant b_;
  std::string a_customer_id_;
  std::string a_subscription_id_;
  std::string b_subscription_id_;
  std::vector<std::string> a_meter_ids_;
  std::vector<std::string> a_more_secrets_;     // a test's own objects of A
  std::string a_invoice_id_;                    // A's draft
  std::string b_invoice_id_;                    // B's draft
  std::vector<std::string> a_billing_secrets_;  // A's invoice, run, grant, ledger transactions
  std::vector<std::string> a_audit_hashes_;
  std::vector<std::string> a_audit_ids_;
};

// A problem-details 404 that says exactly what the one for an object that never existed says.
void expect_not_found_like_missing(const TestResponse& response, const TestResponse& missing,
                                   const std::string& label) {
  expect_problem(response, 404, "not-found", label);
  expect_problem(missing, 404, "not-found", label + " (never existed)");
  for (const char* field : {"type", "title", "detail"}) {
    EXPECT_EQ(text_of(response.json, field), text_of(missing.json, field))
        << label << ": " << field;
  }
  EXPECT_EQ(json::serialize(member(response.json, "errors")),
            json::serialize(member(missing.json, "errors")))
      << label;
}

// Walks the whole route table: B's full-scope key aimed at A's objects never reads or changes
// anything of A's. Admin routes refuse a tenant key with 403. Each tenant route has a probe below
// saying exactly what B gets: a read of A's object is a 404 like a missing one (and B's own object
// reads fine), a list holds B's items only, a write acts on B only. A route of the table without a
// probe fails the test. The reads run first, so that B's own copies of A's names the writes make
// cannot hide a leak.
TEST_P(TenantIsolation, EveryRouteInTheTableKeepsTenantBOutOfTenantA) {
  // A customer of A's that no probe of B's creates in B.
  const auto other = create_customer(a_, "alpha-other-customer");
  ASSERT_EQ(other.status, 201) << other.body;
  a_more_secrets_ = {other.field("id"), "alpha-other-customer"};
  const std::string a_before = fingerprint(a_.id);
  const std::map<std::string, std::string> of_a = {{"tenant_id", a_.id},
                                                   {"key_id", a_.key_id},
                                                   {"external_id", "alpha-only-customer"},
                                                   {"code", "alpha_tokens"},
                                                   {"plan_code", "alpha_plan"},
                                                   {"subscription_id", a_subscription_id_},
                                                   {"invoice_id", a_invoice_id_}};
  // Writes aim at A's customer that no probe of B's creates in B: POST /v1/customers (a write
  // before them in the table) gives B a customer of its own named alpha-only-customer.
  auto of_a_for_writes = of_a;
  of_a_for_writes["external_id"] = "alpha-other-customer";
  const std::map<std::string, std::string> of_b = {{"tenant_id", b_.id},
                                                   {"key_id", b_.key_id},
                                                   {"external_id", "beta-customer"},
                                                   {"code", "beta_count"},
                                                   {"plan_code", "beta_plan"},
                                                   {"subscription_id", b_subscription_id_},
                                                   {"invoice_id", b_invoice_id_}};
  const std::map<std::string, std::string> never = {
      {"tenant_id", "ten_never_existed"}, {"key_id", "key_never_existed"},
      {"external_id", "never-existed"},   {"code", "never_existed"},
      {"plan_code", "never_existed"},     {"subscription_id", "sub_never_existed"},
      {"invoice_id", "inv_never_existed"}};
  using Expect = std::function<void(const TestResponse&, const std::string& label)>;
  struct Probe {
    std::string query;  // appended to the target
    std::string body;   // writes
    Expect expect;      // B's answer; routes with placeholders: B's answer about its own object
  };
  const auto expect_list = [&](std::string_view field, std::string_view sql) -> Expect {
    return [&, field, sql](const TestResponse& response, const std::string& label) {
      ASSERT_EQ(response.status, 200) << label << ": " << response.body;
      EXPECT_EQ(values_of(member(response.json, "data"), field), b_column(sql)) << label;
    };
  };
  // B's own object, read through a route with a placeholder: found, and it is B's.
  const auto expect_own = [](std::string_view field, std::string value) -> Expect {
    return [field, value](const TestResponse& response, const std::string& label) {
      ASSERT_EQ(response.status, 200) << label << ": " << response.body;
      EXPECT_EQ(text_of(response.json, field), value) << label;
    };
  };
  const std::string a_event_id_in_b = "alpha-ev-1";
  std::map<std::string, Probe> probes = {
      {"GET /v1/settings",
       {"", "",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_EQ(int_of(member(response.json, "settings"), "late_event_window_days"), 35)
              << label << " (A's is 400)";
        }}},
      {"GET /v1/customers",
       {"", "", expect_list("id", "SELECT customer_id FROM customers WHERE tenant_id = $1")}},
      {"GET /v1/customers/{external_id}", {"", "", expect_own("external_id", "beta-customer")}},
      {"GET /v1/customers/{external_id}/usage",
       {std::string("?") + kUsageWindow, "",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_EQ(values_of(member(response.json, "meters"), "meter"),
                    b_column("SELECT code FROM meters WHERE tenant_id = $1"))
              << label << ": B's usage names B's meters only";
        }}},
      {"GET /v1/meters",
       {"", "", expect_list("id", "SELECT meter_id FROM meters WHERE tenant_id = $1")}},
      {"GET /v1/meters/{code}", {"", "", expect_own("code", "beta_count")}},
      {"GET /v1/plans",
       {"", "", expect_list("code", "SELECT plan_code FROM plans WHERE tenant_id = $1")}},
      {"GET /v1/plans/{plan_code}", {"", "", expect_own("code", "beta_plan")}},
      // A's plan codes are B's to use: a plan of B's, pricing B's meter.
      {"POST /v1/plans",
       {"", plan_body("alpha_spare", "Beta's Alpha", "beta_count"),
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 201) << label << ": " << response.body;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM plans WHERE tenant_id = $1 AND plan_code = "
                           "'alpha_spare' AND name = 'Beta''s Alpha'",
                           {b_.id}),
                    1)
              << label;
        }}},
      // A version of A's plan is not found like a missing plan's; one of B's plan is made.
      {"POST /v1/plans/{plan_code}/versions",
       {"", plan_body("beta_plan", "Beta Plan v2", "beta_count", "2026-03-01T00:00:00Z"),
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 201) << label << ": " << response.body;
          EXPECT_EQ(int_of(response.json, "latest_version"), 2) << label;
        }}},
      {"GET /v1/subscriptions",
       {"?customer=beta-customer", "",
        expect_list("id", "SELECT subscription_id FROM subscriptions WHERE tenant_id = $1")}},
      {"GET /v1/subscriptions/{subscription_id}", {"", "", expect_own("id", b_subscription_id_)}},
      {"GET /v1/subscriptions/{subscription_id}/upcoming",
       {"", "", expect_own("subscription", b_subscription_id_)}},
      // B subscribes its own customer; changes and cancellations aimed at A's subscription are
      // not found like a missing one's, and act on B's own.
      {"POST /v1/subscriptions",
       {"", R"({"customer":"beta-customer","plan":"beta_flat","start":"2026-01-01T00:00:00Z"})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 201) << label << ": " << response.body;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1 AND "
                           "subscription_id = $2",
                           {b_.id, response.field("id")}),
                    1)
              << label;
        }}},
      {"POST /v1/subscriptions/{subscription_id}/changes",
       {"", R"({"seats":4,"effective":"now"})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_EQ(response.field("id"), b_subscription_id_) << label;
          EXPECT_EQ(int_of(response.json, "seats"), 4) << label;
        }}},
      {"POST /v1/subscriptions/{subscription_id}/cancel",
       {"", R"({"at":"period_end"})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_EQ(response.field("id"), b_subscription_id_) << label;
          EXPECT_EQ(response.field("ends_at"), "2026-02-01T00:00:00Z") << label;
        }}},
      {"GET /v1/audit",
       {"", "", expect_list("hash", "SELECT hash FROM audit_records WHERE tenant_id = $1")}},
      {"GET /v1/audit/verify",
       {"", "",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_TRUE(member(response.json, "ok").as_bool()) << label;
          EXPECT_EQ(int_of(response.json, "records"), audit_count(b_.id)) << label;
        }}},
      // Billing reads: B's invoices, balances and ledger only.
      {"GET /v1/invoices",
       {"", "", expect_list("id", "SELECT invoice_id FROM invoices WHERE tenant_id = $1")}},
      {"GET /v1/invoices/{invoice_id}", {"", "", expect_own("id", b_invoice_id_)}},
      {"GET /v1/invoices/{invoice_id}/explain", {"", "", expect_own("invoice", b_invoice_id_)}},
      {"GET /v1/customers/{external_id}/balance",
       {"", "", expect_own("customer", "beta-customer")}},
      {"GET /v1/ledger/transactions",
       {"", "",
        expect_list("id", "SELECT transaction_id FROM ledger_transactions WHERE tenant_id = $1")}},
      {"GET /v1/ledger/balances",
       {"", "",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          std::set<std::string> customers;
          for (const auto& balance : member(response.json, "data").items()) {
            const auto& account = member(balance, "account");
            if (!member(account, "customer").is_null())
              customers.insert(text_of(account, "customer"));
          }
          EXPECT_EQ(customers,
                    b_column("SELECT external_id FROM customers WHERE tenant_id = $1 AND "
                             "customer_id IN (SELECT customer_id FROM ledger_accounts "
                             "WHERE tenant_id = $1)"))
              << label;
          EXPECT_EQ(static_cast<std::int64_t>(member(response.json, "data").items().size()),
                    scalar("SELECT COUNT(*) FROM ledger_accounts WHERE tenant_id = $1", {b_.id}))
              << label;
        }}},
      // Billing writes: a run bills B's customers; A's invoice is not found like a missing one
      // and B's own is finalized, then voided; grants and charges for A's customer's external_id
      // go to B's customer of that name; a payment of A's invoice names an invoice B lacks.
      {"POST /v1/billing-runs",
       {"", R"({"finalize":false})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 201) << label << ": " << response.body;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM billing_runs WHERE tenant_id = $1 AND run_id = $2",
                           {b_.id, response.field("id")}),
                    1)
              << label;
          // B's draft, with the fee of the subscription B's probe added.
          const auto billed = values_of(member(response.json, "invoices"), "id");
          EXPECT_EQ(billed, std::set<std::string>{b_invoice_id_}) << label;
        }}},
      {"POST /v1/invoices/{invoice_id}/finalize",
       {"", "{}",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_EQ(response.field("id"), b_invoice_id_) << label;
          EXPECT_EQ(response.field("status"), "finalized") << label;
        }}},
      {"POST /v1/invoices/{invoice_id}/void",
       {"", R"({"reason_code":"billing_error","justification":"isolation probe"})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_EQ(response.field("id"), b_invoice_id_) << label;
          EXPECT_EQ(response.field("status"), "void") << label;
        }}},
      {"POST /v1/credit-grants",
       {"",
        R"({"customer":"alpha-only-customer","amount":"1.00","currency":"USD","kind":"prepaid"})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 201) << label << ": " << response.body;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM credit_grants g JOIN customers c ON c.tenant_id "
                           "= g.tenant_id AND c.customer_id = g.customer_id WHERE g.tenant_id = "
                           "$1 AND g.grant_id = $2 AND c.external_id = 'alpha-only-customer'",
                           {b_.id, response.field("id")}),
                    1)
              << label;
        }}},
      {"POST /v1/charges",
       {"",
        R"({"customer":"alpha-only-customer","charge_key":"alpha","amount":"1.00",)"
        R"("currency":"USD","description":"B's charge"})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 201) << label << ": " << response.body;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM charges WHERE tenant_id = $1 AND charge_id = $2",
                           {b_.id, response.field("id")}),
                    1)
              << label;
        }}},
      {"POST /v1/payments",
       {"",
        R"({"invoice":")" + a_invoice_id_ +
            R"(","amount":"1.00","provider":"manual","provider_payment_id":"probe"})",
        [&](const TestResponse& response, const std::string& label) {
          expect_problem(response, 422, "validation-failed", label);
          EXPECT_TRUE(has_field_error(response, "invoice", "not_found")) << label << response.body;
        }}},
      // Writes: A's names in B's requests make new objects of B's, never touch A's.
      {"POST /v1/customers",
       {"", customer_body("alpha-only-customer"),
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 201) << label << ": " << response.body;
          EXPECT_NE(response.field("id"), a_customer_id_) << label;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM customers WHERE tenant_id = $1 AND customer_id = "
                           "$2 AND external_id = 'alpha-only-customer'",
                           {b_.id, response.field("id")}),
                    1)
              << label;
        }}},
      // A's customer is not found like a missing one; B's own takes the change.
      {"PATCH /v1/customers/{external_id}",
       {"", R"({"invoice_grace_period_days":7})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_EQ(response.field("external_id"), "beta-customer") << label;
          EXPECT_EQ(int_of(response.json, "invoice_grace_period_days"), 7) << label;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM customers WHERE tenant_id = $1 AND "
                           "external_id = 'beta-customer' AND invoice_grace_period_days = 7",
                           {b_.id}),
                    1)
              << label;
        }}},
      {"POST /v1/events",
       // A's event id is B's to use; A's customer is unknown to B.
       {"",
        events_body(
            {event_json(a_event_id_in_b, "beta-customer", "alpha_event", R"({"tokens":"1"})"),
             event_json("beta-ev-2", "alpha-other-customer", "alpha_event", R"({"tokens":"1"})")}),
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 200) << label << ": " << response.body;
          EXPECT_EQ(int_of(response.json, "accepted"), 1) << label << ": " << response.body;
          EXPECT_EQ(int_of(response.json, "duplicates"), 0) << label << ": " << response.body;
          EXPECT_TRUE(member(response.json, "conflicts").items().empty()) << response.body;
          const auto& rejected = member(response.json, "rejected").items();
          ASSERT_EQ(rejected.size(), 1u) << label << ": " << response.body;
          EXPECT_EQ(int_of(rejected[0], "index"), 1) << label;
          EXPECT_EQ(text_of(rejected[0], "type"), "unknown_customer") << label;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM events WHERE tenant_id = $1 AND event_id = $2",
                           {b_.id, a_event_id_in_b}),
                    1)
              << label;
        }}},
      {"POST /v1/meters",
       // A's code is B's to use; the backfill counts B's events of the type, none of A's.
       {"", R"({"code":"alpha_count","event_type":"alpha_event","aggregation":"count"})",
        [&](const TestResponse& response, const std::string& label) {
          ASSERT_EQ(response.status, 201) << label << ": " << response.body;
          const std::string id = response.field("id");
          EXPECT_EQ(std::count(a_meter_ids_.begin(), a_meter_ids_.end(), id), 0) << label;
          EXPECT_EQ(scalar("SELECT COUNT(*) FROM meters WHERE tenant_id = $1 AND meter_id = $2",
                           {b_.id, id}),
                    1)
              << label;
          EXPECT_EQ(scalar("SELECT COALESCE(SUM(event_count), 0) FROM usage_buckets WHERE "
                           "tenant_id = $1 AND meter_id = $2",
                           {b_.id, id}),
                    scalar("SELECT COUNT(*) FROM events WHERE tenant_id = $1 AND event_type = "
                           "'alpha_event'",
                           {b_.id}))
              << label;
        }}},
  };

  std::size_t probed = 0;
  std::set<std::string> used;
  for (const bool writes : {false, true}) {
    for (const auto& route : http::routes()) {
      if (route.access == http::Access::public_ || is_write(route) != writes) continue;
      const std::string method(route.method);
      const auto found = probes.find(route_key(route));
      const bool tenant_route = route.access == http::Access::tenant;
      if (tenant_route && found == probes.end()) {
        ADD_FAILURE() << route_key(route)
                      << ": a tenant route without an isolation probe; add one to `probes`";
      }
      Probe probe;
      if (found != probes.end()) {
        probe = found->second;
        used.insert(found->first);
      } else if (writes) {
        probe.body = R"({"tenant":")" + a_.id + R"(","name":"Hijack"})";
      }
      const auto call = [&](const std::map<std::string, std::string>& values) {
        const std::string target = fill_route(route, values) + probe.query;
        const std::string label = method + " " + std::string(route.name) + " as " + target;
        const auto response = api().call(method, target, b_.key, probe.body,
                                         {{"X-Neruba-Tenant", a_.id},
                                          {"X-Neruba-Justification", "I am B, let me in"},
                                          {"Idempotency-Key", "probe-" + std::to_string(probed)}});
        ++probed;
        EXPECT_NE(response.status, 500) << label << ": " << response.body;
        expect_no_leak(response, target + "\n" + probe.body, label);
        EXPECT_UNCHANGED(a_before, fingerprint(a_.id)) << label << " changed tenant A";
        return std::make_pair(response, label);
      };
      const auto [response, label] = call(writes ? of_a_for_writes : of_a);
      if (!tenant_route) {
        expect_problem(response, 403, "insufficient-scope", label);
        continue;
      }
      if (route.name.find('{') == std::string_view::npos) {
        if (probe.expect) probe.expect(response, label);
        continue;
      }
      // A's object is not found exactly like one that never existed; B's own is found (a write
      // aimed at an object acts on B's only: its probe says how).
      ASSERT_TRUE(!writes || found != probes.end())
          << label << ": a write aimed at an object needs its own probe here";
      expect_not_found_like_missing(response, call(never).first, label);
      const auto [own, own_label] = call(of_b);
      if (probe.expect) probe.expect(own, own_label);
    }
  }
  EXPECT_GE(probed, 13u) << "the route table shrank?";
  for (const auto& [key, probe] : probes) {
    EXPECT_EQ(used.count(key), 1u) << key << ": a probe for a route that is not in the table";
  }
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

TEST_P(TenantIsolation, BForAsCustomerSeesNoInvoiceBalanceOrLedger) {
  const std::string a_before = fingerprint(a_.id);
  const auto invoices = api().get("/v1/invoices?customer=alpha-only-customer", b_.key);
  ASSERT_EQ(invoices.status, 200) << invoices.body;
  EXPECT_EQ(invoices.body, R"({"data":[],"next_cursor":null})");
  for (const std::string target : {"/v1/ledger/balances?customer=alpha-only-customer",
                                   "/v1/ledger/transactions?customer=alpha-only-customer",
                                   "/v1/customers/alpha-only-customer/balance"}) {
    const auto response = api().get(target, b_.key);
    expect_problem(response, 404, "not-found", target);
    expect_no_leak(response, target, target);
  }
  // A's invoice is no invoice of B's to bill, pay or explain.
  expect_problem(api().post("/v1/billing-runs", b_.key, R"({"customer":"alpha-only-customer"})"),
                 422, "validation-failed");
  expect_problem(api().get("/v1/invoices/" + a_invoice_id_ + "/explain", b_.key), 404, "not-found");
  EXPECT_UNCHANGED(a_before, fingerprint(a_.id));
  // A sees its own.
  const auto own = api().get("/v1/ledger/balances?customer=alpha-only-customer", a_.key);
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(member(own.json, "data").items().size(), 2u) << own.body;  // cash, prepaid credit
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
