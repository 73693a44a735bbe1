// Properties of a subscription's invoice (domain/pricing/period.hpp): invoice_scope then
// price_invoice on generated plans, timelines and events, checked with RapidCheck.
// RC_PARAMS="max_success=10000" runs more cases; a failure prints a seed to replay.
//
// - ArrivalOrderChangesNothing: usage read from metering Aggregates built from events in one order
//   and in a permutation of it gives identical invoices (and a max or latest meter's shares of a
//   split period add up to 1).
// - AChangeToTheSameVersionAndSeatsChangesNoFeeAndSplitsUsage: a prorate change that keeps the
//   plan version and the seats splits the period, leaves the fee lines as they were, and the usage
//   lines of count and sum meters (per_unit, graduated, package, volume) add up to the unsplit
//   period's line: exactly when every amount is a whole number of minor units, else within
//   (segments − 1) minor units (the bound is derived above the property).
// - TheFactorsOfAChangeAddUpToOne: the part before a change and the credit (or the charge) of the
//   rest of the period add up to exactly 1 (Ratio::add).
// - AWholePeriodIsChargedWhole: a fee over a whole period has factor 1/1 and is the full price ×
//   quantity rounded once, also when a change falls on the period's edge.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "calendar_test_support.hpp"
#include "domain/calendar/proration.hpp"
#include "domain/metering.hpp"
#include "domain/pricing/lines.hpp"
#include "domain/pricing/period.hpp"
#include "domain/time.hpp"

namespace neruba::domain::pricing {
namespace {

using calendar::BillingCycle;
using std::chrono::microseconds;

// ---------------------------------------------------------------------------------------------
// Generators.

rc::Gen<const date::time_zone*> zones() {
  return rc::gen::element(&calendar::test::zone("UTC"), &calendar::test::zone("Europe/Berlin"),
                          &calendar::test::zone("America/New_York"),
                          &calendar::test::zone("Australia/Lord_Howe"),
                          &calendar::test::zone("Asia/Kolkata"));
}

// Instants from 2000 to 2080, often on a whole hour (a month's or a day's edge more often than
// chance), else to the microsecond.
Instant any_instant() {
  const std::int64_t from = to_unix_micros(calendar::test::at("2000-01-01T00:00:00Z"));
  const std::int64_t to = to_unix_micros(calendar::test::at("2080-01-01T00:00:00Z"));
  const std::int64_t micros = *rc::gen::inRange(from, to);
  const std::int64_t hour = 3'600'000'000;
  return from_unix_micros(*rc::gen::arbitrary<bool>() ? micros / hour * hour : micros);
}

// An instant in [from, to), from < to: near either edge a third of the time.
Instant instant_in(Instant from, Instant to) {
  const std::int64_t length = (to - from).count();
  switch (*rc::gen::inRange(0, 3)) {
    case 0:
      return from + microseconds{*rc::gen::inRange<std::int64_t>(
                        0, std::min<std::int64_t>(length, 3'600'000'000))};
    case 1:
      return to - microseconds{*rc::gen::inRange<std::int64_t>(
                      1, std::min<std::int64_t>(length, 3'600'000'000) + 1)};
    default:
      return from + microseconds{*rc::gen::inRange<std::int64_t>(0, length)};
  }
}

Decimal decimal(std::int64_t coefficient, int scale) {
  return *Decimal::from_parts(coefficient, scale).value;
}

// A non-negative decimal below max_coefficient × 10^-scale, scale 0..max_scale.
Decimal any_decimal(std::int64_t max_coefficient, int max_scale) {
  return decimal(*rc::gen::inRange<std::int64_t>(0, max_coefficient + 1),
                 *rc::gen::inRange(0, max_scale + 1));
}

Decimal add(const Decimal& a, const Decimal& b) { return *a.add(b); }

// Prices: "whole" keeps every price to the currency's minor unit, so that integer quantities make
// every exact amount a whole number of minor units.
struct PriceShape {
  int max_scale = 6;
};

Decimal any_price(const PriceShape& shape, std::int64_t max_coefficient = 1'000'000) {
  return any_decimal(max_coefficient, shape.max_scale);
}

Decimal positive_price(const PriceShape& shape) {
  return add(any_price(shape), decimal(*rc::gen::inRange(1, 1000), 0));
}

// Tier bounds at most `bound_scale` fraction digits.
std::vector<Tier> any_tiers(const PriceShape& shape, int bound_scale) {
  const int count = *rc::gen::inRange(1, 5);
  std::vector<Tier> tiers;
  Decimal bound;
  for (int index = 0; index < count; ++index) {
    std::optional<Decimal> up_to;
    if (index + 1 < count)
      up_to = bound = add(bound, add(any_decimal(5000, bound_scale), decimal(1, 0)));
    std::optional<Decimal> flat_fee;
    if (*rc::gen::arbitrary<bool>()) flat_fee = any_price(shape, 100'000);
    tiers.push_back(Tier{up_to, any_price(shape), flat_fee});
  }
  return tiers;
}

UsageCharge any_usage_charge(const std::string& meter, UsageModel model, const PriceShape& shape,
                             int quantity_scale) {
  UsageCharge charge;
  charge.meter = meter;
  charge.model = model;
  switch (model) {
    case UsageModel::per_unit:
      charge.unit_price = any_price(shape);
      charge.free_units = any_decimal(1000, quantity_scale);
      break;
    case UsageModel::graduated:
    case UsageModel::volume:
      charge.tiers = any_tiers(shape, quantity_scale);
      break;
    case UsageModel::package:
      charge.package_size = add(any_decimal(100, 0), decimal(1, 0));
      charge.package_price = any_price(shape);
      charge.free_units = any_decimal(1000, quantity_scale);
      break;
    case UsageModel::percentage:
      charge.rate = any_decimal(1000, 4);
      if (*rc::gen::arbitrary<bool>()) charge.fixed_fee = any_decimal(100, 2);
      if (*rc::gen::arbitrary<bool>()) {
        charge.min_per_event = any_decimal(100, 2);
        charge.max_per_event = add(*charge.min_per_event, any_decimal(1000, 2));
      }
      break;
  }
  return charge;
}

// The meters every generated catalog has.
const std::map<std::string, Aggregation, std::less<>> all_meters = {{"calls", Aggregation::count},
                                                                    {"tokens", Aggregation::sum},
                                                                    {"spend", Aggregation::sum},
                                                                    {"peak", Aggregation::max},
                                                                    {"last", Aggregation::latest}};

const Currency& any_currency() {
  static const std::vector<Currency> currencies = {*Currency::of("USD"), *Currency::of("JPY"),
                                                   *Currency::of("KWD")};
  return currencies[*rc::gen::inRange<std::size_t>(0, currencies.size())];
}

// The frame of a plan: what the plans of one subscription share or a property fixes.
struct PlanFrame {
  Currency currency = *Currency::of("USD");
  Interval interval = Interval::month;
  ProrationBasis basis = ProrationBasis::second;
  RoundingMode rounding = RoundingMode::half_even;
};

PlanFrame any_frame() {
  PlanFrame frame;
  frame.currency = any_currency();
  frame.interval = *rc::gen::element(Interval::month, Interval::year);
  frame.basis = *rc::gen::element(ProrationBasis::second, ProrationBasis::day);
  frame.rounding = *rc::gen::element(RoundingMode::half_even, RoundingMode::half_up,
                                     RoundingMode::down, RoundingMode::up);
  return frame;
}

PlanVersion version_of(const std::string& code, const PlanFrame& frame) {
  return PlanVersion{.plan_code = code,
                     .version = 1,
                     .effective_from = calendar::test::at("1990-01-01T00:00:00Z"),
                     .name = code,
                     .currency = frame.currency,
                     .interval = frame.interval,
                     .proration = frame.basis,
                     .rounding = frame.rounding};
}

// Any plan: fees or not, usage charges on some of the meters in any model their aggregation
// takes (percentage only on `spend`).
PlanVersion any_plan(const std::string& code, const PlanFrame& frame) {
  PriceShape shape;
  PlanVersion version = version_of(code, frame);
  if (*rc::gen::arbitrary<bool>()) {
    version.charges.push_back(RecurringCharge{
        positive_price(shape), *rc::gen::element(FeeTiming::advance, FeeTiming::arrears)});
  }
  if (*rc::gen::arbitrary<bool>()) version.charges.push_back(SeatCharge{any_price(shape)});
  for (const auto& [meter, aggregation] : all_meters) {
    if (!*rc::gen::arbitrary<bool>()) continue;
    const UsageModel model =
        meter == "spend"
            ? *rc::gen::element(UsageModel::per_unit, UsageModel::graduated, UsageModel::volume,
                                UsageModel::package, UsageModel::percentage)
            : *rc::gen::element(UsageModel::per_unit, UsageModel::graduated, UsageModel::volume,
                                UsageModel::package);
    version.charges.push_back(any_usage_charge(meter, model, shape, 3));
  }
  if (*rc::gen::inRange(0, 4) == 0) version.minimum_commitment = positive_price(shape);
  version.usage_billed_during_trial = *rc::gen::arbitrary<bool>();
  return version;
}

// ---------------------------------------------------------------------------------------------
// Usage: events, metered the way ingest meters them (domain/metering.hpp), read per window.

struct Event {
  std::string meter;
  Instant at;
  Decimal value;  // count meters ignore it
  std::string id;
};

// `count` events on the catalog's meters inside [from, to); values at one scale per meter, as a
// meter's field usually arrives, integers where `integer_values`.
std::vector<Event> any_events(const std::vector<std::string>& meters, Instant from, Instant to,
                              bool integer_values) {
  std::vector<Event> events;
  if (meters.empty()) return events;
  std::map<std::string, int> scales;
  for (const auto& meter : meters) scales[meter] = integer_values ? 0 : *rc::gen::inRange(0, 4);
  const int count = *rc::gen::inRange(0, 40);
  for (int index = 0; index < count; ++index) {
    Event event;
    event.meter = meters[*rc::gen::inRange<std::size_t>(0, meters.size())];
    event.at = instant_in(from, to);
    event.value = decimal(*rc::gen::inRange<std::int64_t>(0, 100'000), scales[event.meter]);
    event.id = "evt_" + std::to_string(index);
    events.push_back(std::move(event));
  }
  return events;
}

Contribution contribution_of(Aggregation aggregation, const Event& event) {
  Contribution contribution;
  contribution.group_key = "{}";
  if (aggregation != Aggregation::count) contribution.number = event.value;
  contribution.summed = aggregation == Aggregation::sum;
  return contribution;
}

// The window's usage as a billing run reads it: the events of the meter inside the window, added
// in arrival order to hour buckets (one Aggregate each, as ingest stores them), the buckets merged
// in the order they were first written.
WindowUsage read_usage(const UsageWindow& window, const std::vector<Event>& arrivals) {
  const Aggregation aggregation = all_meters.at(window.meter);
  std::vector<Instant> bucket_order;
  std::map<Instant, Aggregate> buckets;
  WindowUsage usage;
  for (const Event& event : arrivals) {
    if (event.meter != window.meter || event.at < window.window.start ||
        event.at >= window.window.end) {
      continue;
    }
    const Instant hour = usage_bucket_start(event.at);
    if (!buckets.contains(hour)) bucket_order.push_back(hour);
    RC_ASSERT(buckets[hour].add(contribution_of(aggregation, event), event.at, event.id));
    if (window.event_amounts) usage.event_amounts.push_back(event.value);
  }
  Aggregate total;
  for (const Instant hour : bucket_order) RC_ASSERT(total.merge(buckets[hour]));
  usage.events = total.events;
  switch (aggregation) {
    case Aggregation::count:
      usage.quantity = Decimal::from_integer(total.events);
      break;
    case Aggregation::sum:
      usage.quantity = total.sum.value_or(Decimal());
      break;
    case Aggregation::max:
      usage.quantity = total.max.value_or(Decimal());
      break;
    case Aggregation::latest:
      usage.quantity = total.latest_value.value_or(Decimal());
      break;
    case Aggregation::unique_count:
      RC_FAIL("no unique_count meter here");
  }
  return usage;
}

std::vector<WindowUsage> read_usage(const InvoiceScope& scope, const std::vector<Event>& arrivals) {
  std::vector<WindowUsage> usage;
  for (const UsageWindow& window : scope.usage) usage.push_back(read_usage(window, arrivals));
  return usage;
}

// ---------------------------------------------------------------------------------------------
// Running the engine, and what a failure shows.

std::string text(Instant instant) { return format_rfc3339(instant); }
std::string text(const Period& period) { return calendar::test::text(period); }

std::string text(const Invoice& invoice) {
  std::ostringstream out;
  out << "invoice at " << text(invoice.at) << " " << invoice.currency.code() << " subtotal "
      << invoice.subtotal << " total " << invoice.total << "\n";
  for (const PricedLine& line : invoice.lines) {
    const LineExplanation& why = line.explanation;
    out << "  " << line_type_name(line.type) << " '" << line.description << "' meter "
        << line.meter.value_or("-") << " quantity " << line.quantity << " unit_price "
        << (line.unit_price ? line.unit_price->to_string() : "-") << " amount " << line.amount
        << " period " << text(line.period) << " | " << why.plan_code << " v" << why.plan_version
        << " factor " << why.factor << " part " << text(why.part) << " nominal "
        << text(why.nominal) << " full " << why.full_amount << " credit_of "
        << why.credit_of.value_or("-") << (why.trial ? " trial" : "");
    if (why.usage) {
      const UsageExplanation& usage = *why.usage;
      out << " usage[q " << usage.quantity << " before " << usage.already_used << " period "
          << usage.period_quantity << " events " << usage.events << " free "
          << usage.free_units_applied << " billable " << usage.billable_units << " packages "
          << usage.packages << " tiers";
      for (const TierUsage& tier : usage.tiers) {
        out << " (" << tier.tier << ": " << tier.units << " × " << tier.unit_price << " + "
            << tier.flat_fee << " = " << tier.amount << ")";
      }
      out << " min " << usage.events_at_minimum << " max " << usage.events_at_maximum << "]";
    }
    if (why.commitment) {
      out << " commitment[min " << why.commitment->minimum << " factor " << why.commitment->factor
          << " total " << why.commitment->period_total << " amount " << why.commitment->amount
          << "]";
    }
    out << "\n";
  }
  return out.str();
}

std::string text(const Timeline& timeline) {
  std::ostringstream out;
  out << "timeline in " << timeline.zone->name() << " from " << text(timeline.start);
  if (timeline.trial_end) out << ", trial until " << text(*timeline.trial_end);
  if (timeline.ends_at) out << ", ends at " << text(*timeline.ends_at);
  for (const TimelinePhase& phase : timeline.phases) {
    out << "\n  from " << text(phase.from) << ": " << phase.plan_code << ", " << phase.seats
        << " seats, anchor " << text(phase.billing_anchor)
        << (phase.proration == ChangeProration::none ? ", proration none" : "");
  }
  return out.str() + "\n";
}

template <typename T>
std::string slug(const Result<T, PricingError>& result) {
  return result.ok() ? "ok" : std::string(reason_of(result.error()).slug);
}

InvoiceScope scope_of(const Timeline& timeline, const Catalog& catalog, Instant at) {
  auto scope = invoice_scope(timeline, catalog, at, at);
  RC_LOG() << "invoice_scope at " << text(at) << ": " << slug(scope) << "\n";
  RC_ASSERT(scope.ok());
  return std::move(scope).value();
}

Invoice invoice_of(const InvoiceScope& scope, const std::vector<WindowUsage>& usage) {
  auto invoice = price_invoice(scope, usage);
  RC_LOG() << "price_invoice: " << slug(invoice) << "\n";
  RC_ASSERT(invoice.ok());
  return std::move(invoice).value();
}

Catalog catalog_of(std::vector<PlanVersion> plans) {
  Catalog catalog;
  catalog.meters = all_meters;
  for (auto& plan : plans) catalog.plans[plan.plan_code].push_back(std::move(plan));
  return catalog;
}

std::vector<std::string> meters_priced(const Catalog& catalog) {
  std::vector<std::string> meters;
  for (const auto& [code, versions] : catalog.plans) {
    for (const PlanVersion& version : versions) {
      for (const Charge& charge : version.charges) {
        if (const auto* usage = std::get_if<UsageCharge>(&charge)) meters.push_back(usage->meter);
      }
    }
  }
  std::sort(meters.begin(), meters.end());
  meters.erase(std::unique(meters.begin(), meters.end()), meters.end());
  return meters;
}

Period cycle_period(const date::time_zone& zone, Interval interval, Instant anchor,
                    std::int64_t index) {
  const auto cycle = BillingCycle::of(zone, interval, anchor);
  RC_ASSERT(cycle.ok());
  const auto period = cycle->period(index);
  RC_ASSERT(period.ok());
  return *period;
}

Decimal minor_unit(const Currency& currency) { return decimal(1, currency.minor_unit_digits()); }

bool is_fee(const PricedLine& line) {
  return line.type == LineType::recurring || line.type == LineType::seat ||
         line.type == LineType::proration;
}

// A subscription from an instant that is its anchor, on `plan` with `seats`: one of its first
// three (whole) cycle periods, and an instant inside it for a change.
struct Anchored {
  Timeline timeline;
  Period period;
  Instant change;
};

Anchored anchored(const std::string& plan, std::int64_t seats, Interval interval) {
  Anchored anchored;
  Timeline& timeline = anchored.timeline;
  timeline.zone = *zones();
  timeline.start = any_instant();
  timeline.phases.push_back(TimelinePhase{timeline.start, plan, seats, timeline.start});
  anchored.period =
      cycle_period(*timeline.zone, interval, timeline.start, *rc::gen::inRange<std::int64_t>(0, 3));
  anchored.change = instant_in(anchored.period.start + microseconds{1}, anchored.period.end);
  RC_LOG() << "period " << text(anchored.period) << ", change at " << text(anchored.change) << "\n";
  return anchored;
}

// ---------------------------------------------------------------------------------------------
// (a) Lines do not depend on the order in which events arrived.

RC_GTEST_PROP(PricingPeriodProperty, ArrivalOrderChangesNothing, ()) {
  PlanFrame frame = any_frame();
  frame.interval = Interval::month;  // a few periods of usage, not years
  const Catalog catalog = catalog_of({any_plan("basic", frame), any_plan("pro", frame)});

  Timeline timeline;
  timeline.zone = *zones();
  timeline.start = any_instant();
  Instant anchor = timeline.start;
  switch (*rc::gen::inRange(0, 3)) {
    case 0:  // a trial: the anchor is its end
      timeline.trial_end = anchor =
          timeline.start + std::chrono::hours{*rc::gen::inRange(1, 24 * 20)};
      break;
    case 1:  // a stub before the anchor
      anchor = timeline.start + std::chrono::hours{*rc::gen::inRange(1, 24 * 20)};
      break;
    default:
      break;
  }
  const Instant horizon = timeline.start + std::chrono::hours{24 * 100};
  timeline.phases.push_back(TimelinePhase{timeline.start,
                                          *rc::gen::element<std::string>("basic", "pro"),
                                          *rc::gen::inRange<std::int64_t>(0, 50), anchor});
  const int changes = *rc::gen::inRange(0, 3);
  Instant from = timeline.start;
  for (int index = 0; index < changes; ++index) {
    from = instant_in(from + microseconds{1'000'000}, horizon);
    timeline.phases.push_back(
        TimelinePhase{from, *rc::gen::element<std::string>("basic", "pro"),
                      *rc::gen::inRange<std::int64_t>(0, 50), anchor,
                      *rc::gen::element(ChangeProration::prorate, ChangeProration::none)});
  }
  if (*rc::gen::inRange(0, 4) == 0) timeline.ends_at = instant_in(from + microseconds{1}, horizon);

  RC_LOG() << text(timeline);
  const auto instants = billing_instants(timeline, catalog, horizon);
  RC_LOG() << "billing_instants: " << slug(instants) << "\n";
  RC_ASSERT(instants.ok());
  RC_PRE(instants->size() >= 2);
  // Most often the invoice that closes the period of the first change (a split period).
  std::size_t index = *rc::gen::inRange<std::size_t>(1, instants->size());
  if (timeline.phases.size() > 1 && *rc::gen::inRange(0, 8) > 0) {
    index = std::upper_bound(instants->begin(), instants->end(), timeline.phases[1].from) -
            instants->begin();
    RC_PRE(index < instants->size());
  }
  const Instant at = (*instants)[index];
  const InvoiceScope scope = scope_of(timeline, catalog, at);
  RC_ASSERT(scope.closing.has_value());

  const auto events =
      any_events(meters_priced(catalog), scope.closing->start - std::chrono::hours{2},
                 scope.closing->end + std::chrono::hours{2}, false);
  std::vector<Event> permuted = events;
  std::shuffle(permuted.begin(), permuted.end(),
               std::mt19937_64(*rc::gen::arbitrary<std::uint64_t>()));
  const auto first = price_invoice(scope, read_usage(scope, events));
  const auto second = price_invoice(scope, read_usage(scope, permuted));
  RC_LOG() << "price_invoice: " << slug(first) << ", permuted: " << slug(second) << "\n";
  RC_ASSERT(slug(first) == slug(second));
  RC_ASSERT(first.ok());
  RC_ASSERT(text(*first) == text(*second));
  // And a max or latest meter priced in every segment is weighed by shares that add up to 1.
  for (const std::string meter : {"peak", "last"}) {
    Ratio shares;
    std::size_t lines = 0;
    for (const PricedLine& line : first->lines) {
      if (line.type != LineType::usage || line.meter != meter) continue;
      shares = *shares.add(line.explanation.factor);
      ++lines;
    }
    if (lines == scope.segments.size()) RC_ASSERT(shares == Ratio::one());
  }
  RC_CLASSIFY(scope.segments.size() > 1, "split period");
  RC_CLASSIFY(timeline.trial_end.has_value(), "trial");
}

// ---------------------------------------------------------------------------------------------
// (b) A change that keeps the plan version and the seats (prorate).
//
// The bound: each usage line is its segment's exact amount rounded once, and the segments' exact
// amounts add up to the unsplit period's (models.hpp: parts price exactly as the whole). In minor
// units, with k lines for a meter: rounding down (or up), the k lines lie below (above) their
// exact total by less than k, the unsplit line by less than 1, so the difference lies strictly
// between −1 and k (−k and 1): at most k − 1; rounding half_even or half_up, the k lines are
// within k/2 of the exact total and the unsplit line within 1/2: at most (k + 1)/2, an integer, so
// at most k − 1 for k >= 2. Hence |Σ segment lines − unsplit line| <= (segments − 1) minor units
// in every mode — and exactly 0 when every price, fee and tier bound has at most the currency's
// minor-unit digits and every quantity is whole: each exact amount is then a whole number of minor
// units, and no line rounds at all.

RC_GTEST_PROP(PricingPeriodProperty, AChangeToTheSameVersionAndSeatsChangesNoFeeAndSplitsUsage,
              ()) {
  const PlanFrame frame = any_frame();
  const bool whole = *rc::gen::arbitrary<bool>();
  PriceShape shape;
  if (whole) shape.max_scale = frame.currency.minor_unit_digits();
  PlanVersion plan = version_of("pro", frame);
  plan.charges.push_back(RecurringCharge{positive_price(shape), FeeTiming::advance});
  if (*rc::gen::arbitrary<bool>()) {
    plan.charges.push_back(RecurringCharge{positive_price(shape), FeeTiming::arrears});
  }
  plan.charges.push_back(SeatCharge{positive_price(shape)});
  std::vector<std::string> meters;
  for (const std::string meter : {"calls", "tokens"}) {
    if (meters.empty() || *rc::gen::arbitrary<bool>()) {
      const UsageModel model = *rc::gen::element(UsageModel::per_unit, UsageModel::graduated,
                                                 UsageModel::package, UsageModel::volume);
      plan.charges.push_back(any_usage_charge(meter, model, shape, whole ? 0 : 3));
      meters.push_back(meter);
    }
  }
  const Catalog catalog = catalog_of({plan});

  const std::int64_t seats = *rc::gen::inRange<std::int64_t>(0, 100);
  const auto [unsplit, period, change] = anchored("pro", seats, frame.interval);
  Timeline split = unsplit;
  split.phases.push_back(
      TimelinePhase{change, "pro", seats, unsplit.start, ChangeProration::prorate});

  const InvoiceScope whole_scope = scope_of(unsplit, catalog, period.end);
  const InvoiceScope split_scope = scope_of(split, catalog, period.end);
  RC_ASSERT(whole_scope.closing == std::optional(period));
  RC_ASSERT(split_scope.closing == std::optional(period));
  RC_ASSERT(whole_scope.segments.size() == 1u);
  RC_ASSERT(split_scope.segments.size() == 2u);
  RC_ASSERT(split_scope.segments[0].part == (Period{period.start, change}));
  RC_ASSERT(split_scope.segments[1].part == (Period{change, period.end}));

  const auto events = any_events(meters, period.start, period.end, whole);
  const Invoice whole_invoice = invoice_of(whole_scope, read_usage(whole_scope, events));
  const Invoice split_invoice = invoice_of(split_scope, read_usage(split_scope, events));
  RC_LOG() << "unsplit: " << text(whole_invoice) << "split: " << text(split_invoice);

  // The fees, line for line (a fee that does not change is neither credited nor charged).
  Invoice whole_fees = whole_invoice;
  Invoice split_fees = split_invoice;
  std::erase_if(whole_fees.lines, [](const PricedLine& line) { return !is_fee(line); });
  std::erase_if(split_fees.lines, [](const PricedLine& line) { return !is_fee(line); });
  whole_fees.subtotal = whole_fees.total = split_fees.subtotal = split_fees.total = Decimal();
  RC_ASSERT(text(whole_fees) == text(split_fees));

  // The usage, meter by meter.
  const Decimal unit = minor_unit(frame.currency);
  for (const std::string& meter : meters) {
    Decimal whole_amount;
    Decimal split_amount;
    std::size_t whole_lines = 0;
    std::size_t split_lines = 0;
    for (const PricedLine& line : whole_invoice.lines) {
      if (line.type == LineType::usage && line.meter == meter) {
        whole_amount = add(whole_amount, line.amount);
        ++whole_lines;
      }
    }
    for (const PricedLine& line : split_invoice.lines) {
      if (line.type == LineType::usage && line.meter == meter) {
        split_amount = add(split_amount, line.amount);
        ++split_lines;
      }
    }
    RC_ASSERT(whole_lines <= 1u);
    RC_ASSERT(split_lines <= split_scope.segments.size());
    const Decimal difference = split_amount.sub(whole_amount)->abs();
    RC_LOG() << meter << ": unsplit " << whole_amount << ", split " << split_amount << " in "
             << split_lines << " lines\n";
    RC_CLASSIFY(!difference.is_zero(), "a meter's lines differ by rounding");
    if (whole) {
      RC_ASSERT(difference == Decimal());
    } else {
      const std::int64_t bound = std::max<std::int64_t>(0, split_lines - 1);
      RC_ASSERT(difference <= *unit.mul(Decimal::from_integer(bound)));
    }
  }
  RC_CLASSIFY(whole, "whole minor units");
}

// ---------------------------------------------------------------------------------------------
// (c) The factors of a change: the part before it, and the credit and the charge of the rest of
// the period, add up to exactly 1.

RC_GTEST_PROP(PricingPeriodProperty, TheFactorsOfAChangeAddUpToOne, ()) {
  const PlanFrame frame = any_frame();
  PriceShape shape;
  // Every fee of the new plan differs from the old one's, and so do the seats: each is credited
  // and charged.
  PlanVersion old_plan = version_of("basic", frame);
  PlanVersion new_plan = version_of("pro", frame);
  const Decimal advance = positive_price(shape);
  const Decimal arrears = positive_price(shape);
  const Decimal seat = positive_price(shape);
  old_plan.charges = {RecurringCharge{advance, FeeTiming::advance},
                      RecurringCharge{arrears, FeeTiming::arrears}, SeatCharge{seat}};
  new_plan.charges = {RecurringCharge{add(advance, positive_price(shape)), FeeTiming::advance},
                      RecurringCharge{add(arrears, positive_price(shape)), FeeTiming::arrears},
                      SeatCharge{add(seat, positive_price(shape))}};
  const Catalog catalog = catalog_of({old_plan, new_plan});

  const std::int64_t seats = *rc::gen::inRange<std::int64_t>(1, 100);
  auto [timeline, period, change] = anchored("basic", seats, frame.interval);
  timeline.phases.push_back(TimelinePhase{change, "pro",
                                          seats + *rc::gen::inRange<std::int64_t>(1, 100),
                                          timeline.start, ChangeProration::prorate});

  const InvoiceScope scope = scope_of(timeline, catalog, period.end);
  RC_ASSERT(scope.closing_nominal == std::optional(period));  // a whole cycle period
  const Invoice invoice = invoice_of(scope, {});
  RC_LOG() << text(invoice);

  const auto before =
      calendar::proration_factor(*timeline.zone, frame.basis, period, period.start, change);
  const auto rest =
      calendar::proration_factor(*timeline.zone, frame.basis, period, change, period.end);
  RC_ASSERT(before.ok());
  RC_ASSERT(rest.ok());
  RC_ASSERT(*before->add(*rest) == Ratio::one());  // the calendar's own telescoping

  std::size_t credits = 0;
  std::size_t charges = 0;
  for (const PricedLine& line : invoice.lines) {
    const LineExplanation& why = line.explanation;
    if (line.type == LineType::proration) {
      // A credit of the old fees or a charge of the new ones, for the rest of the period.
      RC_ASSERT(why.part == (Period{change, period.end}));
      RC_ASSERT(why.nominal == period);
      RC_ASSERT(*why.factor.add(*before) == Ratio::one());
      RC_ASSERT(why.factor == *rest);
      // Credits are the old plan's, charges the new one's (either may round to 0).
      if (why.plan_code == "basic") {
        RC_ASSERT(line.amount.sign() <= 0);
        ++credits;
      } else {
        RC_ASSERT(line.amount.sign() >= 0);
        ++charges;
      }
    } else if (line.type == LineType::recurring && why.nominal == period) {
      // The arrears fees, a line per run of one plan version: the part before and the rest.
      if (why.plan_code == "basic") {
        RC_ASSERT(why.part == (Period{period.start, change}));
        RC_ASSERT(why.factor == *before);
      } else {
        RC_ASSERT(why.part == (Period{change, period.end}));
        RC_ASSERT(*why.factor.add(*before) == Ratio::one());
      }
    }
  }
  RC_CLASSIFY(frame.basis == ProrationBasis::day, "day basis");
  // The recurring fee and the seats, each credited and charged (unless the rest weighs nothing:
  // a change on the period's last local day of the day basis).
  if (rest->numerator() > 0) {
    RC_ASSERT(credits == 2u);
    RC_ASSERT(charges == 2u);
  }
}

// ---------------------------------------------------------------------------------------------
// (d) Prorating a whole period changes nothing: a fee over a whole period has factor 1/1 and is
// the full price × quantity rounded once — also when a change falls exactly on the period's edge.

RC_GTEST_PROP(PricingPeriodProperty, AWholePeriodIsChargedWhole, ()) {
  const PlanFrame frame = any_frame();
  PriceShape shape;
  std::vector<PlanVersion> plans;
  for (const std::string code : {"basic", "pro"}) {
    PlanVersion plan = version_of(code, frame);
    plan.charges = {RecurringCharge{positive_price(shape), FeeTiming::advance},
                    RecurringCharge{positive_price(shape), FeeTiming::arrears},
                    SeatCharge{any_price(shape)}};
    plans.push_back(std::move(plan));
  }
  const Catalog catalog = catalog_of(plans);

  Timeline timeline;
  timeline.zone = *zones();
  timeline.start = any_instant();
  const std::int64_t index = *rc::gen::inRange<std::int64_t>(1, 4);  // the invoice at start(index)
  const Period opening = cycle_period(*timeline.zone, frame.interval, timeline.start, index);
  const Period closing = cycle_period(*timeline.zone, frame.interval, timeline.start, index - 1);
  timeline.phases.push_back(TimelinePhase{
      timeline.start, "basic", *rc::gen::inRange<std::int64_t>(0, 1000), timeline.start});
  const bool changes = *rc::gen::arbitrary<bool>();
  if (changes) {  // on the edge of the closing and the opening period
    timeline.phases.push_back(TimelinePhase{
        opening.start, "pro", *rc::gen::inRange<std::int64_t>(0, 1000), timeline.start,
        *rc::gen::element(ChangeProration::prorate, ChangeProration::none)});
  }
  const InvoiceScope scope = scope_of(timeline, catalog, opening.start);
  RC_ASSERT(scope.closing == std::optional(closing));
  RC_ASSERT(scope.opening == std::optional(opening));
  RC_ASSERT(scope.segments.size() == 1u);
  const Invoice invoice = invoice_of(scope, {});
  RC_LOG() << text(invoice);

  for (const Period& period : {closing, opening}) {
    const auto whole =
        calendar::proration_factor(*timeline.zone, frame.basis, period, period.start, period.end);
    RC_ASSERT(whole.ok());
    RC_ASSERT(*whole == Ratio::one());
  }
  const PlanVersion& closing_plan = plans[0];
  const TimelinePhase& opening_phase = timeline.phases.back();
  const PlanVersion& opening_plan = plans[changes ? 1 : 0];
  std::size_t advance_lines = 0;
  std::size_t arrears_lines = 0;
  std::size_t seat_lines = 0;
  for (const PricedLine& line : invoice.lines) {
    RC_ASSERT(line.type != LineType::proration);
    if (line.type != LineType::recurring && line.type != LineType::seat) continue;
    const LineExplanation& why = line.explanation;
    const bool opens = line.period == opening;
    RC_ASSERT(opens || line.period == closing);
    const PlanVersion& plan = opens ? opening_plan : closing_plan;
    RC_ASSERT(why.plan_code == plan.plan_code);
    RC_ASSERT(why.factor == Ratio::one());
    RC_ASSERT(why.part == line.period);
    RC_ASSERT(why.nominal == line.period);
    Decimal unit_price;
    std::int64_t quantity = 1;
    if (line.type == LineType::seat) {
      RC_ASSERT(opens);  // seats are billed in advance
      unit_price = std::get<SeatCharge>(plan.charges[2]).unit_price;
      quantity = opening_phase.seats;
      ++seat_lines;
    } else {
      const auto& fee = std::get<RecurringCharge>(plan.charges[opens ? 0 : 1]);
      RC_ASSERT(fee.timing == (opens ? FeeTiming::advance : FeeTiming::arrears));
      unit_price = fee.amount;
      ++(opens ? advance_lines : arrears_lines);
    }
    const Decimal full = *unit_price.mul(Decimal::from_integer(quantity));
    RC_ASSERT(line.quantity == Decimal::from_integer(quantity));
    RC_ASSERT(why.full_amount == full);
    const auto rounded = round_line(full, frame.currency, frame.rounding);
    RC_ASSERT(rounded.ok());
    RC_ASSERT(line.amount.same_representation(*rounded));
    const auto prorated =
        prorate(full, Ratio::one(), frame.currency.minor_unit_digits(), frame.rounding);
    RC_ASSERT(prorated.ok());
    RC_ASSERT(*prorated == *rounded);
  }
  RC_ASSERT(advance_lines == 1u);
  RC_ASSERT(arrears_lines == 1u);
  RC_ASSERT(seat_lines <= 1u);  // zero seats may bill no line
  RC_CLASSIFY(changes, "change on the edge");
}

// ---------------------------------------------------------------------------------------------
// Found by ArrivalOrderChangesNothing: a max (or latest) meter's segments of a split billing
// period are weighed by their share of the billing period, on the plan's basis. A billing period
// without a whole local day — here a stub of 8 hours before a later anchor — has no day to weigh
// by; the engine refused the whole invoice (calendar_invalid) until it weighed such a period by
// seconds (period.hpp). The shares must still add up to 1.

TEST(PricingPeriodFinding, AShortSplitPeriodWithAMaxMeterIsPricedOnTheDayBasis) {
  PlanVersion plan = version_of("basic", PlanFrame{.basis = ProrationBasis::day});
  UsageCharge peak;
  peak.meter = "peak";
  peak.unit_price = decimal(1, 0);
  plan.charges.push_back(peak);
  const Catalog catalog = catalog_of({plan});
  Timeline timeline;
  timeline.zone = &calendar::test::zone("UTC");
  timeline.start = calendar::test::at("2026-03-10T10:00:00Z");
  const Instant anchor = calendar::test::at("2026-03-10T18:00:00Z");
  timeline.phases.push_back(TimelinePhase{timeline.start, "basic", 1, anchor});
  timeline.phases.push_back(TimelinePhase{calendar::test::at("2026-03-10T12:00:00Z"), "basic", 2,
                                          anchor, ChangeProration::prorate});
  const auto scope = invoice_scope(timeline, catalog, anchor, anchor);
  ASSERT_TRUE(scope.ok()) << slug(scope);
  ASSERT_EQ(scope->segments.size(), 2u);
  const std::vector<WindowUsage> usage(scope->usage.size(), WindowUsage{decimal(10, 0), 1, {}});
  const auto invoice = price_invoice(*scope, usage);
  ASSERT_TRUE(invoice.ok()) << slug(invoice);
  // 2 and 6 of the stub's 8 hours, by seconds.
  std::vector<std::string> factors;
  Ratio shares;
  for (const PricedLine& line : invoice->lines) {
    if (line.type != LineType::usage) continue;
    factors.push_back(line.explanation.factor.to_string());
    shares = *shares.add(line.explanation.factor);
  }
  EXPECT_EQ(factors, (std::vector<std::string>{"1/4", "3/4"}));
  EXPECT_EQ(shares, Ratio::one());
}

// Found reading cb4bc30 (the engine prices a catalog's usage charges with price_validated_usage,
// not checking them again): a catalog version that validation refuses — here a volume charge
// whose last tier is closed — was read past the end of its tiers (AddressSanitizer:
// heap-buffer-overflow in models.cpp volume()). Such a charge is refused (charge_invalid), never
// read out of bounds.
TEST(PricingPeriodFinding, AnUnvalidatedChargeIsRefusedNotReadOutOfBounds) {
  PlanVersion plan = version_of("basic", PlanFrame{});
  UsageCharge closed;
  closed.meter = "calls";
  closed.model = UsageModel::volume;
  closed.tiers = {Tier{decimal(10, 0), decimal(1, 0), std::nullopt}};  // no open last tier
  plan.charges.push_back(closed);
  const Catalog catalog = catalog_of({plan});
  Timeline timeline;
  timeline.zone = &calendar::test::zone("UTC");
  timeline.start = calendar::test::at("2026-04-01T00:00:00Z");
  timeline.phases.push_back(TimelinePhase{timeline.start, "basic", 1, timeline.start});
  const Instant at = calendar::test::at("2026-05-01T00:00:00Z");
  const auto scope = invoice_scope(timeline, catalog, at, at);
  if (!scope.ok()) {
    EXPECT_EQ(scope.error(), PricingError::charge_invalid);
    return;
  }
  const std::vector<WindowUsage> usage(scope->usage.size(), WindowUsage{decimal(20, 0), 20, {}});
  const auto invoice = price_invoice(*scope, usage);
  ASSERT_FALSE(invoice.ok());
  EXPECT_EQ(invoice.error(), PricingError::charge_invalid);
}

}  // namespace
}  // namespace neruba::domain::pricing
