// The plan catalog (API.md "Catalog"): POST /v1/plans makes a plan and its version 1, POST
// /v1/plans/{code}/versions a later version; GET /v1/plans/{code} shows every version, GET
// /v1/plans each plan with its latest. A refused plan is a 422 naming each problem's field and
// writes nothing; a plan keeps its currency and interval across versions.
#include <gtest/gtest.h>

#include "domain/time.hpp"
#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

using namespace std::chrono_literals;

class Catalog : public HttpTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Catalog Co");
    for (const char* body :
         {R"({"code":"api_calls","event_type":"api_call","aggregation":"count"})",
          R"({"code":"payments","event_type":"payment","aggregation":"sum","field":"amount"})",
          R"({"code":"storage_gb","event_type":"storage","aggregation":"max","field":"gb"})"}) {
      const auto meter = api().post("/v1/meters", tenant_.key, body);
      ASSERT_EQ(meter.status, 201) << meter.body;
    }
  }

  // A plan body: `fields` are the members after "code" (with their leading comma).
  static std::string plan(const std::string& code, const std::string& fields) {
    return R"({"code":")" + code + R"(")" + fields + "}";
  }

  // The shape of a valid plan around `charges` (a JSON array).
  static std::string with_charges(const std::string& charges, const std::string& currency = "USD") {
    return R"(,"name":"Plan","currency":")" + currency + R"(","interval":"month","charges":)" +
           charges;
  }

  static std::string tiered(const std::string& model, const std::string& tiers) {
    return R"([{"type":"usage","meter":"api_calls","model":")" + model + R"(","tiers":)" + tiers +
           "}]";
  }

  // Posts `body` to `path`, expects a 422 naming `field` with `type`, and that nothing was written.
  void expect_rejected(const std::string& path, const std::string& body, const std::string& field,
                       const std::string& type) {
    const std::string before = fingerprint(tenant_.id);
    const auto response = api().post(path, tenant_.key, body);
    expect_problem(response, 422, "validation-failed", body);
    EXPECT_TRUE(has_field_error(response, field, type))
        << "expected " << field << "/" << type << " for " << body << "\n"
        << response.body;
    EXPECT_UNCHANGED(before, fingerprint(tenant_.id)) << body;
  }
  void expect_plan_rejected(const std::string& body, const std::string& field,
                            const std::string& type) {
    expect_rejected("/v1/plans", body, field, type);
  }

  Tenant tenant_;
};

constexpr const char* kGrowth =
    R"({"code":"growth","name":"Growth","currency":"USD","interval":"month",)"
    R"("effective_from":"2026-01-01T00:00:00Z","proration":"day","minimum_commitment":"100.00",)"
    R"("charges":[{"type":"recurring","amount":"49.00","timing":"advance"},)"
    R"({"type":"seat","unit_price":"10.00"},)"
    R"({"type":"usage","meter":"api_calls","model":"graduated","tiers":[)"
    R"({"up_to":"1000","unit_price":"0","flat_fee":"5.00"},)"
    R"({"up_to":"10000","unit_price":"0.002"},{"up_to":null,"unit_price":"0.0015"}]},)"
    R"({"type":"usage","meter":"payments","model":"percentage","rate":"0.029",)"
    R"("fixed_fee":"0.30","min_per_event":"0.50","max_per_event":"25.00"},)"
    R"({"type":"usage","meter":"storage_gb","model":"package","package_size":"100",)"
    R"("package_price":"4.00","free_units":"10"}]})";

TEST_P(Catalog, CreatedPlanReadsBackWithEveryFieldAndItsFirstVersion) {
  const auto created = api().post("/v1/plans", tenant_.key, kGrowth);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.field("code"), "growth");
  EXPECT_EQ(int_of(created.json, "latest_version"), 1);

  const auto fetched = api().get("/v1/plans/growth", tenant_.key);
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_EQ(fetched.body, created.body) << "a GET shows what the create answered";
  EXPECT_EQ(fetched.field("name"), "Growth");
  EXPECT_EQ(fetched.field("currency"), "USD");
  EXPECT_EQ(fetched.field("interval"), "month");
  const auto& versions = member(fetched.json, "versions").items();
  ASSERT_EQ(versions.size(), 1u);
  const auto& v1 = versions[0];
  EXPECT_EQ(int_of(v1, "version"), 1);
  EXPECT_EQ(text_of(v1, "effective_from"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(text_of(v1, "proration"), "day");
  EXPECT_EQ(text_of(v1, "rounding"), "half_even") << "the default of Billing semantics";
  EXPECT_EQ(text_of(v1, "minimum_commitment"), "100.00");
  const auto& charges = member(v1, "charges").items();
  ASSERT_EQ(charges.size(), 5u);
  EXPECT_EQ(text_of(charges[0], "type"), "recurring");
  EXPECT_EQ(text_of(charges[0], "amount"), "49.00");
  EXPECT_EQ(text_of(charges[0], "timing"), "advance");
  EXPECT_EQ(text_of(charges[1], "unit_price"), "10.00");
  EXPECT_EQ(text_of(charges[2], "model"), "graduated");
  const auto& tiers = member(charges[2], "tiers").items();
  ASSERT_EQ(tiers.size(), 3u);
  EXPECT_EQ(text_of(tiers[0], "up_to"), "1000");
  EXPECT_EQ(text_of(tiers[0], "flat_fee"), "5.00");
  EXPECT_EQ(text_of(tiers[1], "unit_price"), "0.002") << "a price keeps its digits";
  EXPECT_TRUE(member(tiers[2], "up_to").is_null());
  EXPECT_EQ(text_of(charges[3], "rate"), "0.029");
  EXPECT_EQ(text_of(charges[3], "max_per_event"), "25.00");
  EXPECT_EQ(text_of(charges[4], "package_size"), "100");
  EXPECT_EQ(text_of(charges[4], "free_units"), "10");

  // A key with scope read (only) reads plans too; one with ingest only does not.
  EXPECT_EQ(api().get("/v1/plans/growth", make_key(tenant_.id, R"(["read"])").secret).status, 200);
  EXPECT_EQ(api().get("/v1/plans/growth", make_key(tenant_.id, R"(["ingest"])").secret).status,
            403);
  expect_problem(api().get("/v1/plans/nope", tenant_.key), 404, "not-found");
}

TEST_P(Catalog, EffectiveFromDefaultsToNow) {
  const auto created =
      api().post("/v1/plans", tenant_.key,
                 plan("basic", with_charges(R"([{"type":"recurring","amount":"5.00"}])")));
  ASSERT_EQ(created.status, 201) << created.body;
  const auto& v1 = member(created.json, "versions").items().at(0);
  EXPECT_EQ(text_of(v1, "effective_from"), domain::format_rfc3339(api().clock().now()));
  EXPECT_EQ(text_of(member(v1, "charges").items().at(0), "timing"), "advance");
}

TEST_P(Catalog, VersionsTakeEffectLaterAndKeepTheOldOnes) {
  ASSERT_EQ(api().post("/v1/plans", tenant_.key, kGrowth).status, 201);
  const std::string v2 = R"({"name":"Growth 2027","currency":"USD","interval":"month",)"
                         R"("effective_from":"2027-01-01T00:00:00Z",)"
                         R"("charges":[{"type":"recurring","amount":"59.00"}]})";
  const auto added = api().post("/v1/plans/growth/versions", tenant_.key, v2);
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(int_of(added.json, "latest_version"), 2);
  EXPECT_EQ(added.field("name"), "Growth 2027") << "the plan takes its latest version's name";
  const auto& versions = member(added.json, "versions").items();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(text_of(versions[0], "name"), "Growth");
  EXPECT_EQ(text_of(member(versions[0], "charges").items().at(0), "amount"), "49.00");
  EXPECT_EQ(text_of(versions[1], "effective_from"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(text_of(member(versions[1], "charges").items().at(0), "amount"), "59.00");
  EXPECT_EQ(api().get("/v1/plans/growth", tenant_.key).body, added.body);

  // The code may be repeated in the body, as in POST /v1/plans; another code is refused.
  const std::string v3 =
      R"({"code":"growth","name":"Growth 2028","currency":"USD","interval":"month",)"
      R"("effective_from":"2028-01-01T00:00:00Z",)"
      R"("charges":[{"type":"recurring","amount":"69.00"}]})";
  ASSERT_EQ(api().post("/v1/plans/growth/versions", tenant_.key, v3).status, 201);

  const auto listed = api().get("/v1/plans", tenant_.key);
  ASSERT_EQ(listed.status, 200) << listed.body;
  const auto& data = member(listed.json, "data").items();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(int_of(data[0], "latest_version"), 3);
  EXPECT_EQ(text_of(member(data[0], "latest"), "name"), "Growth 2028");
}

TEST_P(Catalog, AVersionKeepsThePlansCurrencyAndIntervalAndComesLater) {
  ASSERT_EQ(api().post("/v1/plans", tenant_.key, kGrowth).status, 201);
  const auto version = [](const std::string& currency, const std::string& interval,
                          const std::string& effective_from, const std::string& code = "") {
    return std::string("{") + (code.empty() ? "" : R"("code":")" + code + R"(",)") +
           R"("name":"G","currency":")" + currency + R"(","interval":")" + interval + R"(",)" +
           (effective_from.empty() ? "" : R"("effective_from":")" + effective_from + R"(",)") +
           R"("charges":[{"type":"recurring","amount":"1.00"}]})";
  };
  const std::string path = "/v1/plans/growth/versions";
  expect_rejected(path, version("EUR", "month", "2027-01-01T00:00:00Z"), "currency",
                  "invalid_value");
  expect_rejected(path, version("USD", "year", "2027-01-01T00:00:00Z"), "interval",
                  "invalid_value");
  // Not before version 1, not at the same instant, and not in the past.
  expect_rejected(path, version("USD", "month", "2025-12-01T00:00:00Z"), "effective_from",
                  "invalid_value");
  expect_rejected(path, version("USD", "month", "2026-01-01T00:00:00Z"), "effective_from",
                  "invalid_value");
  api().clock().advance(24h * 60);
  expect_rejected(path, version("USD", "month", "2026-02-01T00:00:00Z"), "effective_from",
                  "invalid_value");
  expect_rejected(path, version("USD", "month", "2027-01-01T00:00:00Z", "other"), "code",
                  "invalid_value");
  // Without effective_from a version takes effect now.
  const auto now = api().post(path, tenant_.key, version("USD", "month", ""));
  ASSERT_EQ(now.status, 201) << now.body;
  EXPECT_EQ(text_of(member(now.json, "versions").items().at(1), "effective_from"),
            domain::format_rfc3339(api().clock().now()));
  // A version of a plan that does not exist is not found, whatever its body.
  expect_problem(api().post("/v1/plans/absent/versions", tenant_.key,
                            version("USD", "month", "2027-01-01T00:00:00Z")),
                 404, "not-found");
}

TEST_P(Catalog, DuplicateCodeIsAlreadyExistsAndChangesNothing) {
  ASSERT_EQ(api().post("/v1/plans", tenant_.key, kGrowth).status, 201);
  const std::string before = fingerprint(tenant_.id);
  const auto again = api().post("/v1/plans", tenant_.key, kGrowth);
  expect_problem(again, 409, "already-exists");
  EXPECT_TRUE(has_field_error(again, "code", "already_exists")) << again.body;
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
}

TEST_P(Catalog, ShapeErrorsNameTheirField) {
  const std::string recurring = R"([{"type":"recurring","amount":"5.00"}])";
  expect_plan_rejected(R"({"name":"P","currency":"USD","interval":"month","charges":[]})", "code",
                       "required");
  expect_plan_rejected(plan("has space", with_charges(recurring)), "code", "invalid_value");
  expect_plan_rejected(plan("p", R"(,"currency":"USD","interval":"month","charges":[])"), "name",
                       "required");
  expect_plan_rejected(plan("p", R"(,"name":"P","interval":"month","charges":[])"), "currency",
                       "required");
  expect_plan_rejected(plan("p", with_charges(recurring, "XYZ")), "currency", "invalid_value");
  expect_plan_rejected(plan("p", R"(,"name":"P","currency":"USD","charges":[])"), "interval",
                       "required");
  expect_plan_rejected(plan("p", R"(,"name":"P","currency":"USD","interval":"week","charges":[])"),
                       "interval", "invalid_value");
  expect_plan_rejected(plan("p", R"(,"name":"P","currency":"USD","interval":"month")"), "charges",
                       "required");
  expect_plan_rejected(plan("p", with_charges(recurring) + R"(,"proration":"hour")"), "proration",
                       "invalid_value");
  expect_plan_rejected(plan("p", with_charges(recurring) + R"(,"rounding":"banker")"), "rounding",
                       "invalid_value");
  expect_plan_rejected(plan("p", with_charges(recurring) + R"(,"effective_from":"yesterday")"),
                       "effective_from", "invalid_value");
  expect_plan_rejected(plan("p", with_charges(recurring) + R"(,"surprise":1)"), "surprise",
                       "unknown_field");
  expect_plan_rejected(plan("p", with_charges(R"([{"amount":"5.00"}])")), "charges[0].type",
                       "required");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"discount"}])")), "charges[0].type",
                       "invalid_value");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"recurring"}])")), "charges[0].amount",
                       "required");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"recurring","amount":5}])")),
                       "charges[0].amount", "invalid_type");
  expect_plan_rejected(
      plan("p", with_charges(R"([{"type":"recurring","amount":"5.00","timing":"later"}])")),
      "charges[0].timing", "invalid_value");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"seat","unit_price":"1e3"}])")),
                       "charges[0].unit_price", "invalid_value");
  expect_plan_rejected(
      plan("p", with_charges(R"([{"type":"usage","meter":"api_calls","unit_price":"1"}])")),
      "charges[0].model", "required");
  expect_plan_rejected(
      plan("p",
           with_charges(R"([{"type":"usage","meter":"api_calls","model":"per_unit","tiers":[]}])")),
      "charges[0].tiers", "unknown_field");
  expect_plan_rejected(plan("p", with_charges(tiered("graduated", "[]"))), "charges[0].tiers",
                       "invalid_value");
  expect_plan_rejected(plan("p", with_charges(tiered("volume", R"([{"unit_price":"1"}])"))),
                       "charges[0].tiers[0].up_to", "required");
}

TEST_P(Catalog, MoneyHasTheCurrencysDigitsAndPricesMayBeFiner) {
  // Money (fees, package prices, minimums) has at most the currency's minor-unit digits.
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"recurring","amount":"5.001"}])")),
                       "charges[0].amount", "too_many_fraction_digits");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"recurring","amount":"5.5"}])", "JPY")),
                       "charges[0].amount", "too_many_fraction_digits");
  expect_plan_rejected(
      plan("p", with_charges(R"([{"type":"recurring","amount":"5.0001"}])", "KWD")),
      "charges[0].amount", "too_many_fraction_digits");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"recurring","amount":"1.00"}])") +
                                     R"(,"minimum_commitment":"0.001")"),
                       "minimum_commitment", "too_many_fraction_digits");
  // A unit price may be finer than a cent, up to 12 fraction digits.
  const auto fine = api().post(
      "/v1/plans", tenant_.key,
      plan("fine", with_charges(R"([{"type":"usage","meter":"api_calls","model":"per_unit",)"
                                R"("unit_price":"0.000000000001"}])")));
  EXPECT_EQ(fine.status, 201) << fine.body;
  expect_plan_rejected(
      plan("p", with_charges(R"([{"type":"usage","meter":"api_calls","model":"per_unit",)"
                             R"("unit_price":"0.0000000000001"}])")),
      "charges[0].unit_price", "price_too_precise");
  const auto kwd =
      api().post("/v1/plans", tenant_.key,
                 plan("kwd", with_charges(R"([{"type":"recurring","amount":"5.125"}])", "KWD")));
  EXPECT_EQ(kwd.status, 201) << kwd.body;
}

TEST_P(Catalog, TiersAscendAndEndOpen) {
  const auto rejected = [&](const std::string& model, const std::string& tiers,
                            const std::string& field, const std::string& type) {
    expect_plan_rejected(plan("p", with_charges(tiered(model, tiers))), field, type);
  };
  for (const std::string model : {"graduated", "volume"}) {
    rejected(model, R"([{"up_to":"100","unit_price":"1"}])", "charges[0].tiers[0].up_to",
             "tier_last_not_open");
    rejected(model,
             R"([{"up_to":"100","unit_price":"1"},{"up_to":"100","unit_price":"0.5"},)"
             R"({"up_to":null,"unit_price":"0.1"}])",
             "charges[0].tiers[1].up_to", "tier_not_ascending");
    rejected(model,
             R"([{"up_to":"100","unit_price":"1"},{"up_to":"50","unit_price":"0.5"},)"
             R"({"up_to":null,"unit_price":"0.1"}])",
             "charges[0].tiers[1].up_to", "tier_not_ascending");
    rejected(model, R"([{"up_to":null,"unit_price":"1"},{"up_to":null,"unit_price":"0.5"}])",
             "charges[0].tiers[0].up_to", "tier_open_before_last");
    rejected(model, R"([{"up_to":"0","unit_price":"1"},{"up_to":null,"unit_price":"0.5"}])",
             "charges[0].tiers[0].up_to", "tier_up_to_not_positive");
    rejected(model, R"([{"up_to":"10","unit_price":"-1"},{"up_to":null,"unit_price":"0.5"}])",
             "charges[0].tiers[0].unit_price", "negative_price");
    rejected(model,
             R"([{"up_to":"10","unit_price":"1","flat_fee":"-2.00"},)"
             R"({"up_to":null,"unit_price":"0.5"}])",
             "charges[0].tiers[0].flat_fee", "negative_price");
  }
  // Tiers are contiguous by construction ((previous up_to, up_to]): fractional bounds are fine.
  const auto fractional = api().post(
      "/v1/plans", tenant_.key,
      plan("frac", with_charges(tiered("volume", R"([{"up_to":"0.5","unit_price":"2"},)"
                                                 R"({"up_to":null,"unit_price":"1"}])"))));
  EXPECT_EQ(fractional.status, 201) << fractional.body;
}

TEST_P(Catalog, PricesAreNonNegativeAndMetersMustFit) {
  const auto usage = [](const std::string& fields) {
    return plan("p", with_charges(R"([{"type":"usage",)" + fields + "}]"));
  };
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"recurring","amount":"-1.00"}])")),
                       "charges[0].amount", "negative_price");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"seat","unit_price":"-1.00"}])")),
                       "charges[0].unit_price", "negative_price");
  expect_plan_rejected(usage(R"("meter":"api_calls","model":"per_unit","unit_price":"-0.1")"),
                       "charges[0].unit_price", "negative_price");
  expect_plan_rejected(
      usage(R"("meter":"api_calls","model":"per_unit","unit_price":"1","free_units":"-5")"),
      "charges[0].free_units", "negative_free_units");
  expect_plan_rejected(
      usage(R"("meter":"api_calls","model":"package","package_size":"0","package_price":"1.00")"),
      "charges[0].package_size", "package_size_not_positive");
  expect_plan_rejected(usage(R"("meter":"payments","model":"percentage","rate":"-0.01")"),
                       "charges[0].rate", "negative_price");
  expect_plan_rejected(usage(R"("meter":"payments","model":"percentage","rate":"0.01",)"
                             R"("min_per_event":"2.00","max_per_event":"1.00")"),
                       "charges[0].min_per_event", "percentage_min_above_max");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"recurring","amount":"1.00"}])") +
                                     R"(,"minimum_commitment":"-5.00")"),
                       "minimum_commitment", "negative_price");
  // Unknown meters are refused; a percentage needs a sum meter (an amount to take a rate of).
  expect_plan_rejected(usage(R"("meter":"ghost","model":"per_unit","unit_price":"1")"),
                       "charges[0].meter", "unknown_meter");
  expect_plan_rejected(usage(R"("meter":"api_calls","model":"percentage","rate":"0.01")"),
                       "charges[0].meter", "meter_not_summable");
  expect_plan_rejected(usage(R"("meter":"storage_gb","model":"percentage","rate":"0.01")"),
                       "charges[0].meter", "meter_not_summable");
  // One meter priced twice in a plan would bill its usage twice; so would two seat charges.
  expect_plan_rejected(
      plan("p", with_charges(R"([{"type":"usage","meter":"api_calls","model":"per_unit",)"
                             R"("unit_price":"1"},{"type":"usage","meter":"api_calls",)"
                             R"("model":"per_unit","unit_price":"2"}])")),
      "charges[1].meter", "meter_priced_twice");
  expect_plan_rejected(plan("p", with_charges(R"([{"type":"seat","unit_price":"1.00"},)"
                                              R"({"type":"seat","unit_price":"2.00"}])")),
                       "charges[1]", "seat_priced_twice");
  // A version is checked like a plan: an unknown meter there is refused too.
  ASSERT_EQ(api().post("/v1/plans", tenant_.key, kGrowth).status, 201);
  expect_rejected("/v1/plans/growth/versions",
                  R"({"name":"G","currency":"USD","interval":"month",)"
                  R"("effective_from":"2027-01-01T00:00:00Z","charges":[{"type":"usage",)"
                  R"("meter":"ghost","model":"per_unit","unit_price":"1"}]})",
                  "charges[0].meter", "unknown_meter");
}

TEST_P(Catalog, EveryProblemOfAPlanIsReportedAtOnce) {
  const auto response = api().post(
      "/v1/plans", tenant_.key,
      plan("p", with_charges(R"([{"type":"recurring","amount":"-1.00"},)"
                             R"({"type":"usage","meter":"ghost","model":"per_unit",)"
                             R"("unit_price":"1"},)"
                             R"({"type":"usage","meter":"api_calls","model":"graduated",)"
                             R"("tiers":[{"up_to":"10","unit_price":"1"}]}])")));
  expect_problem(response, 422, "validation-failed");
  EXPECT_TRUE(has_field_error(response, "charges[0].amount", "negative_price")) << response.body;
  EXPECT_TRUE(has_field_error(response, "charges[1].meter", "unknown_meter")) << response.body;
  EXPECT_TRUE(has_field_error(response, "charges[2].tiers[0].up_to", "tier_last_not_open"))
      << response.body;
}

TEST_P(Catalog, ListPagesThroughEveryPlan) {
  for (int i = 0; i < 7; ++i) {
    const auto created =
        api().post("/v1/plans", tenant_.key,
                   plan("plan_" + std::to_string(i),
                        with_charges(R"([{"type":"recurring","amount":"1.00"}])")));
    ASSERT_EQ(created.status, 201) << created.body;
  }
  std::size_t pages = 0;
  const auto plans = walk("/v1/plans", tenant_.key, 3, {}, &pages);
  ASSERT_EQ(plans.size(), 7u);
  EXPECT_EQ(pages, 3u);
  for (std::size_t i = 0; i < plans.size(); ++i) {
    EXPECT_EQ(text_of(plans[i], "code"), "plan_" + std::to_string(i));
  }
}

TEST_P(Catalog, WritesReplayUnderAnIdempotencyKey) {
  post_replayed("/v1/plans", tenant_, kGrowth, "plan-growth-1");
  const std::string v2 =
      R"({"name":"G2","currency":"USD","interval":"month","effective_from":"2027-01-01T00:00:00Z",)"
      R"("charges":[{"type":"recurring","amount":"2.00"}]})";
  post_replayed("/v1/plans/growth/versions", tenant_, v2, "plan-growth-v2");
  EXPECT_EQ(int_of(api().get("/v1/plans/growth", tenant_.key).json, "latest_version"), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, Catalog, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
