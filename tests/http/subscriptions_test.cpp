// Subscriptions (API.md "Subscriptions", "Billing semantics"): create, change, cancel, read, list
// by customer and the upcoming invoice, on both backends. Every amount below is computed by hand
// in the comment above its check.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/ids.hpp"
#include "domain/time.hpp"
#include "http_test_support.hpp"
#include "services/catalog.hpp"
#include "services/subscriptions.hpp"
#include "support/lock_waiters.hpp"

namespace neruba::test::http_tests {
namespace {

using namespace std::chrono_literals;

// basic: 30.00 a month in advance, 10.00 a seat, tokens graduated 0.01 up to 1,000 then 0.005.
constexpr const char* kBasic =
    R"({"code":"basic","name":"Basic","currency":"USD","interval":"month",)"
    R"("effective_from":"2025-01-01T00:00:00Z","charges":[)"
    R"({"type":"recurring","amount":"30.00","timing":"advance"},)"
    R"({"type":"seat","unit_price":"10.00"},)"
    R"({"type":"usage","meter":"tokens","model":"graduated","tiers":[)"
    R"({"up_to":"1000","unit_price":"0.01"},{"up_to":null,"unit_price":"0.005"}]}]})";
// pro: 60.00 a month, 10.00 a seat, tokens graduated 0.008 up to 1,000 then 0.004.
constexpr const char* kPro =
    R"({"code":"pro","name":"Pro","currency":"USD","interval":"month",)"
    R"("effective_from":"2025-01-01T00:00:00Z","charges":[)"
    R"({"type":"recurring","amount":"60.00","timing":"advance"},)"
    R"({"type":"seat","unit_price":"10.00"},)"
    R"({"type":"usage","meter":"tokens","model":"graduated","tiers":[)"
    R"({"up_to":"1000","unit_price":"0.008"},{"up_to":null,"unit_price":"0.004"}]}]})";
// storage: 5.00 a month and the peak of storage_gb at 0.10 a GB; it prices no token.
constexpr const char* kStorage =
    R"({"code":"storage","name":"Storage","currency":"USD","interval":"month",)"
    R"("effective_from":"2025-01-01T00:00:00Z","charges":[)"
    R"({"type":"recurring","amount":"5.00"},)"
    R"({"type":"usage","meter":"storage_gb","model":"per_unit","unit_price":"0.10"}]})";

class Subscriptions : public HttpTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Subscriptions Co");
    for (const char* body :
         {R"({"code":"tokens","event_type":"completion","aggregation":"sum","field":"n"})",
          R"({"code":"storage_gb","event_type":"storage","aggregation":"max","field":"gb"})"}) {
      const auto meter = api().post("/v1/meters", tenant_.key, body);
      ASSERT_EQ(meter.status, 201) << meter.body;
    }
    for (const char* plan : {kBasic, kPro, kStorage}) {
      const auto created = api().post("/v1/plans", tenant_.key, plan);
      ASSERT_EQ(created.status, 201) << created.body;
    }
    const auto customer = api().post("/v1/customers", tenant_.key,
                                     R"({"external_id":"acme","name":"Acme","currency":"USD"})");
    ASSERT_EQ(customer.status, 201) << customer.body;
  }

  void tokens(const std::string& event_id, const std::string& at, int n) {
    const auto sent = api().post(
        "/v1/events", tenant_.key,
        R"({"events":[{"event_id":")" + event_id + R"(","customer":"acme","type":"completion",)" +
            R"("timestamp":")" + at + R"(","properties":{"n":)" + std::to_string(n) + "}}]}");
    ASSERT_EQ(sent.status, 200) << sent.body;
  }

  // "charge_type amount" of each line of an upcoming invoice.
  static std::vector<std::string> lines_of(const TestResponse& upcoming) {
    std::vector<std::string> out;
    for (const auto& line : member(upcoming.json, "lines").items()) {
      out.push_back(text_of(line, "charge_type") + " " + text_of(line, "amount"));
    }
    return out;
  }

  std::string subscribe(const std::string& body) {
    const auto created = api().post("/v1/subscriptions", tenant_.key, body);
    EXPECT_EQ(created.status, 201) << created.body;
    return created.field("id");
  }

  void expect_rejected(const std::string& path, const std::string& body, int status,
                       const std::string& slug, const std::string& field, const std::string& type) {
    const std::string before = fingerprint(tenant_.id);
    const auto response = api().post(path, tenant_.key, body);
    expect_problem(response, status, slug, body);
    if (!field.empty()) {
      EXPECT_TRUE(has_field_error(response, field, type))
          << "expected " << field << "/" << type << " for " << body << "\n"
          << response.body;
    }
    EXPECT_UNCHANGED(before, fingerprint(tenant_.id)) << body;
  }

  Tenant tenant_;
};

TEST_P(Subscriptions, ALifecycleUpgradesMidPeriodAndTheUpcomingInvoiceExplainsEveryLine) {
  // The clock reads 2026-01-05T10:00:00Z. A subscription from the first of the month, 2 seats.
  const auto created = post_replayed(
      "/v1/subscriptions", tenant_,
      R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z","seats":2})", "sub-1");
  const std::string id = created.field("id");
  ASSERT_EQ(id.rfind("sub_", 0), 0u) << created.body;
  EXPECT_EQ(created.field("status"), "active");
  EXPECT_EQ(created.field("plan"), "basic");
  EXPECT_EQ(int_of(created.json, "seats"), 2);
  EXPECT_EQ(created.field("billing_anchor"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(text_of(member(created.json, "current_period"), "start"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(text_of(member(created.json, "current_period"), "end"), "2026-02-01T00:00:00Z");

  tokens("t1", "2026-01-05T09:30:00Z", 1500);
  auto upcoming = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  ASSERT_EQ(upcoming.status, 200) << upcoming.body;
  EXPECT_EQ(upcoming.field("period_start"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(upcoming.field("period_end"), "2026-02-01T00:00:00Z");
  EXPECT_EQ(upcoming.field("billing_instant"), "2026-02-01T00:00:00Z");
  EXPECT_EQ(upcoming.field("usage_until"), "2026-01-05T10:00:00Z");
  // Tokens: 1,000 × 0.01 + 500 × 0.005 = 12.50; February opens: 30.00 and 2 × 10.00.
  EXPECT_EQ(lines_of(upcoming),
            (std::vector<std::string>{"usage 12.50", "recurring 30.00", "seat 20.00"}));
  EXPECT_EQ(upcoming.field("total"), "62.50");
  const auto& usage_line = member(upcoming.json, "lines").items().at(0);
  const auto& explanation = member(usage_line, "explanation");
  EXPECT_EQ(text_of(explanation, "plan"), "basic");
  EXPECT_EQ(int_of(explanation, "plan_version"), 1);
  const auto& tiers = member(member(explanation, "usage"), "tiers").items();
  ASSERT_EQ(tiers.size(), 2u) << upcoming.body;
  EXPECT_EQ(text_of(tiers[0], "units"), "1000");
  EXPECT_EQ(text_of(tiers[1], "units"), "500");

  // Upgrade now to pro with 3 seats. January has 2,678,400 s; from 2026-01-05T10:00Z to February
  // 2,296,800 s remain: factor 2,296,800 / 2,678,400 = 319/372.
  const auto changed = post_replayed("/v1/subscriptions/" + id + "/changes", tenant_,
                                     R"({"plan":"pro","seats":3,"effective":"now"})", "sub-2", 200);
  EXPECT_EQ(changed.field("plan"), "pro");
  EXPECT_EQ(int_of(changed.json, "seats"), 3);
  EXPECT_EQ(member(changed.json, "phases").items().size(), 2u);

  api().clock().set(*domain::parse_rfc3339("2026-01-06T00:00:00Z"));
  tokens("t2", "2026-01-05T12:00:00Z", 1000);
  upcoming = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  ASSERT_EQ(upcoming.status, 200) << upcoming.body;
  // Credits: 30 × 319/372 = 25.7258… → 25.73 and 20 × 319/372 = 17.1505… → 17.15; charges: 60 ×
  // 319/372 = 51.4516… → 51.45 and 30 × 319/372 = 25.73. Tokens before the change on basic:
  // 12.50; after it on pro, the 1,000 tokens sit above the 1,500 already used: 1,000 × 0.004 =
  // 4.00. February opens on pro: 60.00 and 3 × 10.00.
  EXPECT_EQ(lines_of(upcoming),
            (std::vector<std::string>{"proration -25.73", "proration -17.15", "proration 51.45",
                                      "proration 25.73", "usage 12.50", "usage 4.00",
                                      "recurring 60.00", "seat 30.00"}));
  // −25.73 − 17.15 + 51.45 + 25.73 + 12.50 + 4.00 + 60.00 + 30.00
  EXPECT_EQ(upcoming.field("subtotal"), "140.80");
  EXPECT_EQ(upcoming.field("total"), "140.80");
  const auto& credit = member(upcoming.json, "lines").items().at(0);
  EXPECT_EQ(text_of(member(member(credit, "explanation"), "proration"), "factor"), "319/372");
  EXPECT_EQ(text_of(member(credit, "explanation"), "credit_of"), "recurring");
  const auto& pro_usage = member(upcoming.json, "lines").items().at(5);
  EXPECT_EQ(text_of(member(member(pro_usage, "explanation"), "usage"), "already_used"), "1500");

  // Cancel at the period's end: February opens nothing.
  const auto canceled = post_replayed("/v1/subscriptions/" + id + "/cancel", tenant_,
                                      R"({"at":"period_end"})", "sub-3", 200);
  EXPECT_EQ(canceled.field("ends_at"), "2026-02-01T00:00:00Z");
  upcoming = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  EXPECT_EQ(upcoming.field("total"), "50.80") << upcoming.body;
  // A change that would take effect at or after the end is refused (one before it is not).
  expect_rejected("/v1/subscriptions/" + id + "/changes", R"({"seats":5,"effective":"period_end"})",
                  409, "conflict", "effective", "subscription_ending");
  expect_rejected("/v1/subscriptions/" + id + "/cancel", R"({"at":"now"})", 409, "conflict", "at",
                  "subscription_ending");

  // Every write is in the audit trail with its effective date.
  const auto audit = api().get("/v1/audit?limit=1000", tenant_.key);
  std::vector<std::string> actions;
  for (const auto& record : member(audit.json, "data").items()) {
    const std::string action = text_of(record, "action");
    if (action.rfind("subscription.", 0) != 0) continue;
    actions.push_back(action);
    EXPECT_EQ(text_of(record, "target"), id);
    if (action == "subscription.changed") {
      EXPECT_EQ(text_of(member(record, "after"), "effective"), "2026-01-05T10:00:00Z");
      EXPECT_EQ(text_of(member(record, "before"), "plan"), "basic");
    }
    if (action == "subscription.canceled") {
      EXPECT_EQ(text_of(member(record, "after"), "ends_at"), "2026-02-01T00:00:00Z");
    }
  }
  std::sort(actions.begin(), actions.end());
  EXPECT_EQ(actions, (std::vector<std::string>{"subscription.canceled", "subscription.changed",
                                               "subscription.created"}));

  // After the end, there is nothing upcoming.
  api().clock().set(*domain::parse_rfc3339("2026-02-01T00:00:00Z"));
  const auto ended = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  expect_problem(ended, 409, "conflict", "upcoming after the end");
  EXPECT_EQ(api().get("/v1/subscriptions/" + id, tenant_.key).field("status"), "canceled");
}

TEST_P(Subscriptions, ATrialChargesNoFeeAndItsUsageIsFree) {
  const std::string id =
      subscribe(R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z",)"
                R"("trial_end":"2026-01-15T00:00:00Z"})");
  const auto got = api().get("/v1/subscriptions/" + id, tenant_.key);
  EXPECT_EQ(got.field("status"), "trialing");
  EXPECT_EQ(got.field("billing_anchor"), "2026-01-15T00:00:00Z");
  tokens("t1", "2026-01-05T09:00:00Z", 5000);
  const auto upcoming = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  ASSERT_EQ(upcoming.status, 200) << upcoming.body;
  // The trial closes at its end with nothing to bill; the first period opens there: 30.00 and
  // one seat (the default) at 10.00.
  EXPECT_EQ(upcoming.field("period_end"), "2026-01-15T00:00:00Z");
  EXPECT_EQ(lines_of(upcoming), (std::vector<std::string>{"recurring 30.00", "seat 10.00"}));
}

TEST_P(Subscriptions, AStubUpToALaterAnchorIsProratedAtTheStart) {
  // From 2026-01-10 to the anchor on 2026-01-20: 10 of the 31 days of [Dec 20, Jan 20).
  const std::string id =
      subscribe(R"({"customer":"acme","plan":"basic","start":"2026-01-10T00:00:00Z",)"
                R"("billing_anchor":"2026-01-20T00:00:00Z","seats":1})");
  api().clock().set(*domain::parse_rfc3339("2026-01-09T00:00:00Z"));
  const auto upcoming = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  ASSERT_EQ(upcoming.status, 200) << upcoming.body;
  EXPECT_EQ(upcoming.field("billing_instant"), "2026-01-10T00:00:00Z");
  // 30 × 10/31 = 9.677… → 9.68; 10 × 10/31 = 3.2258… → 3.23.
  EXPECT_EQ(lines_of(upcoming), (std::vector<std::string>{"recurring 9.68", "seat 3.23"}));
  EXPECT_EQ(api().get("/v1/subscriptions/" + id, tenant_.key).field("status"), "scheduled");
}

TEST_P(Subscriptions, AMeterIsNeverPricedByTwoSubscriptionsOfOneCustomer) {
  const std::string first =
      subscribe(R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z"})");
  // pro prices tokens too: refused, nothing written.
  expect_rejected("/v1/subscriptions",
                  R"({"customer":"acme","plan":"pro","start":"2026-01-01T00:00:00Z"})", 409,
                  "conflict", "plan", "meter_already_billed");
  // storage prices another meter: accepted; moving it onto pro is refused.
  const std::string second =
      subscribe(R"({"customer":"acme","plan":"storage","start":"2026-01-01T00:00:00Z"})");
  expect_rejected("/v1/subscriptions/" + second + "/changes", R"({"plan":"pro","effective":"now"})",
                  409, "conflict", "plan", "meter_already_billed");
  // Once the first has ended, pro may follow it.
  ASSERT_EQ(api()
                .post("/v1/subscriptions/" + first + "/cancel", tenant_.key,
                      R"({"at":"2026-02-01T00:00:00Z"})")
                .status,
            200);
  subscribe(R"({"customer":"acme","plan":"pro","start":"2026-02-01T00:00:00Z"})");

  const auto listed = api().get("/v1/subscriptions?customer=acme&limit=2", tenant_.key);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(member(listed.json, "data").items().size(), 2u);
  const std::string cursor = listed.field("next_cursor");
  ASSERT_FALSE(cursor.empty()) << listed.body;
  const auto rest = api().get("/v1/subscriptions?customer=acme&cursor=" + cursor, tenant_.key);
  EXPECT_EQ(member(rest.json, "data").items().size(), 1u) << rest.body;
}

// A plan's new version may not start pricing a meter that another subscription of one of its
// subscribers prices: refused like a second subscription would be.
TEST_P(Subscriptions, ANewPlanVersionNeverPricesAMeterTwiceForASubscriber) {
  subscribe(R"({"customer":"acme","plan":"storage","start":"2026-01-01T00:00:00Z"})");
  const std::string tokens_plan =
      subscribe(R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z"})");
  const std::string with_tokens =
      R"({"name":"Storage 2","currency":"USD","interval":"month",)"
      R"("effective_from":"2026-03-01T00:00:00Z","charges":[)"
      R"({"type":"recurring","amount":"5.00"},)"
      R"({"type":"usage","meter":"storage_gb","model":"per_unit","unit_price":"0.10"},)"
      R"({"type":"usage","meter":"tokens","model":"per_unit","unit_price":"0.001"}]})";
  expect_rejected("/v1/plans/storage/versions", with_tokens, 409, "conflict", "plan",
                  "meter_already_billed");
  // A version that prices the same meters is fine.
  const auto same_meters = api().post(
      "/v1/plans/storage/versions", tenant_.key,
      R"({"name":"Storage 2","currency":"USD","interval":"month",)"
      R"("effective_from":"2026-03-01T00:00:00Z","charges":[)"
      R"({"type":"recurring","amount":"6.00"},)"
      R"({"type":"usage","meter":"storage_gb","model":"per_unit","unit_price":"0.12"}]})");
  ASSERT_EQ(same_meters.status, 201) << same_meters.body;
  // Once the tokens subscription ends before it takes effect, the meter is free for the plan.
  ASSERT_EQ(api()
                .post("/v1/subscriptions/" + tokens_plan + "/cancel", tenant_.key,
                      R"({"at":"2026-04-01T00:00:00Z"})")
                .status,
            200);
  std::string later = with_tokens;
  later.replace(later.find("2026-03-01"), 10, "2026-04-01");
  const auto added = api().post("/v1/plans/storage/versions", tenant_.key, later);
  EXPECT_EQ(added.status, 201) << added.body;
}

TEST_P(Subscriptions, BadRequestsAreRefusedPreciselyAndWriteNothing) {
  const std::string create = "/v1/subscriptions";
  expect_rejected(create, R"({"plan":"basic","start":"2026-01-01T00:00:00Z"})", 422,
                  "validation-failed", "customer", "required");
  expect_rejected(create, R"({"customer":"acme","plan":"basic","start":"yesterday"})", 422,
                  "validation-failed", "start", "invalid_value");
  expect_rejected(create,
                  R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z","seats":-1})",
                  422, "validation-failed", "seats", "out_of_range");
  expect_rejected(create,
                  R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z",)"
                  R"("trial_end":"2025-12-01T00:00:00Z"})",
                  422, "validation-failed", "trial_end", "invalid_value");
  expect_rejected(create,
                  R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z",)"
                  R"("trial_end":"2026-01-15T00:00:00Z","billing_anchor":"2026-01-20T00:00:00Z"})",
                  422, "validation-failed", "billing_anchor", "invalid_value");
  // An anchor more than one interval after the start.
  expect_rejected(create,
                  R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z",)"
                  R"("billing_anchor":"2026-03-01T00:00:00Z"})",
                  422, "validation-failed", "billing_anchor", "timeline_invalid");
  expect_rejected(create,
                  R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z","x":1})", 422,
                  "validation-failed", "x", "unknown_field");
  expect_rejected(create, R"({"customer":"nobody","plan":"basic","start":"2026-01-01T00:00:00Z"})",
                  404, "not-found", "", "");
  expect_rejected(create, R"({"customer":"acme","plan":"nothing","start":"2026-01-01T00:00:00Z"})",
                  404, "not-found", "", "");
  ASSERT_EQ(api()
                .post("/v1/customers", tenant_.key,
                      R"({"external_id":"euro","name":"Euro","currency":"EUR"})")
                .status,
            201);
  expect_rejected(create, R"({"customer":"euro","plan":"basic","start":"2026-01-01T00:00:00Z"})",
                  422, "validation-failed", "plan", "currency_mismatch");

  const std::string id =
      subscribe(R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z"})");
  const std::string changes = "/v1/subscriptions/" + id + "/changes";
  expect_rejected(changes, R"({"effective":"now"})", 422, "validation-failed", "plan", "required");
  expect_rejected(changes, R"({"seats":2})", 422, "validation-failed", "effective", "required");
  expect_rejected(changes, R"({"seats":2,"effective":"2026-01-01T00:00:00Z"})", 422,
                  "validation-failed", "effective", "invalid_value");
  expect_rejected(changes, R"({"seats":2,"effective":"now","proration":"maybe"})", 422,
                  "validation-failed", "proration", "invalid_value");
  expect_rejected(changes, R"({"plan":"basic","seats":1,"effective":"now"})", 422,
                  "validation-failed", "plan", "nothing_changes");
  expect_rejected("/v1/subscriptions/sub_nothing/changes", R"({"seats":2,"effective":"now"})", 404,
                  "not-found", "", "");
  // A downgrade at the period's end, then another change before it: refused.
  ASSERT_EQ(api().post(changes, tenant_.key, R"({"seats":3,"effective":"period_end"})").status,
            200);
  expect_rejected(changes, R"({"seats":2,"effective":"now"})", 409, "conflict", "effective",
                  "change_already_scheduled");
  expect_rejected("/v1/subscriptions/" + id + "/cancel", R"({"at":"soon"})", 422,
                  "validation-failed", "at", "invalid_value");
  EXPECT_EQ(api().get("/v1/subscriptions", tenant_.key).status, 422);
  EXPECT_EQ(api().get("/v1/subscriptions?customer=nobody", tenant_.key).status, 404);
  EXPECT_EQ(api().get("/v1/subscriptions/sub_nothing/upcoming", tenant_.key).status, 404);
}

TEST_P(Subscriptions, ASubscriptionCanceledBeforeItsStartNeverRuns) {
  const std::string id =
      subscribe(R"({"customer":"acme","plan":"basic","start":"2026-02-01T00:00:00Z"})");
  const auto canceled =
      api().post("/v1/subscriptions/" + id + "/cancel", tenant_.key, R"({"at":"now"})");
  ASSERT_EQ(canceled.status, 200) << canceled.body;
  EXPECT_EQ(canceled.field("ends_at"), "2026-02-01T00:00:00Z");
  EXPECT_EQ(canceled.field("status"), "canceled");
  expect_problem(api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key), 409, "conflict",
                 "upcoming of a subscription that never runs");
  expect_rejected("/v1/subscriptions/" + id + "/changes", R"({"seats":2,"effective":"now"})", 409,
                  "conflict", "effective", "subscription_ending");
  // Its meters are free again from its start on.
  subscribe(R"({"customer":"acme","plan":"pro","start":"2026-02-01T00:00:00Z"})");
}

TEST_P(Subscriptions, APercentageClampedPerEventReadsEachEventsAmount) {
  ASSERT_EQ(api()
                .post("/v1/meters", tenant_.key,
                      R"({"code":"payments","event_type":"payment","aggregation":"sum",)"
                      R"("field":"amount"})")
                .status,
            201);
  ASSERT_EQ(api()
                .post("/v1/plans", tenant_.key,
                      R"({"code":"pay","name":"Pay","currency":"USD","interval":"month",)"
                      R"("effective_from":"2025-01-01T00:00:00Z","charges":[{"type":"usage",)"
                      R"("meter":"payments","model":"percentage","rate":"0.029",)"
                      R"("fixed_fee":"0.30","min_per_event":"0.50","max_per_event":"25.00"}]})")
                .status,
            201);
  const std::string id =
      subscribe(R"({"customer":"acme","plan":"pay","start":"2026-01-01T00:00:00Z"})");
  std::string events;
  int n = 0;
  for (const char* amount : {"10.00", "1.00", "2000"}) {
    if (n++ > 0) events += ",";
    events += R"({"event_id":"p)" + std::to_string(n) +
              R"(","customer":"acme","type":"payment","timestamp":"2026-01-05T09:00:00Z",)" +
              R"("properties":{"amount":")" + amount + R"("}})";
  }
  ASSERT_EQ(api().post("/v1/events", tenant_.key, R"({"events":[)" + events + "]}").status, 200);
  const auto upcoming = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  ASSERT_EQ(upcoming.status, 200) << upcoming.body;
  // 10.00: 0.29 + 0.30 = 0.59; 1.00: 0.029 + 0.30 = 0.329, raised to 0.50; 2000: 58.00 + 0.30 =
  // 58.30, lowered to 25.00. 0.59 + 0.50 + 25.00 = 26.09.
  EXPECT_EQ(lines_of(upcoming), (std::vector<std::string>{"usage 26.09"}));
  const auto& usage =
      member(member(member(upcoming.json, "lines").items().at(0), "explanation"), "usage");
  EXPECT_EQ(int_of(usage, "events_at_minimum"), 1);
  EXPECT_EQ(int_of(usage, "events_at_maximum"), 1);
  EXPECT_EQ(text_of(usage, "quantity"), "2011.00");
}

TEST_P(Subscriptions, ADowngradeAtPeriodEndChangesNothingBeforeIt) {
  const std::string id =
      subscribe(R"({"customer":"acme","plan":"pro","start":"2026-01-01T00:00:00Z","seats":2})");
  const auto before = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  const auto changed = api().post("/v1/subscriptions/" + id + "/changes", tenant_.key,
                                  R"({"plan":"basic","seats":1,"effective":"period_end"})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.field("plan"), "pro") << "the change is not in force yet";
  const auto after = api().get("/v1/subscriptions/" + id + "/upcoming", tenant_.key);
  // January closes as before; February opens on basic: 30.00 and one seat.
  EXPECT_EQ(lines_of(before),
            (std::vector<std::string>{"usage 0.00", "recurring 60.00", "seat 20.00"}));
  EXPECT_EQ(lines_of(after),
            (std::vector<std::string>{"usage 0.00", "recurring 30.00", "seat 10.00"}));
}

// Two subscriptions of one customer that would price one meter, created at once: the second waits
// for the first (the customer's row, taken for update) and then sees it. Forced on PostgreSQL: a
// transaction of the test subscribes the customer and holds it; the request waits on it
// (pg_locks); once the test commits, the request is refused — without the lock both would be
// stored and the meter billed twice.
class SubscriptionRace : public Subscriptions {
 protected:
  // A request context of the test's own, as the edge builds one for a tenant key.
  services::RequestContext competing_context() {
    services::RequestContext ctx;
    ctx.principal.tenant = TenantId(tenant_.id);
    ctx.principal.key_name = "competing writer";
    ctx.request_id = "req_competing";
    ctx.now = api().clock().now();
    ctx.ids = ids_.get();
    return ctx;
  }

  std::unique_ptr<IdGenerator> ids_ = make_random_id_generator();
};

TEST_P(SubscriptionRace, ASecondSubscriptionOnTheSameMeterWaitsAndIsRefused) {
  const services::RequestContext ctx = competing_context();
  auto hold = db().begin(storage::TxMode::write);
  auto body = json::parse(R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z"})");
  ASSERT_TRUE(body.ok());
  const auto held = services::subscriptions::create(*hold, ctx, *body);
  ASSERT_TRUE(held.ok());

  auto second = std::async(std::launch::async, [&] {
    return api().post("/v1/subscriptions", tenant_.key,
                      R"({"customer":"acme","plan":"pro","start":"2026-01-01T00:00:00Z"})");
  });
  EXPECT_EQ(test::wait_for_transaction_waiters(*hold, 1), 1)
      << "the second subscription did not wait for the first";
  EXPECT_EQ(second.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  hold->commit();
  const auto refused = second.get();
  expect_problem(refused, 409, "conflict", "the second subscription");
  EXPECT_TRUE(has_field_error(refused, "plan", "meter_already_billed")) << refused.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1", {tenant_.id}), 1);
}

// A new version of a plan that starts pricing a meter, and a subscription of one of the plan's
// subscribers to another plan pricing that meter, at once: the subscription waits for the
// version (the customer's row, which the version's check takes) and is then refused.
TEST_P(SubscriptionRace, ASubscriptionRacingANewVersionOnTheSameMeterWaitsAndIsRefused) {
  subscribe(R"({"customer":"acme","plan":"storage","start":"2026-01-01T00:00:00Z"})");
  const services::RequestContext ctx = competing_context();
  auto hold = db().begin(storage::TxMode::write);
  auto body =
      json::parse(R"({"name":"Storage 2","currency":"USD","interval":"month",)"
                  R"("effective_from":"2026-03-01T00:00:00Z","charges":[)"
                  R"({"type":"usage","meter":"storage_gb","model":"per_unit","unit_price":"0.10"},)"
                  R"({"type":"usage","meter":"tokens","model":"per_unit","unit_price":"0.001"}]})");
  ASSERT_TRUE(body.ok());
  ASSERT_TRUE(services::catalog::add_version(*hold, ctx, "storage", *body).ok());

  auto second = std::async(std::launch::async, [&] {
    return api().post("/v1/subscriptions", tenant_.key,
                      R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z"})");
  });
  EXPECT_EQ(test::wait_for_transaction_waiters(*hold, 1), 1)
      << "the subscription did not wait for the new version";
  hold->commit();
  const auto refused = second.get();
  expect_problem(refused, 409, "conflict", "the subscription racing the version");
  EXPECT_TRUE(has_field_error(refused, "plan", "meter_already_billed")) << refused.body;
}

std::vector<Backend> postgres_backends() {
  auto backends = test_backends();
  std::erase(backends, Backend::sqlite);
  return backends;
}

INSTANTIATE_TEST_SUITE_P(Backends, SubscriptionRace, ::testing::ValuesIn(postgres_backends()),
                         backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SubscriptionRace);

INSTANTIATE_TEST_SUITE_P(Backends, Subscriptions, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
