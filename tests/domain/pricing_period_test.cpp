// The invoice of a subscription at a billing instant (domain/pricing/period.hpp), on a few
// hand-computed timelines; the data files (tests/data/subscriptions) hold the many.
#include <gtest/gtest.h>

#include "calendar_test_support.hpp"
#include "domain/pricing/period.hpp"
#include "pricing_test_support.hpp"

namespace neruba::domain::pricing {
namespace {

using calendar::test::at;
using calendar::test::zone;
using test::dec;

PlanVersion plan(std::string code, std::string_view recurring, std::string_view seat,
                 std::string_view call_price) {
  PlanVersion version{.plan_code = code,
                      .version = 1,
                      .effective_from = at("2026-01-01T00:00:00Z"),
                      .name = code,
                      .currency = *Currency::of("USD")};
  version.charges.push_back(RecurringCharge{dec(recurring), FeeTiming::advance});
  version.charges.push_back(SeatCharge{dec(seat)});
  version.charges.push_back(test::per_unit(call_price));
  return version;
}

struct Fixture {
  Catalog catalog;
  Timeline timeline;
  Fixture() {
    catalog.plans["basic"] = {plan("basic", "30.00", "10.00", "0.01")};
    catalog.plans["pro"] = {plan("pro", "60.00", "10.00", "0.005")};
    catalog.meters["calls"] = Aggregation::count;
    timeline.zone = &zone("UTC");
    timeline.start = at("2026-04-01T00:00:00Z");
    timeline.phases.push_back(
        TimelinePhase{timeline.start, "basic", 2, timeline.start, ChangeProration::prorate});
  }
};

std::vector<std::string> amounts(const Invoice& invoice) {
  std::vector<std::string> out;
  for (const PricedLine& line : invoice.lines) {
    out.push_back(std::string(line_type_name(line.type)) + " " + line.amount.to_string());
  }
  return out;
}

TEST(SubscriptionInvoice, TheFirstInvoiceCarriesOnlyTheAdvanceFees) {
  Fixture f;
  auto scope = invoice_scope(f.timeline, f.catalog, f.timeline.start, f.timeline.start);
  ASSERT_TRUE(scope) << reason_of(scope.error()).slug;
  EXPECT_FALSE(scope->closing);
  EXPECT_TRUE(scope->usage.empty());
  auto invoice = price_invoice(*scope, {});
  ASSERT_TRUE(invoice);
  // 30.00 and 2 × 10.00.
  EXPECT_EQ(amounts(*invoice), (std::vector<std::string>{"recurring 30.00", "seat 20.00"}));
  EXPECT_EQ(invoice->total.to_string(), "50.00");
}

TEST(SubscriptionInvoice, AnUpgradeMidPeriodCreditsTheUnusedFeeAndSplitsTheUsage) {
  Fixture f;
  f.timeline.phases.push_back(TimelinePhase{at("2026-04-16T00:00:00Z"), "pro", 2, f.timeline.start,
                                            ChangeProration::prorate});
  const Instant end = at("2026-05-01T00:00:00Z");
  EXPECT_FALSE(invoice_scope(f.timeline, f.catalog, at("2026-04-16T00:00:00Z"), end));
  auto scope = invoice_scope(f.timeline, f.catalog, end, end);
  ASSERT_TRUE(scope) << reason_of(scope.error()).slug;
  ASSERT_EQ(scope->usage.size(), 2u);
  EXPECT_EQ(scope->usage[0].window.end, at("2026-04-16T00:00:00Z"));
  const std::vector<WindowUsage> usage{{dec("400"), 400, {}}, {dec("600"), 600, {}}};
  auto invoice = price_invoice(*scope, usage);
  ASSERT_TRUE(invoice) << reason_of(invoice.error()).slug;
  // April has 30 days; the change leaves 15: the basic fee is credited 30 × 15/30 = 15.00, pro
  // charged 60 × 15/30 = 30.00; the seats (2 × 10.00 on both) do not change. Usage: 400 × 0.01
  // and 600 × 0.005. May opens on pro: 60.00 and 20.00.
  EXPECT_EQ(amounts(*invoice),
            (std::vector<std::string>{"proration -15.00", "proration 30.00", "usage 4.00",
                                      "usage 3.00", "recurring 60.00", "seat 20.00"}));
  EXPECT_EQ(invoice->lines[0].explanation.factor.to_string(), "1/2");
  EXPECT_EQ(invoice->total.to_string(), "102.00");
}

TEST(SubscriptionInvoice, ACancellationMidPeriodCreditsTheRestAndOpensNothing) {
  Fixture f;
  f.timeline.ends_at = at("2026-04-25T00:00:00Z");
  auto scope = invoice_scope(f.timeline, f.catalog, *f.timeline.ends_at, *f.timeline.ends_at);
  ASSERT_TRUE(scope) << reason_of(scope.error()).slug;
  EXPECT_FALSE(scope->opening);
  const std::vector<WindowUsage> usage{{dec("100"), 100, {}}};
  auto invoice = price_invoice(*scope, usage);
  ASSERT_TRUE(invoice) << reason_of(invoice.error()).slug;
  // 6 of 30 days unused: 30 × 6/30 = 6.00 and 20 × 6/30 = 4.00 back; 100 calls × 0.01.
  EXPECT_EQ(amounts(*invoice),
            (std::vector<std::string>{"proration -6.00", "proration -4.00", "usage 1.00"}));
}

}  // namespace
}  // namespace neruba::domain::pricing
