// The ledger's reads (API.md "Money"; issue 17) on both backends: GET /v1/ledger/balances and GET
// /v1/ledger/transactions after grants, invoices, draws, payments and a void, every balance and
// entry computed by hand in the comment above its check; amounts with each currency's minor-unit
// digits; filters, cursor pages and bad queries.
#include <gtest/gtest.h>

#include <map>

#include "domain/time.hpp"
#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

Instant at(const char* text) { return *domain::parse_rfc3339(text); }

// "kind customer debits credits balance normal_side" of a balance, "-" for the tenant's own.
std::string balance_line(const json::Value& balance) {
  const auto& account = member(balance, "account");
  const std::string customer =
      member(account, "customer").is_null() ? "-" : text_of(account, "customer");
  return text_of(account, "kind") + " " + text_of(account, "currency") + " " + customer + " " +
         text_of(balance, "debits") + " " + text_of(balance, "credits") + " " +
         text_of(balance, "balance") + " " + text_of(balance, "normal_side");
}

// "side kind customer amount" of each entry of a transaction.
std::vector<std::string> entry_lines(const json::Value& transaction) {
  std::vector<std::string> out;
  for (const auto& entry : member(transaction, "entries").items()) {
    const auto& account = member(entry, "account");
    const std::string customer =
        member(account, "customer").is_null() ? "-" : text_of(account, "customer");
    out.push_back(text_of(entry, "side") + " " + text_of(account, "kind") + " " + customer + " " +
                  text_of(entry, "amount"));
  }
  return out;
}

class LedgerApi : public HttpTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Ledger Co");
    // flat: 30.00 a month in advance.
    const auto plan = api().post("/v1/plans", tenant_.key,
                                 R"({"code":"flat","name":"Flat","currency":"USD",)"
                                 R"("interval":"month","effective_from":"2025-01-01T00:00:00Z",)"
                                 R"("charges":[{"type":"recurring","amount":"30.00"}]})");
    ASSERT_EQ(plan.status, 201) << plan.body;
    for (const char* id : {"acme", "globex"}) ASSERT_EQ(create_customer(tenant_, id).status, 201);
  }

  TestResponse post(const std::string& path, const std::string& body, int status = 201) {
    auto response = api().post(path, tenant_.key, body);
    EXPECT_EQ(response.status, status) << path << " " << body << "\n" << response.body;
    return response;
  }

  std::string invoice_of(const std::string& customer) {
    const auto list = api().get("/v1/invoices?customer=" + customer, tenant_.key);
    EXPECT_EQ(list.status, 200) << list.body;
    const auto& data = member(list.json, "data").items();
    EXPECT_EQ(data.size(), 1u) << list.body;
    return data.empty() ? std::string() : text_of(data[0], "id");
  }

  std::vector<std::string> balance_lines(const std::string& query, std::size_t limit = 1000) {
    std::vector<std::string> out;
    for (const auto& balance : walk("/v1/ledger/balances" + query, tenant_.key, limit)) {
      out.push_back(balance_line(balance));
    }
    return out;
  }

  std::vector<json::Value> transactions(const std::string& query, std::size_t limit = 1000) {
    return walk("/v1/ledger/transactions" + query, tenant_.key, limit);
  }

  // "kind cause" of each transaction.
  static std::vector<std::string> kinds(const std::vector<json::Value>& transactions) {
    std::vector<std::string> out;
    for (const auto& t : transactions) out.push_back(text_of(t, "kind"));
    return out;
  }

  void expect_invalid(const std::string& target, const std::vector<std::string>& fields) {
    const auto response = api().get(target, tenant_.key);
    expect_problem(response, 422, "validation-failed", target);
    std::vector<std::string> got;
    for (const auto& error : member(response.json, "errors").items()) {
      got.push_back(text_of(error, "field") + " " + text_of(error, "type"));
    }
    EXPECT_EQ(got, fields) << target << "\n" << response.body;
  }

  Tenant tenant_;
};

TEST_P(LedgerApi, BalancesAndTransactionsAddUpByHand) {
  // 10:00 (the test clock): acme buys 20.00 of prepaid credit, globex is given 5.00 of promotional
  // credit; both subscribe to flat from 2026-01-01 and the run finalizes their first invoices
  // (30.00 each): acme's draws its 20.00 (10.00 due), globex's its 5.00 (25.00 due).
  post("/v1/credit-grants",
       R"({"customer":"acme","amount":"20.00","currency":"USD","kind":"prepaid"})");
  const auto promotion =
      post("/v1/credit-grants",
           R"({"customer":"globex","amount":"5.00","currency":"USD","kind":"promotional"})");
  for (const char* customer : {"acme", "globex"}) {
    post("/v1/subscriptions", std::string(R"({"customer":")") + customer +
                                  R"(","plan":"flat","start":"2026-01-01T00:00:00Z"})");
  }
  post("/v1/billing-runs", "{}");
  const std::string acme_invoice = invoice_of("acme");
  const std::string globex_invoice = invoice_of("globex");
  // 10:30: acme pays 4.00; 11:00: 10.00 more, 6.00 of which is due: 4.00 becomes prepaid credit.
  api().clock().set(at("2026-01-05T10:30:00Z"));
  post("/v1/payments", R"({"invoice":")" + acme_invoice +
                           R"(","amount":"4.00","provider":"manual","provider_payment_id":"w1"})");
  api().clock().set(at("2026-01-05T11:00:00Z"));
  post("/v1/payments", R"({"invoice":")" + acme_invoice +
                           R"(","amount":"10.00","provider":"manual","provider_payment_id":"w2"})");
  // 12:00: globex's invoice is voided: its revenue reversed, its 5.00 of credit given back.
  api().clock().set(at("2026-01-05T12:00:00Z"));
  post("/v1/invoices/" + globex_invoice + "/void",
       R"({"reason_code":"billing_error","justification":"wrong plan"})", 200);

  // acme: cash Dr 20.00 (grant) + 4.00 + 10.00 = 34.00. prepaid credit Cr 20.00 (grant) + 4.00
  // (excess), Dr 20.00 (draw): 4.00. receivable Dr 30.00, Cr 20.00 (draw) + 4.00 + 6.00: 0.00.
  EXPECT_EQ(balance_lines("?customer=acme"),
            (std::vector<std::string>{"cash USD acme 34.00 0.00 34.00 debit",
                                      "prepaid_credit USD acme 20.00 24.00 4.00 credit",
                                      "receivable USD acme 30.00 30.00 0.00 debit"}));
  // globex: promotional credit Cr 5.00 (grant) + 5.00 (void), Dr 5.00 (draw): 5.00. receivable
  // Dr 30.00 + 5.00 (void gives the draw back), Cr 5.00 (draw) + 30.00 (void): 0.00.
  EXPECT_EQ(balance_lines("?customer=globex"),
            (std::vector<std::string>{"promotional_credit USD globex 5.00 10.00 5.00 credit",
                                      "receivable USD globex 35.00 35.00 0.00 debit"}));
  // The tenant's own and every customer's, in account order (kind first): promotions expense Dr
  // 5.00; revenue Cr 30.00 + 30.00, Dr 30.00 (void): 30.00. Debits and credits both add up to
  // 34 + 20 + 5 + 30 + 35 + 5 + 30 = 159.00.
  const auto all = balance_lines("");
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < all.size(); ++i) position[all[i]] = i;
  EXPECT_EQ(all.size(), 7u);
  for (const std::string line :
       {"cash USD acme 34.00 0.00 34.00 debit", "prepaid_credit USD acme 20.00 24.00 4.00 credit",
        "promotional_credit USD globex 5.00 10.00 5.00 credit",
        "promotions_expense USD - 5.00 0.00 5.00 debit",
        "revenue USD - 30.00 60.00 30.00 credit"}) {
    EXPECT_EQ(position.count(line), 1u) << line << " not among\n" << ::testing::PrintToString(all);
  }
  EXPECT_LT(position["promotions_expense USD - 5.00 0.00 5.00 debit"],
            position["revenue USD - 30.00 60.00 30.00 credit"]);
  // The same accounts a page of two at a time.
  EXPECT_EQ(balance_lines("", 2), all);

  // acme's transactions in effective order: at 10:00 its grant, its invoice's finalization and
  // its credit draw (in id order among themselves), then the payments at 10:30 and 11:00.
  const auto acme = transactions("?customer=acme");
  ASSERT_EQ(acme.size(), 5u);
  std::vector<std::string> at_ten = kinds({acme.begin(), acme.begin() + 3});
  std::sort(at_ten.begin(), at_ten.end());
  EXPECT_EQ(at_ten, (std::vector<std::string>{"credit_draw", "credit_grant", "invoice_finalized"}));
  EXPECT_EQ(kinds({acme.begin() + 3, acme.end()}),
            (std::vector<std::string>{"payment", "payment"}));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(text_of(acme[i], "effective_at"), "2026-01-05T10:00:00Z");
    if (i > 0) {
      EXPECT_LT(text_of(acme[i - 1], "id"), text_of(acme[i], "id"));
    }
  }
  const auto& overpayment = acme[4];
  EXPECT_EQ(text_of(overpayment, "effective_at"), "2026-01-05T11:00:00Z");
  EXPECT_EQ(text_of(overpayment, "recorded_at"), "2026-01-05T11:00:00Z");
  EXPECT_EQ(text_of(overpayment, "customer"), "acme");
  EXPECT_EQ(text_of(overpayment, "currency"), "USD");
  EXPECT_TRUE(member(overpayment, "corrects").is_null());
  EXPECT_EQ(entry_lines(overpayment),
            (std::vector<std::string>{"debit cash acme 10.00", "credit receivable acme 6.00",
                                      "credit prepaid_credit acme 4.00"}));
  for (const auto& t : acme) {
    if (text_of(t, "kind") == "invoice_finalized") {
      EXPECT_EQ(text_of(t, "cause"), acme_invoice);
      EXPECT_EQ(entry_lines(t), (std::vector<std::string>{"debit receivable acme 30.00",
                                                          "credit revenue - 30.00"}));
    }
  }

  // globex's void names the finalization it reverses.
  const auto globex = transactions("?customer=globex");
  ASSERT_EQ(globex.size(), 4u);
  const auto& reversal = globex.back();
  EXPECT_EQ(text_of(reversal, "kind"), "invoice_void");
  EXPECT_EQ(text_of(reversal, "cause"), globex_invoice);
  EXPECT_EQ(text_of(reversal, "effective_at"), "2026-01-05T12:00:00Z");
  EXPECT_EQ(entry_lines(reversal),
            (std::vector<std::string>{"debit revenue - 30.00", "credit receivable globex 30.00",
                                      "debit receivable globex 5.00",
                                      "credit promotional_credit globex 5.00"}));
  std::string finalization;
  for (const auto& t : globex) {
    if (text_of(t, "kind") == "invoice_finalized") finalization = text_of(t, "id");
    if (text_of(t, "kind") == "credit_grant") {
      EXPECT_EQ(text_of(t, "cause"), promotion.field("id"));
    }
  }
  ASSERT_FALSE(finalization.empty());
  EXPECT_EQ(text_of(reversal, "corrects"), finalization);

  // The whole tenant's, one at a time, are acme's and globex's: 9.
  const auto everything = transactions("", 1000);
  EXPECT_EQ(everything.size(), 9u);
  const auto one_by_one = transactions("", 1);
  ASSERT_EQ(one_by_one.size(), everything.size());
  for (std::size_t i = 0; i < everything.size(); ++i) {
    EXPECT_EQ(json::serialize(one_by_one[i]), json::serialize(everything[i])) << i;
  }

  // [from, to) on effective_at: from is inclusive, to exclusive.
  EXPECT_EQ(transactions("?from=2026-01-05T10:30:00Z").size(), 3u);  // 10:30, 11:00, 12:00
  EXPECT_EQ(transactions("?to=2026-01-05T10:30:00Z").size(), 6u);    // the six at 10:00
  const auto window =
      transactions("?customer=acme&from=2026-01-05T10:30:00Z&to=2026-01-05T11:00:00Z");
  ASSERT_EQ(window.size(), 1u);
  EXPECT_EQ(entry_lines(window[0]),
            (std::vector<std::string>{"debit cash acme 4.00", "credit receivable acme 4.00"}));
  EXPECT_TRUE(transactions("?from=2026-01-05T12:00:01Z").empty());
  EXPECT_EQ(transactions("?from=" + percent_encode("2026-01-05T13:00:00+01:00")).size(), 1u);
}

TEST_P(LedgerApi, AmountsCarryEachCurrencysMinorUnitDigits) {
  // A prepaid grant in yen (no minor unit) and one in dinars (three digits).
  ASSERT_EQ(create_customer(tenant_, "tokyo", R"(,"currency":"JPY")").status, 201);
  ASSERT_EQ(create_customer(tenant_, "kuwait", R"(,"currency":"KWD")").status, 201);
  post("/v1/credit-grants",
       R"({"customer":"tokyo","amount":"500","currency":"JPY","kind":"prepaid"})");
  post("/v1/credit-grants",
       R"({"customer":"kuwait","amount":"1.25","currency":"KWD","kind":"prepaid"})");
  EXPECT_EQ(balance_lines("?customer=tokyo"),
            (std::vector<std::string>{"cash JPY tokyo 500 0 500 debit",
                                      "prepaid_credit JPY tokyo 0 500 500 credit"}));
  EXPECT_EQ(balance_lines("?customer=kuwait"),
            (std::vector<std::string>{"cash KWD kuwait 1.250 0.000 1.250 debit",
                                      "prepaid_credit KWD kuwait 0.000 1.250 1.250 credit"}));
  const auto yen = transactions("?customer=tokyo");
  ASSERT_EQ(yen.size(), 1u);
  EXPECT_EQ(text_of(yen[0], "currency"), "JPY");
  EXPECT_EQ(entry_lines(yen[0]),
            (std::vector<std::string>{"debit cash tokyo 500", "credit prepaid_credit tokyo 500"}));
}

TEST_P(LedgerApi, BadQueriesGetPreciseErrors) {
  // Every bad parameter of a query at once.
  expect_invalid("/v1/ledger/transactions?limit=0&from=yesterday&to=2026-13-01T00:00:00Z",
                 {"limit out_of_range", "from invalid_value", "to invalid_value"});
  expect_invalid("/v1/ledger/transactions?from=2026-01-05T00:00:00Z&to=2026-01-04T00:00:00Z",
                 {"to invalid_value"});
  expect_invalid("/v1/ledger/transactions?cursor=abc&customer=",
                 {"cursor invalid_value", "customer invalid_value"});
  for (const std::string cursor : {"12", "12.", ".ltx_1", "012.ltx_1", "-0.ltx_1", "+1.ltx_1",
                                   "1.ltx%2F1", "99999999999999999999.ltx_1"}) {
    expect_invalid("/v1/ledger/transactions?cursor=" + cursor, {"cursor invalid_value"});
  }
  expect_invalid("/v1/ledger/balances?limit=1001", {"limit out_of_range"});
  expect_invalid("/v1/ledger/balances?customer=&cursor=nope",
                 {"cursor invalid_value", "customer invalid_value"});
  for (const std::string cursor :
       {"revenue", "revenue:usd", "gift:USD", "cash:USD:", "cash:XYZ:c"}) {
    expect_invalid("/v1/ledger/balances?cursor=" + cursor, {"cursor invalid_value"});
  }
  // A cursor of the right shape reads on from there. acme's grant opens cash:USD:<acme's id> and
  // prepaid_credit:USD:<acme's id>; an account id sorts after every prefix of it.
  post("/v1/credit-grants",
       R"({"customer":"acme","amount":"1.00","currency":"USD","kind":"prepaid"})");
  for (const auto& [cursor, count] :
       std::vector<std::pair<std::string, std::size_t>>{{"breakage:USD", 2},
                                                        {"cash:USD", 2},
                                                        {"cash:USD:cus_" + std::string(40, 'z'), 1},
                                                        {"prepaid_credit:USD", 1},
                                                        {"revenue:USD", 0}}) {
    const auto page =
        api().get("/v1/ledger/balances?cursor=" + percent_encode(cursor), tenant_.key);
    ASSERT_EQ(page.status, 200) << cursor << ": " << page.body;
    EXPECT_EQ(member(page.json, "data").items().size(), count) << cursor << ": " << page.body;
  }
  const auto from_zero = api().get("/v1/ledger/transactions?cursor=0.ltx_0", tenant_.key);
  ASSERT_EQ(from_zero.status, 200) << from_zero.body;
  EXPECT_EQ(member(from_zero.json, "data").items().size(), 1u) << from_zero.body;
  // An unknown customer is not found; one without ledger activity has no accounts yet.
  expect_problem(api().get("/v1/ledger/balances?customer=nobody", tenant_.key), 404, "not-found");
  expect_problem(api().get("/v1/ledger/transactions?customer=nobody", tenant_.key), 404,
                 "not-found");
  const auto none = api().get("/v1/ledger/balances?customer=globex", tenant_.key);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.body, R"({"data":[],"next_cursor":null})");
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerApi, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
