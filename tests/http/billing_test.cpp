// Billing (API.md "Money", "Billing semantics"; issue 17) on both backends: billing runs, the
// invoice lifecycle, credit grants and draws, charges, payments and voids, with the ledger under
// each. Every amount below is computed by hand in the comment above its check.
#include <gtest/gtest.h>

#include <map>

#include "domain/time.hpp"
#include "http_test_support.hpp"
#include "services/billing/ledger.hpp"
#include "storage/ledger.hpp"

namespace neruba::test::http_tests {
namespace {

// basic: 30.00 a month in advance, 10.00 a seat, tokens graduated 0.01 up to 1,000 then 0.005.
constexpr const char* kBasic =
    R"({"code":"basic","name":"Basic","currency":"USD","interval":"month",)"
    R"("effective_from":"2025-01-01T00:00:00Z","charges":[)"
    R"({"type":"recurring","amount":"30.00","timing":"advance"},)"
    R"({"type":"seat","unit_price":"10.00"},)"
    R"({"type":"usage","meter":"tokens","model":"graduated","tiers":[)"
    R"({"up_to":"1000","unit_price":"0.01"},{"up_to":null,"unit_price":"0.005"}]}]})";

Instant at(const char* text) { return *domain::parse_rfc3339(text); }

class Billing : public HttpTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Billing Co");
    const auto meter = api().post(
        "/v1/meters", tenant_.key,
        R"({"code":"tokens","event_type":"completion","aggregation":"sum","field":"n"})");
    ASSERT_EQ(meter.status, 201) << meter.body;
    const auto plan = api().post("/v1/plans", tenant_.key, kBasic);
    ASSERT_EQ(plan.status, 201) << plan.body;
    for (const char* id : {"acme", "globex"}) {
      const auto customer =
          api().post("/v1/customers", tenant_.key,
                     std::string(R"({"external_id":")") + id + R"(","name":"X","currency":"USD"})");
      ASSERT_EQ(customer.status, 201) << customer.body;
    }
  }

  void tokens(const std::string& event_id, const std::string& customer, const std::string& when,
              int n) {
    const auto sent = api().post("/v1/events", tenant_.key,
                                 R"({"events":[{"event_id":")" + event_id + R"(","customer":")" +
                                     customer + R"(","type":"completion","timestamp":")" + when +
                                     R"(","properties":{"n":)" + std::to_string(n) + "}}]}");
    ASSERT_EQ(sent.status, 200) << sent.body;
  }

  TestResponse run(const std::string& body) {
    auto response = api().post("/v1/billing-runs", tenant_.key, body);
    EXPECT_EQ(response.status, 201) << response.body;
    return response;
  }

  // The invoice of `customer` at `instant` (GET /v1/invoices?customer=).
  TestResponse invoice_at(const std::string& customer, const std::string& instant) {
    const auto list = api().get("/v1/invoices?customer=" + customer, tenant_.key);
    EXPECT_EQ(list.status, 200) << list.body;
    for (const auto& item : member(list.json, "data").items()) {
      if (text_of(item, "billing_instant") == instant) {
        return api().get("/v1/invoices/" + text_of(item, "id"), tenant_.key);
      }
    }
    ADD_FAILURE() << "no invoice of " << customer << " at " << instant << "\n" << list.body;
    return {};
  }

  // "kind balance" of every account of a customer (or the tenant's, with none), as the ledger
  // reads them on their normal side.
  std::map<std::string, std::string> balances(const std::optional<std::string>& customer_id) {
    auto tx = db().begin(storage::TxMode::read);
    std::map<std::string, std::string> out;
    for (const auto& b : storage::ledger::balances(
             *tx, TenantId(tenant_.id),
             customer_id ? std::optional<CustomerId>(CustomerId(*customer_id)) : std::nullopt)) {
      const auto currency = *domain::Currency::of(b.account.currency);
      const auto balance = domain::ledger::balance_of(
          b.account.kind, domain::from_minor_units(b.debits_minor, currency),
          domain::from_minor_units(b.credits_minor, currency));
      std::string name(domain::ledger::account_kind_name(b.account.kind));
      if (b.account.customer && !customer_id) continue;  // tenant accounts only
      out[name] = balance->to_string();
    }
    return out;
  }

  std::string customer_id(const std::string& external_id) {
    return api().get("/v1/customers/" + external_id, tenant_.key).field("id");
  }

  void expect_ledger_clean() {
    auto tx = db().begin(storage::TxMode::read);
    const auto violation = services::ledger::verify(*tx, TenantId(tenant_.id));
    EXPECT_FALSE(violation.has_value()) << *violation;
  }

  void expect_rejected(const std::string& path, const std::string& body, int status,
                       const std::string& slug, const std::string& field, const std::string& type,
                       const std::string& key = {}) {
    const std::string before = fingerprint(tenant_.id);
    const auto response = api().post(path, key.empty() ? tenant_.key : key, body);
    expect_problem(response, status, slug, body);
    if (!field.empty()) {
      EXPECT_TRUE(has_field_error(response, field, type))
          << "expected " << field << "/" << type << " for " << body << "\n"
          << response.body;
    }
    EXPECT_UNCHANGED(before, fingerprint(tenant_.id)) << body;
  }

  void grace_days(int days) {
    const auto patched =
        api().call("PATCH", "/v1/tenants/" + tenant_.id, test_admin_key,
                   R"({"settings":{"invoice_grace_period_days":)" + std::to_string(days) + "}}");
    ASSERT_EQ(patched.status, 200) << patched.body;
  }

  // Sets the clock to `instant` and runs billing as of then.
  TestResponse run_at(const std::string& instant) {
    api().clock().set(at(instant.c_str()));
    return run(R"({"as_of":")" + instant + R"("})");
  }

  // acme and globex on basic from `start`.
  void subscribe_both(const std::string& start) {
    for (const char* customer : {"acme", "globex"}) {
      const auto subscribed = api().post("/v1/subscriptions", tenant_.key,
                                         R"({"customer":")" + std::string(customer) +
                                             R"(","plan":"basic","start":")" + start + R"("})");
      ASSERT_EQ(subscribed.status, 201) << subscribed.body;
    }
  }

  // The customer's own grace period: a number of days, or "null" for the tenant's.
  void set_customer_grace(const std::string& customer, const std::string& days) {
    const auto patched = api().call("PATCH", "/v1/customers/" + customer, tenant_.key,
                                    R"({"invoice_grace_period_days":)" + days + "}");
    ASSERT_EQ(patched.status, 200) << patched.body;
  }

  Tenant tenant_;
};

TEST_P(Billing, AMonthOfBillingFromFirstInvoiceToVoidKeepsTheLedgerBalanced) {
  // Clock: 2026-01-05T10:00:00Z. acme subscribes from 2026-01-01 with one seat; a promotional
  // grant of 15.00 waits for its first invoice.
  ASSERT_EQ(api()
                .post("/v1/subscriptions", tenant_.key,
                      R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z"})")
                .status,
            201);
  const auto grant = post_replayed("/v1/credit-grants", tenant_,
                                   R"({"customer":"acme","amount":"15.00","currency":"USD",)"
                                   R"("kind":"promotional","reason_code":"goodwill"})",
                                   "grant-1");
  EXPECT_EQ(grant.field("remaining"), "15.00");
  EXPECT_EQ(grant.field("reason_code"), "goodwill");

  // The first invoice, at the start, carries the advance fees only: 30.00 + 1 × 10.00 = 40.00.
  // Finalized at once (no grace period): the grant pays 15.00, 25.00 is due.
  const auto first = run(R"({"as_of":"2026-01-05T10:00:00Z"})");
  EXPECT_EQ(int_of(first.json, "invoices_created"), 1) << first.body;
  EXPECT_EQ(int_of(first.json, "invoices_finalized"), 1) << first.body;
  auto january = invoice_at("acme", "2026-01-01T00:00:00Z");
  EXPECT_EQ(january.field("status"), "finalized");
  EXPECT_EQ(january.field("number"), "INV-000001");
  EXPECT_EQ(january.field("period_start"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(january.field("period_end"), "2026-02-01T00:00:00Z");
  EXPECT_EQ(january.field("subtotal"), "40.00");
  EXPECT_EQ(january.field("total"), "40.00");
  EXPECT_EQ(january.field("credits_applied"), "15.00");
  EXPECT_EQ(january.field("amount_due"), "25.00");
  std::vector<std::string> lines;
  for (const auto& line : member(january.json, "lines").items()) {
    lines.push_back(text_of(line, "charge_type") + " " + text_of(line, "amount"));
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"recurring 30.00", "seat 10.00"}));
  const std::string january_id = january.field("id");

  // Running the same window again creates nothing and changes nothing.
  const std::string settled = fingerprint(tenant_.id);
  const auto again = run(R"({"as_of":"2026-01-05T10:00:00Z"})");
  EXPECT_EQ(int_of(again.json, "invoices_created"), 0) << again.body;
  EXPECT_EQ(int_of(again.json, "invoices_finalized"), 0) << again.body;
  EXPECT_EQ(member(again.json, "invoices").items().size(), 0u) << again.body;

  // The explanation shows each line's inputs and their digest, and the draw.
  const auto explained = api().get("/v1/invoices/" + january_id + "/explain", tenant_.key);
  ASSERT_EQ(explained.status, 200) << explained.body;
  const auto& seat = member(explained.json, "lines").items().at(1);
  EXPECT_EQ(text_of(member(seat, "inputs"), "charge_type"), "seat");
  EXPECT_EQ(text_of(member(member(seat, "inputs"), "explanation"), "plan"), "basic");
  EXPECT_EQ(text_of(seat, "input_digest").size(), 64u);
  const auto& draws = member(explained.json, "credit_draws").items();
  ASSERT_EQ(draws.size(), 1u);
  EXPECT_EQ(text_of(draws[0], "grant"), grant.field("id"));
  EXPECT_EQ(text_of(draws[0], "amount"), "15.00");

  // A partial payment of 10.00 leaves 15.00 due; 20.00 more pays it and 5.00 becomes credit.
  const auto partial =
      post_replayed("/v1/payments", tenant_,
                    R"({"invoice":")" + january_id +
                        R"(","amount":"10.00","provider":"manual","provider_payment_id":"wire-1"})",
                    "pay-1");
  EXPECT_EQ(text_of(member(partial.json, "invoice_after"), "amount_due"), "15.00");
  EXPECT_EQ(text_of(member(partial.json, "invoice_after"), "status"), "finalized");
  const auto rest =
      api().post("/v1/payments", tenant_.key,
                 R"({"invoice":")" + january_id +
                     R"(","amount":"20.00","provider":"manual","provider_payment_id":"wire-2"})");
  ASSERT_EQ(rest.status, 201) << rest.body;
  EXPECT_EQ(rest.field("applied"), "15.00");
  EXPECT_EQ(rest.field("excess"), "5.00");
  EXPECT_EQ(text_of(member(rest.json, "invoice_after"), "status"), "paid");
  EXPECT_EQ(text_of(member(rest.json, "invoice_after"), "amount_due"), "0.00");
  expect_rejected("/v1/payments",
                  R"({"invoice":")" + january_id +
                      R"(","amount":"1.00","provider":"manual","provider_payment_id":"wire-3"})",
                  409, "conflict", "invoice", "invoice_already_paid");
  expect_rejected("/v1/payments",
                  R"({"invoice":")" + january_id +
                      R"(","amount":"1.00","provider":"manual","provider_payment_id":"wire-1"})",
                  409, "conflict", "provider_payment_id", "payment_already_recorded");

  // February: 1,500 tokens in January close with the period: 1,000 × 0.01 + 500 × 0.005 = 12.50;
  // February's advance fees 40.00; a one-off charge of 7.25 made in January lands here too.
  // Total 59.75; the 5.00 of prepaid credit is drawn: 54.75 due.
  tokens("t1", "acme", "2026-01-05T09:30:00Z", 1500);
  const auto charge =
      post_replayed("/v1/charges", tenant_,
                    R"({"customer":"acme","charge_key":"setup","amount":"7.25","currency":"USD",)"
                    R"("description":"Setup fee"})",
                    "charge-1");
  EXPECT_EQ(charge.field("invoice"), "");
  api().clock().set(at("2026-02-01T01:00:00Z"));
  const auto second = run(R"({"as_of":"2026-02-01T01:00:00Z"})");
  EXPECT_EQ(int_of(second.json, "invoices_created"), 1) << second.body;
  auto february = invoice_at("acme", "2026-02-01T00:00:00Z");
  EXPECT_EQ(february.field("number"), "INV-000002");
  std::vector<std::string> february_lines;
  for (const auto& line : member(february.json, "lines").items()) {
    february_lines.push_back(text_of(line, "charge_type") + " " + text_of(line, "amount"));
  }
  EXPECT_EQ(february_lines, (std::vector<std::string>{"usage 12.50", "recurring 30.00",
                                                      "seat 10.00", "one_off 7.25"}))
      << february.body;
  EXPECT_EQ(february.field("total"), "59.75");
  EXPECT_EQ(february.field("credits_applied"), "5.00");
  EXPECT_EQ(february.field("amount_due"), "54.75");

  auto balance = api().get("/v1/customers/acme/balance", tenant_.key);
  ASSERT_EQ(balance.status, 200) << balance.body;
  EXPECT_EQ(balance.field("credit_balance"), "0.00");
  EXPECT_EQ(balance.field("amount_due"), "54.75");
  EXPECT_EQ(balance.field("currency"), "USD");

  // Void February (operator): the revenue is reversed and the 5.00 drawn goes back to its grant.
  expect_rejected("/v1/invoices/" + february.field("id") + "/void",
                  R"({"reason_code":"billing_error"})", 422, "validation-failed", "justification",
                  "required");
  const auto voided = api().post("/v1/invoices/" + february.field("id") + "/void", tenant_.key,
                                 R"({"reason_code":"billing_error",)"
                                 R"("justification":"setup fee charged twice"})");
  ASSERT_EQ(voided.status, 200) << voided.body;
  EXPECT_EQ(voided.field("status"), "void");
  EXPECT_EQ(voided.field("amount_due"), "0.00");
  expect_rejected("/v1/payments",
                  R"({"invoice":")" + february.field("id") +
                      R"(","amount":"1.00","provider":"manual","provider_payment_id":"wire-4"})",
                  409, "conflict", "invoice", "invoice_void");
  balance = api().get("/v1/customers/acme/balance", tenant_.key);
  EXPECT_EQ(balance.field("credit_balance"), "5.00");
  EXPECT_EQ(balance.field("amount_due"), "0.00");

  // The ledger by hand: grant Dr expense 15 / Cr promotional 15; January Dr receivable 40 / Cr
  // revenue 40; draw Dr promotional 15 / Cr receivable 15; payments Dr cash 10 / Cr receivable
  // 10 and Dr cash 20 / Cr receivable 15, Cr prepaid 5; February Dr receivable 59.75 / Cr
  // revenue 59.75; draw Dr prepaid 5 / Cr receivable 5; void Dr revenue 59.75 / Cr receivable
  // 59.75, Dr receivable 5 / Cr prepaid 5.
  const auto acme = balances(customer_id("acme"));
  EXPECT_EQ(acme.at("receivable"), "0.00");
  EXPECT_EQ(acme.at("cash"), "30.00");
  EXPECT_EQ(acme.at("prepaid_credit"), "5.00");
  EXPECT_EQ(acme.at("promotional_credit"), "0.00");
  const auto own = balances(std::nullopt);
  EXPECT_EQ(own.at("revenue"), "40.00");  // January's total: the only invoice not void
  EXPECT_EQ(own.at("promotions_expense"), "15.00");
  expect_ledger_clean();
  (void)settled;
}

TEST_P(Billing, AGracePeriodKeepsDraftsThatPickUpLateEventsUntilItEnds) {
  grace_days(3);
  ASSERT_EQ(api()
                .post("/v1/subscriptions", tenant_.key,
                      R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z"})")
                .status,
            201);
  // At 2026-01-05T10:00 the first invoice (at 01-01) is 4 days old: past its 3 days of grace.
  run(R"({"as_of":"2026-01-05T10:00:00Z"})");
  EXPECT_EQ(invoice_at("acme", "2026-01-01T00:00:00Z").field("status"), "finalized");
  // February's invoice is a draft on 02-02 (1 day of grace gone) and picks up a late event.
  tokens("t1", "acme", "2026-01-05T09:00:00Z", 100);
  api().clock().set(at("2026-02-02T00:00:00Z"));
  run(R"({"as_of":"2026-02-02T00:00:00Z"})");
  auto february = invoice_at("acme", "2026-02-01T00:00:00Z");
  EXPECT_EQ(february.field("status"), "draft");
  EXPECT_EQ(february.field("number"), "");
  // 100 × 0.01 = 1.00 of usage + 40.00 of fees.
  EXPECT_EQ(february.field("total"), "41.00");
  tokens("t2", "acme", "2026-01-31T23:00:00Z", 900);  // late, inside the late-arrival window
  const auto recomputed = run(R"({"as_of":"2026-02-02T00:00:00Z"})");
  EXPECT_EQ(int_of(recomputed.json, "invoices_updated"), 1) << recomputed.body;
  // 1,000 × 0.01 = 10.00 + 40.00.
  EXPECT_EQ(invoice_at("acme", "2026-02-01T00:00:00Z").field("total"), "50.00");
  // On 02-04 the grace period has ended: the run finalizes it.
  api().clock().set(at("2026-02-04T00:00:00Z"));
  run(R"({"as_of":"2026-02-04T00:00:00Z"})");
  february = invoice_at("acme", "2026-02-01T00:00:00Z");
  EXPECT_EQ(february.field("status"), "finalized");
  EXPECT_EQ(february.field("number"), "INV-000002");
  expect_ledger_clean();
}

TEST_P(Billing, AnExplicitFinalizeIssuesADraftBeforeItsGraceEnds) {
  grace_days(10);
  ASSERT_EQ(api()
                .post("/v1/subscriptions", tenant_.key,
                      R"({"customer":"globex","plan":"basic","start":"2026-01-05T00:00:00Z"})")
                .status,
            201);
  run(R"({})");
  auto draft = invoice_at("globex", "2026-01-05T00:00:00Z");
  ASSERT_EQ(draft.field("status"), "draft");
  const auto finalized =
      api().post("/v1/invoices/" + draft.field("id") + "/finalize", tenant_.key, "{}");
  ASSERT_EQ(finalized.status, 200) << finalized.body;
  EXPECT_EQ(finalized.field("status"), "finalized");
  EXPECT_EQ(finalized.field("number"), "INV-000001");
  EXPECT_EQ(finalized.field("amount_due"), "40.00");
  expect_rejected("/v1/invoices/" + draft.field("id") + "/finalize", "{}", 409, "conflict", "id",
                  "invoice_not_draft");
  expect_ledger_clean();
}

TEST_P(Billing, ACustomersOwnGracePeriodShorterThanTheTenantsFinalizesItsInvoicesSooner) {
  grace_days(10);
  set_customer_grace("acme", "1");
  subscribe_both("2026-01-01T00:00:00Z");
  // 2026-01-05T10:00: the invoices at 01-01 are 4 days 10 hours old. acme's 1 day is over:
  // finalized; globex's 10 days (the tenant's) are not: a draft.
  const auto first = run(R"({"as_of":"2026-01-05T10:00:00Z"})");
  EXPECT_EQ(int_of(first.json, "invoices_created"), 2) << first.body;
  EXPECT_EQ(int_of(first.json, "invoices_finalized"), 1) << first.body;
  EXPECT_EQ(invoice_at("acme", "2026-01-01T00:00:00Z").field("status"), "finalized");
  EXPECT_EQ(invoice_at("globex", "2026-01-01T00:00:00Z").field("status"), "draft");
  // February's invoices at 02-01. A second before 02-02T00:00 acme's day is not over yet.
  run_at("2026-02-01T23:59:59Z");
  EXPECT_EQ(invoice_at("acme", "2026-02-01T00:00:00Z").field("status"), "draft");
  // globex's January invoice is past its 10 days (01-11) by now.
  EXPECT_EQ(invoice_at("globex", "2026-01-01T00:00:00Z").field("status"), "finalized");
  // At 02-02T00:00 exactly (02-01 + 1 day) acme's is finalized; globex's waits for 02-11.
  const auto second = run_at("2026-02-02T00:00:00Z");
  EXPECT_EQ(int_of(second.json, "invoices_finalized"), 1) << second.body;
  EXPECT_EQ(invoice_at("acme", "2026-02-01T00:00:00Z").field("status"), "finalized");
  EXPECT_EQ(invoice_at("globex", "2026-02-01T00:00:00Z").field("status"), "draft");
  run_at("2026-02-11T00:00:00Z");
  EXPECT_EQ(invoice_at("globex", "2026-02-01T00:00:00Z").field("status"), "finalized");
  expect_ledger_clean();
}

TEST_P(Billing, ACustomersOwnGracePeriodLongerThanTheTenantsKeepsItsDraftsOpenForLateEvents) {
  // The tenant's grace period is 0 (the default): globex's invoices are finalized by the run that
  // makes them; acme's stay drafts for 3 days.
  set_customer_grace("acme", "3");
  subscribe_both("2026-01-05T00:00:00Z");
  run(R"({"as_of":"2026-01-05T10:00:00Z"})");
  EXPECT_EQ(invoice_at("globex", "2026-01-05T00:00:00Z").field("status"), "finalized");
  EXPECT_EQ(invoice_at("acme", "2026-01-05T00:00:00Z").field("status"), "draft");
  // February's invoices at 02-05 close the usage of [01-05, 02-05).
  api().clock().set(at("2026-02-05T00:00:00Z"));
  tokens("a1", "acme", "2026-01-20T00:00:00Z", 100);
  run(R"({"as_of":"2026-02-05T00:00:00Z"})");
  EXPECT_EQ(invoice_at("globex", "2026-02-05T00:00:00Z").field("status"), "finalized");
  // 100 × 0.01 = 1.00 of usage + 40.00 of fees; the January one is past its 3 days (01-08).
  EXPECT_EQ(invoice_at("acme", "2026-01-05T00:00:00Z").field("status"), "finalized");
  EXPECT_EQ(invoice_at("acme", "2026-02-05T00:00:00Z").field("status"), "draft");
  EXPECT_EQ(invoice_at("acme", "2026-02-05T00:00:00Z").field("total"), "41.00");
  tokens("a2", "acme", "2026-02-04T23:00:00Z", 900);  // late, inside the late-arrival window
  run_at("2026-02-07T23:59:59Z");
  // 1,000 × 0.01 = 10.00 + 40.00; a second before 02-08 (02-05 + 3 days): still a draft.
  auto february = invoice_at("acme", "2026-02-05T00:00:00Z");
  EXPECT_EQ(february.field("status"), "draft");
  EXPECT_EQ(february.field("total"), "50.00");
  run_at("2026-02-08T00:00:00Z");
  february = invoice_at("acme", "2026-02-05T00:00:00Z");
  EXPECT_EQ(february.field("status"), "finalized");
  EXPECT_EQ(february.field("total"), "50.00");
  expect_ledger_clean();
}

TEST_P(Billing, ACustomerWithoutAGracePeriodOfItsOwnHasTheTenants) {
  // Set, then cleared (null): acme has the tenant's 2 days again, like globex.
  grace_days(2);
  set_customer_grace("acme", "30");
  set_customer_grace("acme", "null");
  subscribe_both("2026-01-05T00:00:00Z");
  run(R"({"as_of":"2026-01-05T10:00:00Z"})");
  EXPECT_EQ(invoice_at("acme", "2026-01-05T00:00:00Z").field("status"), "draft");
  EXPECT_EQ(invoice_at("globex", "2026-01-05T00:00:00Z").field("status"), "draft");
  // 01-05 + 2 days = 01-07: both finalized by the same run.
  const auto finalizing = run_at("2026-01-07T00:00:00Z");
  EXPECT_EQ(int_of(finalizing.json, "invoices_finalized"), 2) << finalizing.body;
  // An override set while a draft waits applies to it from the next run: 0 days finalizes at once.
  run_at("2026-02-05T00:00:00Z");
  EXPECT_EQ(invoice_at("acme", "2026-02-05T00:00:00Z").field("status"), "draft");
  set_customer_grace("acme", "0");
  const auto overridden = run(R"({"as_of":"2026-02-05T00:00:00Z"})");
  EXPECT_EQ(int_of(overridden.json, "invoices_finalized"), 1) << overridden.body;
  EXPECT_EQ(invoice_at("acme", "2026-02-05T00:00:00Z").field("status"), "finalized");
  EXPECT_EQ(invoice_at("globex", "2026-02-05T00:00:00Z").field("status"), "draft");
  expect_ledger_clean();
}

TEST_P(Billing, CreditIsDrawnByPriorityThenEarliestExpiryThenAgeAndExpiresThroughTheLedger) {
  // Four grants, drawn for a 40.00 invoice: priority 1 first (the 5.00), then among priority 2
  // the one expiring first (10.00 expiring 03-01) before the one expiring later (20.00 expiring
  // 06-01), then the never-expiring oldest: 5 + 10 + 20 = 35, then 5.00 of the last (of 50.00).
  const auto grant = [&](const std::string& body) {
    const auto created = api().post("/v1/credit-grants", tenant_.key, body);
    EXPECT_EQ(created.status, 201) << created.body;
    return created.field("id");
  };
  const std::string never = grant(
      R"({"customer":"acme","amount":"50.00","currency":"USD","kind":"prepaid","priority":2})");
  const std::string later =
      grant(R"({"customer":"acme","amount":"20.00","currency":"USD","kind":"prepaid","priority":2,)"
            R"("expires_at":"2026-06-01T00:00:00Z"})");
  const std::string sooner =
      grant(R"({"customer":"acme","amount":"10.00","currency":"USD","kind":"promotional",)"
            R"("priority":2,"expires_at":"2026-03-01T00:00:00Z"})");
  const std::string first = grant(
      R"({"customer":"acme","amount":"5.00","currency":"USD","kind":"prepaid","priority":1})");
  ASSERT_EQ(api()
                .post("/v1/subscriptions", tenant_.key,
                      R"({"customer":"acme","plan":"basic","start":"2026-01-01T00:00:00Z"})")
                .status,
            201);
  run("{}");
  const auto invoice = invoice_at("acme", "2026-01-01T00:00:00Z");
  EXPECT_EQ(invoice.field("credits_applied"), "40.00");
  EXPECT_EQ(invoice.field("status"), "paid");  // credit covered it all
  const auto explained = api().get("/v1/invoices/" + invoice.field("id") + "/explain", tenant_.key);
  std::vector<std::string> order;
  for (const auto& draw : member(explained.json, "credit_draws").items()) {
    order.push_back(text_of(draw, "grant") + " " + text_of(draw, "amount"));
  }
  EXPECT_EQ(order, (std::vector<std::string>{first + " 5.00", sooner + " 10.00", later + " 20.00",
                                             never + " 5.00"}));
  // Balance 45.00 (the never-expiring grant's rest) until... the 20.00 one is spent, so nothing
  // expires on 06-01; a new 8.00 grant expiring 03-01 leaves the balance at that instant.
  grant(R"({"customer":"acme","amount":"8.00","currency":"USD","kind":"prepaid",)"
        R"("expires_at":"2026-03-01T00:00:00Z"})");
  EXPECT_EQ(api().get("/v1/customers/acme/balance", tenant_.key).field("credit_balance"), "53.00");
  api().clock().set(at("2026-03-01T00:00:00Z"));
  EXPECT_EQ(api().get("/v1/customers/acme/balance", tenant_.key).field("credit_balance"), "45.00");
  // The next run records the expiry: 8.00 of prepaid credit becomes breakage, effective 03-01.
  run("{}");
  const auto own = balances(std::nullopt);
  EXPECT_EQ(own.at("breakage"), "8.00");
  expect_ledger_clean();
}

TEST_P(Billing, BadRequestsGetPreciseErrorsAndChangeNothing) {
  expect_rejected("/v1/billing-runs", R"({"as_of":"2027-01-01T00:00:00Z"})", 422,
                  "validation-failed", "as_of", "invalid_value");
  expect_rejected("/v1/billing-runs", R"({"customer":"nobody"})", 422, "validation-failed",
                  "customer", "not_found");
  expect_rejected("/v1/credit-grants",
                  R"({"customer":"acme","amount":"-1.00","currency":"USD","kind":"prepaid"})", 422,
                  "validation-failed", "amount", "invalid_value");
  expect_rejected("/v1/credit-grants",
                  R"({"customer":"acme","amount":"1.001","currency":"USD","kind":"prepaid"})", 422,
                  "validation-failed", "amount", "too_many_fraction_digits");
  expect_rejected("/v1/credit-grants",
                  R"({"customer":"acme","amount":"1.00","currency":"EUR","kind":"prepaid"})", 422,
                  "validation-failed", "currency", "currency_mismatch");
  expect_rejected("/v1/credit-grants",
                  R"({"customer":"acme","amount":"1.00","currency":"USD","kind":"gift"})", 422,
                  "validation-failed", "kind", "invalid_value");
  expect_rejected("/v1/credit-grants",
                  R"({"customer":"acme","amount":"1.00","currency":"USD","kind":"prepaid",)"
                  R"("expires_at":"2025-01-01T00:00:00Z"})",
                  422, "validation-failed", "expires_at", "invalid_value");
  expect_rejected("/v1/credit-grants",
                  R"({"customer":"acme","amount":"1.00","currency":"USD","kind":"prepaid",)"
                  R"("reason_code":"because"})",
                  422, "validation-failed", "reason_code", "invalid_value");
  expect_rejected("/v1/charges",
                  R"({"customer":"acme","charge_key":"k","amount":"0","currency":"USD",)"
                  R"("description":"x"})",
                  422, "validation-failed", "amount", "invalid_value");
  expect_rejected("/v1/payments",
                  R"({"invoice":"inv_nope","amount":"1.00","provider":"manual",)"
                  R"("provider_payment_id":"p"})",
                  422, "validation-failed", "invoice", "not_found");
  const auto charge = api().post("/v1/charges", tenant_.key,
                                 R"({"customer":"acme","charge_key":"k","amount":"1.00",)"
                                 R"("currency":"USD","description":"x"})");
  ASSERT_EQ(charge.status, 201) << charge.body;
  expect_rejected("/v1/charges",
                  R"({"customer":"acme","charge_key":"k","amount":"2.00","currency":"USD",)"
                  R"("description":"x"})",
                  409, "conflict", "charge_key", "charge_key_taken");
  // The same charge again is the charge already made.
  const auto same = api().post("/v1/charges", tenant_.key,
                               R"({"customer":"acme","charge_key":"k","amount":"1.00",)"
                               R"("currency":"USD","description":"x"})");
  EXPECT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(same.field("id"), charge.field("id"));
  expect_problem(api().get("/v1/invoices/inv_nope", tenant_.key), 404, "not-found", "invoice");
  // finalize's body is an empty object: a field it does not know is refused, not ignored.
  expect_rejected("/v1/invoices/inv_nope/finalize", R"({"at":"2026-01-05T10:00:00Z"})", 422,
                  "validation-failed", "at", "unknown_field");
}

INSTANTIATE_TEST_SUITE_P(Backends, Billing, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
