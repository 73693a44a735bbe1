// Determinism (DESIGN.md principle 4; issue 17): the same tenant data, fed to a fresh SQLite and a
// fresh PostgreSQL database, yields byte-identical invoice documents and explanations — line
// input digests included — and the same ledger. Nothing is normalized: ids are derived from
// natural keys (invoices, lines, ledger transactions) or come from the same sequence of requests
// (SequentialIds), and times from the same manual clock.
#include <gtest/gtest.h>

#include "domain/time.hpp"
#include "json/json.hpp"
#include "storage/ledger.hpp"
#include "support/test_api.hpp"

namespace neruba::test {
namespace {

Instant at(const char* text) { return *domain::parse_rfc3339(text); }

struct Outcome {
  std::vector<std::string> documents;  // every invoice, its explanation, the ledger
};

void expect_status(const TestResponse& response, int status, const std::string& what) {
  EXPECT_EQ(response.status, status) << what << "\n" << response.body;
}

// Tenant data with something of everything: tiers, seats, a minimum, an upgrade mid-period, a
// customer in New York across a DST change, credit of both kinds, a charge, payments, a void.
Outcome bill_everything(Backend backend) {
  TestApi api(backend, std::make_unique<SequentialIds>());
  const auto tenant = api.create_tenant("Determinism Co");
  const auto post = [&](const std::string& path, const std::string& body, int status = 201) {
    auto response = api.post(path, tenant.key, body);
    expect_status(response, status, path + " " + body);
    return response;
  };
  post("/v1/meters",
       R"({"code":"tokens","event_type":"completion","aggregation":"sum","field":"n"})");
  post("/v1/meters", R"({"code":"users","event_type":"login","aggregation":"unique_count",)"
                     R"("field":"user"})");
  post(
      "/v1/plans",
      R"({"code":"basic","name":"Basic","currency":"USD","interval":"month",)"
      R"("effective_from":"2025-01-01T00:00:00Z","minimum_commitment":"50.00","charges":[)"
      R"({"type":"recurring","amount":"19.99","timing":"advance"},)"
      R"({"type":"seat","unit_price":"7.33"},)"
      R"({"type":"usage","meter":"tokens","model":"graduated","tiers":[)"
      R"({"up_to":"1000","unit_price":"0.0123"},{"up_to":null,"unit_price":"0.0031"}]},)"
      R"({"type":"usage","meter":"users","model":"volume","tiers":[)"
      R"({"up_to":"2","unit_price":"3.00"},{"up_to":null,"unit_price":"2.50","flat_fee":"1.00"}]}]})");
  post("/v1/plans", R"({"code":"pro","name":"Pro","currency":"USD","interval":"month",)"
                    R"("effective_from":"2025-01-01T00:00:00Z","charges":[)"
                    R"({"type":"recurring","amount":"99.00","timing":"advance"},)"
                    R"({"type":"seat","unit_price":"5.00"},)"
                    R"({"type":"usage","meter":"tokens","model":"per_unit","unit_price":"0.0017"},)"
                    R"({"type":"usage","meter":"users","model":"per_unit","unit_price":"1.25"}]})");
  for (const char* customer : {R"({"external_id":"a","name":"A","currency":"USD"})",
                               R"({"external_id":"b","name":"B","currency":"USD",)"
                               R"("timezone":"America/New_York"})",
                               R"({"external_id":"c","name":"C","currency":"USD"})"}) {
    post("/v1/customers", customer);
  }
  const auto sub_a = post("/v1/subscriptions", R"({"customer":"a","plan":"basic",)"
                                               R"("start":"2026-01-01T00:00:00Z","seats":3})");
  post("/v1/subscriptions",
       R"({"customer":"b","plan":"basic","start":"2026-01-05T05:00:00Z","seats":1})");
  post("/v1/subscriptions",
       R"({"customer":"c","plan":"pro","start":"2026-01-02T00:00:00Z","seats":2})");
  post("/v1/credit-grants",
       R"({"customer":"a","amount":"12.34","currency":"USD","kind":"promotional","priority":1})");
  post("/v1/credit-grants", R"({"customer":"b","amount":"100.00","currency":"USD",)"
                            R"("kind":"prepaid","expires_at":"2026-02-15T00:00:00Z"})");
  std::string events = R"({"events":[)";
  for (int i = 0; i < 40; ++i) {
    const std::string customer = std::string(1, "abc"[i % 3]);
    if (i > 0) events += ",";
    events += R"({"event_id":"e)" + std::to_string(i) + R"(","customer":")" + customer +
              R"(","type":")" + (i % 4 == 0 ? "login" : "completion") +
              R"(","timestamp":"2026-01-05T0)" + std::to_string(i % 10) + R"(:1)" +
              std::to_string(i % 6) + R"(:00Z","properties":{"n":)" + std::to_string(37 * i + 1) +
              R"(,"user":"u)" + std::to_string(i % 5) + R"("}})";
  }
  events += "]}";
  expect_status(api.post("/v1/events", tenant.key, events), 200, "events");
  post("/v1/billing-runs", R"({"as_of":"2026-01-05T10:00:00Z"})");
  // An upgrade mid-period, a charge, then February's run.
  api.clock().set(at("2026-01-20T12:00:00Z"));
  post("/v1/subscriptions/" + sub_a.field("id") + "/changes",
       R"({"plan":"pro","seats":4,"effective":"now"})", 200);
  post("/v1/charges", R"({"customer":"c","charge_key":"onboarding","amount":"250.00",)"
                      R"("currency":"USD","description":"Onboarding"})");
  api.clock().set(at("2026-02-03T00:00:00Z"));
  post("/v1/billing-runs", R"({"as_of":"2026-02-03T00:00:00Z"})");
  // Payments on every open invoice, and a void.
  const auto list = api.get("/v1/invoices?limit=1000", tenant.key);
  expect_status(list, 200, "invoices");
  const auto parsed = json::parse(list.body);
  std::vector<std::string> ids;
  for (const auto& item : parsed->find("data")->items()) ids.push_back(item.find("id")->text());
  EXPECT_GE(ids.size(), 5u) << list.body;
  int paid = 0;
  for (const auto& id : ids) {
    const auto invoice = api.get("/v1/invoices/" + id, tenant.key);
    if (invoice.field("status") != "finalized") continue;
    if (paid++ == 2) {
      post("/v1/invoices/" + id + "/void",
           R"({"reason_code":"billing_error","justification":"test void"})", 200);
      continue;
    }
    post("/v1/payments", R"({"invoice":")" + id +
                             R"(","amount":"73.19","provider":"manual",)"
                             R"("provider_payment_id":"pay-)" +
                             id + R"("})");
  }
  Outcome out;
  for (const auto& id : ids) {
    out.documents.push_back(api.get("/v1/invoices/" + id, tenant.key).body);
    out.documents.push_back(api.get("/v1/invoices/" + id + "/explain", tenant.key).body);
  }
  auto tx = api.database().db().begin(storage::TxMode::read);
  storage::ledger::TransactionFilter filter;
  filter.limit = 10'000;
  for (const auto& transaction : storage::ledger::transactions(*tx, TenantId(tenant.id), filter)) {
    std::string row = transaction.id + " " + transaction.kind + " " + transaction.cause + " " +
                      domain::format_rfc3339(transaction.effective_at);
    for (const auto& entry : transaction.entries) {
      row += " " + storage::ledger::account_id(entry.account) +
             (entry.side == domain::ledger::Side::debit ? " Dr " : " Cr ") +
             std::to_string(entry.amount_minor);
    }
    out.documents.push_back(row);
  }
  return out;
}

TEST(BillingDeterminism, SqliteAndPostgresIssueByteIdenticalInvoicesAndLedgers) {
  if (!postgres_available()) GTEST_SKIP() << "needs NERUBA_TEST_PG_URL";
  const Outcome sqlite = bill_everything(Backend::sqlite);
  const Outcome postgres = bill_everything(Backend::postgres);
  ASSERT_EQ(sqlite.documents.size(), postgres.documents.size());
  ASSERT_GT(sqlite.documents.size(), 20u);
  for (std::size_t i = 0; i < sqlite.documents.size(); ++i) {
    EXPECT_EQ(sqlite.documents[i], postgres.documents[i]) << "document " << i;
  }
}

}  // namespace
}  // namespace neruba::test
