#pragma once
// A subscription's invoice at a billing instant (API.md "Billing semantics"): the subscription's
// timeline and the plan versions it names in, priced lines out. Pure: no storage, clock or I/O —
// the caller reads usage for the windows the engine asks for and hands it back.
//
// Two steps, so that a billing run (issue 17) and GET /v1/subscriptions/{id}/upcoming are the same
// computation:
//   1. invoice_scope(timeline, catalog, at, usage_until): which periods the invoice at `at` closes
//      and opens, the segments of the closing period (a segment is a part of it with one plan
//      version and one seat count) and the usage windows to read: each (meter, [from, to)) once.
//   2. price_invoice(scope, usage): the lines, each with what explains it.
//
// Periods. Each phase of the timeline names a plan and a billing anchor; the plan's interval and
// the anchor make a calendar::BillingCycle in the customer's zone. Consecutive phases with one
// anchor and one interval share a cycle; a change to another interval starts a new cycle at the
// change (the anchor moves there). A billing period is a cycle period clipped to the
// subscription's life and to its cycle's phases: the first starts at the subscription's start
// (a stub when the anchor lies after the start: [start, anchor), weighed against the cycle
// period before the anchor, so the anchor lies less than one interval after the start; a trial is
// exactly that stub, the anchor being trial_end, and may be longer: then it is its own nominal
// period), the last ends at the cancellation. A phase at or after the cancellation never takes
// effect. Its `nominal` period is the whole cycle period it is part of.
//
// Plan versions. The version in force at a billing period's start prices the period; a change to
// another plan prices the rest of it by that plan's version in force at the change. A change of
// seats alone keeps the version: customers stay on theirs until the period ends.
//
// The invoice at billing instant t closes the billing period ending at t (arrears fees, usage,
// proration lines of changes inside it, the minimum commitment's true-up) and opens the billing
// period starting at t (advance fees). The first invoice, at the start, only opens.
//
// Fees. An advance fee (a recurring `advance` charge, the seats) is charged when its period opens,
// for the part of the nominal period from the opening on: fee × f(opening, nominal end) — so a
// stub or a first period that starts after its cycle period is prorated, and a later change or
// cancellation never alters what was charged: it adds proration lines instead. A change inside a
// period with proration `prorate` credits the advance fees being paid for the rest of the nominal
// period (−fee × f(change, nominal end)) and charges the new ones for the same part; a fee that
// does not change is neither credited nor charged. With proration `none` the fees of before the
// change stand for the rest of the period (the new fees start with the next period), and so do
// the arrears fees. A change to another interval credits the unused part and the new cycle's
// first period is charged whole when it opens, at the change. A cancellation inside a period
// credits the unused part of the advance fees. Arrears fees (a recurring `arrears` charge) are
// charged at the close for each run of the period with one plan version, × the run's factor.
// No fee is charged for a trial.
//
// Usage. Each segment's usage is priced by the segment's plan version. Tiers, free units and
// packages count across the whole period (no reset at a change): for a count or sum meter a
// segment's part sits after the units of the period's earlier segments that priced the meter
// (models.hpp, UsagePart). A max, unique_count or latest meter does not add up across parts; a
// split period prices each segment on its own aggregate, prorated by the segment's share of the
// billing period (the shares of its segments sum to 1; a period with one segment has share 1;
// a billing period without a whole local day is weighed by seconds whatever the basis).
// Usage in a trial is free unless the plan sets usage_billed_during_trial.
//
// Minimum commitment: the plan version of the period's last segment sets it, prorated for a
// billing period shorter than its nominal one; it is compared with the period's total — its
// advance fees (charged at its opening), proration lines, arrears fees and usage. None in a trial.
//
// Proration factors are calendar::proration_factor of the plan version's basis (second or day);
// a line is computed exactly and rounded once (lines.hpp).
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <date/tz.h>

#include "common/error.hpp"
#include "common/instant.hpp"
#include "domain/calendar/periods.hpp"
#include "domain/currency.hpp"
#include "domain/decimal.hpp"
#include "domain/metering.hpp"
#include "domain/pricing/errors.hpp"
#include "domain/pricing/lines.hpp"
#include "domain/pricing/models.hpp"
#include "domain/pricing/plan.hpp"
#include "domain/ratio.hpp"

namespace neruba::domain::pricing {

using calendar::Period;

// How a change weighs the part of a period it cuts off.
enum class ChangeProration { prorate, none };

// From `from` on (until the next phase or the subscription's end): this plan, these seats, periods
// from this anchor.
struct TimelinePhase {
  Instant from;
  std::string plan_code;
  std::int64_t seats = 1;
  Instant billing_anchor;
  ChangeProration proration = ChangeProration::prorate;  // of the change that began the phase
};

struct Timeline {
  const date::time_zone* zone = nullptr;  // the customer's; must outlive the call
  Instant start;
  std::optional<Instant> trial_end;   // the trial is [start, trial_end); the anchor is trial_end
  std::optional<Instant> ends_at;     // a cancellation, effective then
  std::vector<TimelinePhase> phases;  // by `from`, strictly ascending; phases[0].from == start
};

// The index of the phase in force at `at`: the last whose `from` is at or before it (the first
// before the start), never one at or after the cancellation.
std::size_t phase_index_at(const Timeline& timeline, Instant at);

// What the engine reads of the catalog and the meters.
struct Catalog {
  // Every version of each plan the timeline names, oldest first (one currency and interval each).
  std::map<std::string, std::vector<PlanVersion>, std::less<>> plans;
  // The aggregation of each meter a usage charge prices.
  std::map<std::string, Aggregation, std::less<>> meters;
};

// A part of the closing period with one plan version and one seat count.
struct Segment {
  Period part;
  const PlanVersion* version = nullptr;  // points into the Catalog, which must outlive the scope
  std::int64_t seats = 0;
  ChangeProration proration = ChangeProration::prorate;  // of the change at part.start, if any
  bool trial = false;
};

// One usage read: a meter's aggregate over [from, to) (the caller's usage reads: count and sum
// meters report the sum, max the max, unique_count the distinct count, latest the latest value).
struct UsageWindow {
  std::string meter;
  Period window;
  // A percentage charge with min/max_per_event clamps each event: the caller reads each event's
  // amount too (the only case that reads events rather than aggregates).
  bool event_amounts = false;
};

struct WindowUsage {
  Decimal quantity;
  std::int64_t events = 0;
  std::vector<Decimal> event_amounts;  // when the window asked for them
};

struct InvoiceScope {
  Instant at;  // the billing instant
  Currency currency;
  std::optional<Period> closing;          // the billing period ending at `at`
  std::optional<Period> closing_nominal;  // the cycle period it is part of
  std::optional<Period> opening;          // the billing period starting at `at`
  std::optional<Period> opening_nominal;
  std::vector<Segment> segments;   // of `closing`, in order
  std::vector<UsageWindow> usage;  // what price_invoice needs, each once
  Instant usage_until;             // windows end here at the latest (now, for an upcoming)
  // What price_invoice reads again; both must outlive the scope.
  const Timeline* timeline = nullptr;
  const Catalog* catalog = nullptr;
};

enum class LineType { recurring, seat, usage, proration, minimum_commitment };
std::string_view line_type_name(LineType type);

// What an invoice line shows of how it came about, enough to recompute it offline.
struct LineExplanation {
  std::string plan_code;
  int plan_version = 0;
  ProrationBasis basis = ProrationBasis::second;
  Ratio factor = Ratio::one();            // the share of `nominal` charged (1/1: the whole period)
  Period part;                            // what the factor weighs ...
  Period nominal;                         // ... against
  Decimal full_amount;                    // fees: the fee of a whole period (price × quantity)
  std::optional<UsageExplanation> usage;  // usage lines
  std::optional<std::string> credit_of;   // proration: "recurring" or "seat"
  std::optional<CommitmentLine> commitment;  // minimum_commitment
  bool trial = false;
};

struct PricedLine {
  LineType type = LineType::recurring;
  std::string description;
  std::optional<std::string> meter;
  Decimal quantity;
  std::optional<Decimal> unit_price;
  Decimal amount;  // rounded to the currency's minor unit; a credit is negative
  Period period;   // the service period the line is for
  LineExplanation explanation;
};

struct Invoice {
  Instant at;
  Currency currency;
  std::optional<Period> closing;
  std::optional<Period> opening;
  std::vector<PricedLine> lines;
  Decimal subtotal;  // sum of the lines
  Decimal total;     // = subtotal (credits and payments come with the ledger)
};

// The billing instants of the timeline, in order: its start, each billing period's end.
// `until` bounds an open-ended timeline: instants after it are not listed.
Result<std::vector<Instant>, PricingError> billing_instants(const Timeline& timeline,
                                                            const Catalog& catalog, Instant until);

// The billing period holding `instant` (start <= instant < end), and its nominal cycle period.
struct BillingPeriod {
  Period period;
  Period nominal;
};
Result<BillingPeriod, PricingError> billing_period_containing(const Timeline& timeline,
                                                              const Catalog& catalog,
                                                              Instant instant);

// Step 1. `at` must be a billing instant (not_a_billing_instant otherwise); usage windows end at
// `usage_until` at the latest (a billing run passes `at`, an upcoming invoice the current time).
// Errors: plan_version_missing (a phase's plan has no version in force), currency_mismatch (the
// timeline's plans do not share one currency), calendar_invalid (a cycle the calendar refuses).
Result<InvoiceScope, PricingError> invoice_scope(const Timeline& timeline, const Catalog& catalog,
                                                 Instant at, Instant usage_until);

// Step 2. `usage[i]` is the usage of `scope.usage[i]`.
Result<Invoice, PricingError> price_invoice(const InvoiceScope& scope,
                                            std::span<const WindowUsage> usage);

}  // namespace neruba::domain::pricing
