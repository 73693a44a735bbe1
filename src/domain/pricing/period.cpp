#include "domain/pricing/period.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "domain/calendar/proration.hpp"
#include "domain/pricing/exact.hpp"
#include "domain/pricing/lines.hpp"

namespace neruba::domain::pricing {

std::string_view line_type_name(LineType type) {
  switch (type) {
    case LineType::recurring:
      return "recurring";
    case LineType::seat:
      return "seat";
    case LineType::usage:
      return "usage";
    case LineType::proration:
      return "proration";
    case LineType::minimum_commitment:
      return "minimum_commitment";
  }
  return "recurring";
}

namespace {

using calendar::BillingCycle;

constexpr std::chrono::microseconds one_tick{1};

// A run of consecutive phases with one billing anchor and one interval: one BillingCycle.
struct Epoch {
  BillingCycle cycle;
  Instant from;
  std::optional<Instant> to;  // the next epoch's start or the subscription's end; open if absent
};

const std::vector<PlanVersion>* versions_of(const Catalog& catalog, const std::string& code) {
  auto found = catalog.plans.find(code);
  if (found == catalog.plans.end() || found->second.empty()) return nullptr;
  return &found->second;
}

// The version of `versions` (oldest first) in force at `at`.
const PlanVersion* version_at(const std::vector<PlanVersion>& versions, Instant at) {
  const PlanVersion* in_force = nullptr;
  for (const PlanVersion& version : versions) {
    if (version.effective_from <= at) in_force = &version;
  }
  return in_force;
}

bool in_trial(const Timeline& timeline, Instant at) {
  return timeline.trial_end && at < *timeline.trial_end;
}

// The timeline read as cycles, checked once.
class Layout {
 public:
  static Result<Layout, PricingError> of(const Timeline& timeline, const Catalog& catalog) {
    if (timeline.zone == nullptr || timeline.phases.empty() ||
        timeline.phases.front().from != timeline.start) {
      return PricingError::timeline_invalid;
    }
    if (timeline.ends_at && *timeline.ends_at <= timeline.start) {
      return PricingError::timeline_invalid;
    }
    if (timeline.trial_end && *timeline.trial_end <= timeline.start) {
      return PricingError::timeline_invalid;
    }
    Layout layout(timeline);
    std::optional<Currency> currency;
    for (std::size_t i = 0; i < timeline.phases.size(); ++i) {
      const TimelinePhase& phase = timeline.phases[i];
      if (i > 0 && phase.from <= timeline.phases[i - 1].from) return PricingError::timeline_invalid;
      // A change scheduled at or after a cancellation never takes effect.
      if (timeline.ends_at && phase.from >= *timeline.ends_at) break;
      const auto* versions = versions_of(catalog, phase.plan_code);
      if (versions == nullptr) return PricingError::plan_version_missing;
      for (const PlanVersion& version : *versions) {
        if (!currency) currency = version.currency;
        if (version.currency.code() != currency->code()) return PricingError::currency_mismatch;
      }
      const Interval interval = versions->front().interval;
      const bool same_cycle = !layout.epochs_.empty() &&
                              layout.epochs_.back().cycle.anchor() == phase.billing_anchor &&
                              layout.epochs_.back().cycle.interval() == interval;
      if (same_cycle) continue;
      auto cycle = BillingCycle::of(*timeline.zone, interval, phase.billing_anchor);
      if (!cycle) return PricingError::calendar_invalid;
      if (!layout.epochs_.empty()) layout.epochs_.back().to = phase.from;
      layout.epochs_.push_back(Epoch{*cycle, phase.from, timeline.ends_at});
    }
    layout.currency_ = *currency;
    return layout;
  }

  const Currency& currency() const { return *currency_; }

  // The billing period holding `instant`, for start <= instant < end of life.
  Result<BillingPeriod, PricingError> containing(Instant instant) const {
    if (instant < timeline_->start || (timeline_->ends_at && instant >= *timeline_->ends_at)) {
      return PricingError::not_a_billing_instant;
    }
    const Epoch* epoch = &epochs_.front();
    for (const Epoch& candidate : epochs_) {
      if (candidate.from <= instant) epoch = &candidate;
    }
    BillingPeriod found;
    last_index_.reset();
    if (instant < epoch->cycle.anchor()) {
      // A stub: from the epoch's start up to its anchor.
      auto before = epoch->cycle.period_before_anchor();
      if (!before) return PricingError::calendar_invalid;
      found = BillingPeriod{Period{epoch->from, epoch->cycle.anchor()}, *before};
      if (epoch->from < before->start) {
        // Longer than a period: only a trial may be (it charges no fee to weigh); it is its own
        // nominal period.
        const bool trial = timeline_->trial_end && epoch->cycle.anchor() <= *timeline_->trial_end;
        if (!trial) return PricingError::timeline_invalid;
        found.nominal = found.period;
      }
    } else {
      auto period = epoch->cycle.period_containing(instant);
      if (!period) return PricingError::calendar_invalid;
      found = BillingPeriod{period->period, period->period};
      found.period.start = std::max(found.period.start, epoch->from);
      last_index_ = CycleIndex{epoch, period->index};
    }
    if (epoch->to && *epoch->to < found.period.end) found.period.end = *epoch->to;
    return found;
  }

  // The billing period ending exactly at `at`, if any.
  std::optional<BillingPeriod> ending_at(Instant at) const {
    if (at <= timeline_->start) return std::nullopt;
    if (timeline_->ends_at && at > *timeline_->ends_at) return std::nullopt;
    auto period = containing(at - one_tick);
    if (!period || period->period.end != at) return std::nullopt;
    return *period;
  }

  // The billing period starting exactly at `at`, if any. After ending_at(at) found a whole cycle
  // period that its epoch outlasts, it is the cycle's next period: no search.
  std::optional<BillingPeriod> starting_at(Instant at) const {
    if (last_index_ && last_index_->epoch->from < at &&
        (!last_index_->epoch->to || *last_index_->epoch->to > at) &&
        !(timeline_->ends_at && *timeline_->ends_at <= at)) {
      const Epoch& epoch = *last_index_->epoch;
      auto next = epoch.cycle.period(last_index_->index + 1);
      if (next && next->start == at) {
        BillingPeriod found{*next, *next};
        if (epoch.to && *epoch.to < found.period.end) found.period.end = *epoch.to;
        return found;
      }
    }
    auto period = containing(at);
    if (!period || period->period.start != at) return std::nullopt;
    return *period;
  }

 private:
  explicit Layout(const Timeline& timeline) : timeline_(&timeline) {}

  const Timeline* timeline_;
  std::vector<Epoch> epochs_;
  // The cycle period the last `containing` found, when it was one (not a stub).
  struct CycleIndex {
    const Epoch* epoch;
    std::int64_t index;
  };
  mutable std::optional<CycleIndex> last_index_;
  std::optional<Currency> currency_;  // of every version the timeline names
};

}  // namespace

std::size_t phase_index_at(const Timeline& timeline, Instant at) {
  std::size_t index = 0;
  for (std::size_t i = 0; i < timeline.phases.size(); ++i) {
    if (timeline.ends_at && timeline.phases[i].from >= *timeline.ends_at) break;
    if (timeline.phases[i].from <= at) index = i;
  }
  return index;
}

namespace {

Result<Ratio, PricingError> factor_of(const Timeline& timeline, ProrationBasis basis,
                                      const Period& nominal, Instant from, Instant to) {
  auto factor = calendar::proration_factor(*timeline.zone, basis, nominal, from, to);
  if (!factor) {
    // A day basis gives a part inside one local day 0/N; a period without a whole unit of its
    // basis cannot be weighed.
    return PricingError::calendar_invalid;
  }
  return *factor;
}

// A fee being paid for: a recurring charge or the seats of one plan version.
struct Fee {
  LineType type = LineType::recurring;
  const PlanVersion* version = nullptr;
  const RecurringCharge* recurring = nullptr;
  const SeatCharge* seat = nullptr;
  std::int64_t seats = 0;

  const Decimal& unit_price() const { return recurring ? recurring->amount : seat->unit_price; }
  std::int64_t quantity() const { return recurring ? 1 : seats; }
  bool same_as(const Fee& other) const {
    return type == other.type && unit_price() == other.unit_price() &&
           quantity() == other.quantity();
  }
};

std::vector<Fee> fees_of(const PlanVersion& version, std::int64_t seats, FeeTiming timing) {
  std::vector<Fee> fees;
  for (const Charge& charge : version.charges) {
    if (const auto* recurring = std::get_if<RecurringCharge>(&charge)) {
      if (recurring->timing == timing) {
        fees.push_back(Fee{LineType::recurring, &version, recurring, nullptr, 0});
      }
    } else if (const auto* seat = std::get_if<SeatCharge>(&charge)) {
      if (timing == FeeTiming::advance) {
        fees.push_back(Fee{LineType::seat, &version, nullptr, seat, seats});
      }
    }
  }
  return fees;
}

// "<plan> — recurring fee", "<plan> — 5 seats", appended to `out`.
void append_fee_name(std::string& out, const Fee& fee) {
  out += fee.version->name;
  if (fee.type == LineType::recurring) {
    out += " — recurring fee";
    return;
  }
  out += " — ";
  out += std::to_string(fee.seats);
  out += fee.seats == 1 ? " seat" : " seats";
}

class Pricer {
 public:
  Pricer(const InvoiceScope& scope, std::span<const WindowUsage> usage)
      : scope_(scope), timeline_(*scope.timeline), usage_(usage) {}

  Result<Invoice, PricingError> run() {
    // Fees and usage of each segment, the changes' pairs, the opening's fees: enough for most.
    lines_.reserve(4 * scope_.segments.size() + scope_.usage.size() + 4);
    Invoice invoice{.at = scope_.at, .currency = scope_.currency};
    invoice.closing = scope_.closing;
    invoice.opening = scope_.opening;
    if (scope_.closing) {
      if (auto closed = close(); !closed) return closed.error();
    }
    if (scope_.opening) {
      auto opened = open_fees(lines_, *scope_.opening, *scope_.opening_nominal);
      if (!opened) return opened.error();
    }
    Exact exact;
    for (const PricedLine& line : lines_) exact.accumulate(invoice.subtotal, line.amount);
    if (exact.failed()) return exact.error();
    invoice.subtotal = rescaled(invoice.subtotal);
    invoice.total = invoice.subtotal;
    invoice.lines = std::move(lines_);
    return invoice;
  }

 private:
  Decimal rescaled(const Decimal& amount) const {
    auto rounded = amount.round(scope_.currency.minor_unit_digits(), RoundingMode::half_even);
    return rounded ? *rounded : amount;
  }

  // Appends to `out` a fee line over [from, to) weighed against `nominal`, as a charge (sign +1)
  // or a credit (-1). Built in place: a line is large, and moving it costs.
  Result<bool, PricingError> fee_line(std::vector<PricedLine>& out, const Fee& fee, LineType type,
                                      const Period& nominal, Instant from, Instant to, int sign) {
    const PlanVersion& version = *fee.version;
    auto factor = factor_of(timeline_, version.proration, nominal, from, to);
    if (!factor) return factor.error();
    auto priced = fee.recurring
                      ? recurring_line(*fee.recurring, *factor, scope_.currency, version.rounding)
                      : seat_line(*fee.seat, fee.seats, *factor, scope_.currency, version.rounding);
    if (!priced) return priced.error();
    PricedLine& line = out.emplace_back();
    line.type = type;
    line.quantity = Decimal::from_integer(fee.quantity());
    line.unit_price = fee.unit_price();
    line.amount = sign < 0 ? priced->amount.neg() : priced->amount;
    line.period = Period{from, to};
    explain(line.explanation, version, *factor, line.period, nominal);
    line.explanation.full_amount = priced->full_amount;
    line.description.reserve(48 + version.name.size());  // one allocation for the text below
    if (type == LineType::proration) {
      line.explanation.credit_of = std::string(line_type_name(fee.type));
      line.description += sign < 0 ? "Unused time on " : "Remaining time on ";
    }
    append_fee_name(line.description, fee);
    return true;
  }

  static void explain(LineExplanation& explanation, const PlanVersion& version, const Ratio& factor,
                      const Period& part, const Period& nominal) {
    explanation.plan_code = version.plan_code;
    explanation.plan_version = version.version;
    explanation.basis = version.proration;
    explanation.factor = factor;
    explanation.part = part;
    explanation.nominal = nominal;
  }

  // Appends the advance fees charged when `period` opens: for the part of its nominal period from
  // its start on. None in a trial.
  Result<bool, PricingError> open_fees(std::vector<PricedLine>& out, const Period& period,
                                       const Period& nominal) {
    if (in_trial(timeline_, period.start)) return true;
    const TimelinePhase& phase = timeline_.phases[phase_index_at(timeline_, period.start)];
    const PlanVersion* version =
        version_at(scope_.catalog->plans.at(phase.plan_code), period.start);
    if (version == nullptr) return PricingError::plan_version_missing;
    for (const Fee& fee : fees_of(*version, phase.seats, FeeTiming::advance)) {
      auto line = fee_line(out, fee, fee.type, nominal, period.start, nominal.end, +1);
      if (!line) return line.error();
    }
    return true;
  }

  Result<bool, PricingError> close() {
    const Period& period = *scope_.closing;
    const Period& nominal = *scope_.closing_nominal;
    const auto& segments = scope_.segments;
    // The period's lines, for the minimum commitment: its advance fees (charged at its opening,
    // priced again here only when a commitment needs them) and the lines of its close.
    std::vector<Decimal> period_amounts;
    const bool committed = !segments.empty() && segments.back().version->minimum_commitment;
    if (committed) {
      std::vector<PricedLine> opening;
      auto opened = open_fees(opening, period, nominal);
      if (!opened) return opened.error();
      for (const PricedLine& line : opening) period_amounts.push_back(line.amount);
    }
    const std::size_t first_line = lines_.size();

    // Advance fees being paid for, from the period's opening on; changes credit and charge them.
    std::vector<Fee> paid;
    // The arrears fees' run: its plan version and start.
    const PlanVersion* arrears_version = nullptr;
    Instant arrears_from = period.start;
    auto close_arrears_run = [&](Instant to) -> Result<bool, PricingError> {
      if (arrears_version == nullptr || to <= arrears_from) return true;
      for (const Fee& fee : fees_of(*arrears_version, 0, FeeTiming::arrears)) {
        auto line = fee_line(lines_, fee, LineType::recurring, nominal, arrears_from, to, +1);
        if (!line) return line.error();
      }
      return true;
    };

    for (std::size_t i = 0; i < segments.size(); ++i) {
      const Segment& segment = segments[i];
      const bool prorate = i == 0 || segment.proration == ChangeProration::prorate ||
                           segments[i - 1].trial != segment.trial;
      if (prorate) {
        std::vector<Fee> now;
        if (!segment.trial) now = fees_of(*segment.version, segment.seats, FeeTiming::advance);
        if (i == 0) {
          paid = std::move(now);
        } else {
          auto changed = change_fees(paid, now, nominal, segment.part.start);
          if (!changed) return changed.error();
          paid = std::move(now);
        }
        const PlanVersion* arrears = segment.trial ? nullptr : segment.version;
        if (arrears != arrears_version) {
          if (auto done = close_arrears_run(segment.part.start); !done) return done.error();
          arrears_version = arrears;
          arrears_from = segment.part.start;
        }
      }
    }
    if (auto done = close_arrears_run(period.end); !done) return done.error();
    // A period cut short (a cancellation, a change of interval) credits the unused rest, unless a
    // change of interval said `none`.
    if (period.end < nominal.end && !cut_without_proration(period.end)) {
      for (const Fee& fee : paid) {
        auto line =
            fee_line(lines_, fee, LineType::proration, nominal, period.end, nominal.end, -1);
        if (!line) return line.error();
      }
    }
    if (auto priced = price_usage_lines(); !priced) return priced.error();

    for (std::size_t i = first_line; i < lines_.size(); ++i) {
      period_amounts.push_back(lines_[i].amount);
    }
    return commitment(period, nominal, period_amounts);
  }

  bool cut_without_proration(Instant end) const {
    if (timeline_.ends_at && *timeline_.ends_at == end) return false;
    const std::size_t index = phase_index_at(timeline_, end);
    return timeline_.phases[index].from == end &&
           timeline_.phases[index].proration == ChangeProration::none;
  }

  // At a change at `at`: credit what is paid and no longer due, charge what is due and not paid.
  Result<bool, PricingError> change_fees(const std::vector<Fee>& paid, const std::vector<Fee>& now,
                                         const Period& nominal, Instant at) {
    std::vector<bool> kept(now.size(), false);
    std::vector<const Fee*> credited;
    for (const Fee& old : paid) {
      bool unchanged = false;
      for (std::size_t j = 0; j < now.size(); ++j) {
        if (!kept[j] && now[j].same_as(old)) {
          kept[j] = unchanged = true;
          break;
        }
      }
      if (!unchanged) credited.push_back(&old);
    }
    for (const Fee* fee : credited) {
      auto line = fee_line(lines_, *fee, LineType::proration, nominal, at, nominal.end, -1);
      if (!line) return line.error();
    }
    for (std::size_t j = 0; j < now.size(); ++j) {
      if (kept[j]) continue;
      auto line = fee_line(lines_, now[j], LineType::proration, nominal, at, nominal.end, +1);
      if (!line) return line.error();
    }
    return true;
  }

  const WindowUsage* usage_of(const std::string& meter, const Period& part) const {
    const Instant until = std::min(part.end, scope_.usage_until);
    for (std::size_t i = 0; i < scope_.usage.size(); ++i) {
      const UsageWindow& window = scope_.usage[i];
      if (window.meter == meter && window.window.start == part.start &&
          window.window.end == until) {
        return &usage_[i];
      }
    }
    return nullptr;  // nothing to read: the part lies after usage_until
  }

  static bool additive(Aggregation aggregation) {
    return aggregation == Aggregation::count || aggregation == Aggregation::sum;
  }

  bool priced_in(const Segment& segment) const {
    return !segment.trial || segment.version->usage_billed_during_trial;
  }

  Result<bool, PricingError> price_usage_lines() {
    const Period& period = *scope_.closing;
    const WindowUsage zero;
    // The period's units of each additive meter over the segments that price it (a plan prices a
    // handful of meters: a list searched in order beats a map).
    struct MeterUnits {
      std::string_view meter;
      Decimal total;
      Decimal used;  // by the segments priced so far
    };
    std::vector<MeterUnits> units;
    const auto units_of = [&units](std::string_view meter) -> MeterUnits& {
      for (MeterUnits& entry : units) {
        if (entry.meter == meter) return entry;
      }
      return units.emplace_back(MeterUnits{meter, {}, {}});
    };
    Exact exact;
    for (const Segment& segment : scope_.segments) {
      if (!priced_in(segment)) continue;
      for (const Charge& charge : segment.version->charges) {
        const auto* usage = std::get_if<UsageCharge>(&charge);
        if (usage == nullptr) continue;
        const WindowUsage* read = usage_of(usage->meter, segment.part);
        exact.accumulate(units_of(usage->meter).total, read ? read->quantity : zero.quantity);
      }
    }
    if (exact.failed()) return exact.error();
    const std::size_t parts = scope_.segments.size();
    for (const Segment& segment : scope_.segments) {
      if (!priced_in(segment)) continue;
      const PlanVersion& version = *segment.version;
      for (const Charge& charge : version.charges) {
        const auto* usage = std::get_if<UsageCharge>(&charge);
        if (usage == nullptr) continue;
        const WindowUsage* read = usage_of(usage->meter, segment.part);
        if (read == nullptr) read = &zero;
        const auto aggregation = scope_.catalog->meters.find(usage->meter);
        const bool adds =
            aggregation == scope_.catalog->meters.end() || additive(aggregation->second);
        UsagePart part;
        part.quantity = read->quantity;
        part.events = read->events;
        part.event_amounts = read->event_amounts;
        Ratio factor = Ratio::one();
        if (adds) {
          MeterUnits& meter = units_of(usage->meter);
          part.already_used = meter.used;
          part.period_quantity = meter.total;
          meter.used = exact.add(meter.used, read->quantity);
          if (exact.failed()) return exact.error();
        } else if (parts > 1) {
          // A billing period without a whole local day (a stub of hours) cannot be weighed by
          // days: its segments are weighed by seconds.
          auto share = calendar::proration_factor(*timeline_.zone, version.proration, period,
                                                  segment.part.start, segment.part.end);
          if (!share && share.error() == calendar::CalendarError::period_too_short) {
            share = calendar::proration_factor(*timeline_.zone, ProrationBasis::second, period,
                                               segment.part.start, segment.part.end);
          }
          if (!share) return PricingError::calendar_invalid;
          factor = *share;
        }
        auto priced = price_validated_usage(*usage, part);
        if (!priced) return priced.error();
        auto rounded =
            prorate(priced->amount, factor, scope_.currency.minor_unit_digits(), version.rounding);
        if (!rounded) return rounded.error();
        PricedLine& line = lines_.emplace_back();
        line.type = LineType::usage;
        line.description.reserve(usage->meter.size() + version.name.size() + 5);
        line.description += usage->meter;
        line.description += " — ";
        line.description += version.name;
        line.meter = usage->meter;
        line.quantity = part.quantity;
        line.unit_price = priced->explanation.unit_price;
        line.amount = *rounded;
        line.period = segment.part;
        explain(line.explanation, version, factor, segment.part, period);
        line.explanation.usage = std::move(priced->explanation);
        line.explanation.trial = segment.trial;
      }
    }
    return true;
  }

  Result<bool, PricingError> commitment(const Period& period, const Period& nominal,
                                        const std::vector<Decimal>& amounts) {
    if (in_trial(timeline_, period.start) || scope_.segments.empty()) return true;
    const PlanVersion& version = *scope_.segments.back().version;
    if (!version.minimum_commitment) return true;
    auto factor = factor_of(timeline_, version.proration, nominal, period.start, period.end);
    if (!factor) return factor.error();
    auto line = commitment_line(*version.minimum_commitment, *factor, amounts, scope_.currency,
                                version.rounding);
    if (!line) return line.error();
    if (line->amount.sign() <= 0) return true;
    PricedLine& priced = lines_.emplace_back();
    priced.type = LineType::minimum_commitment;
    priced.description = version.name + " — minimum commitment true-up";
    priced.quantity = Decimal::from_integer(1);
    priced.amount = line->amount;
    priced.period = period;
    explain(priced.explanation, version, *factor, period, nominal);
    priced.explanation.commitment = *line;
    return true;
  }

  const InvoiceScope& scope_;
  const Timeline& timeline_;
  std::span<const WindowUsage> usage_;
  std::vector<PricedLine> lines_;
};

}  // namespace

Result<BillingPeriod, PricingError> billing_period_containing(const Timeline& timeline,
                                                              const Catalog& catalog,
                                                              Instant instant) {
  auto layout = Layout::of(timeline, catalog);
  if (!layout) return layout.error();
  return layout->containing(instant);
}

Result<std::vector<Instant>, PricingError> billing_instants(const Timeline& timeline,
                                                            const Catalog& catalog, Instant until) {
  auto layout = Layout::of(timeline, catalog);
  if (!layout) return layout.error();
  std::vector<Instant> instants;
  if (until < timeline.start) return instants;
  instants.push_back(timeline.start);
  Instant at = timeline.start;
  while (at < until && !(timeline.ends_at && at >= *timeline.ends_at)) {
    auto period = layout->containing(at);
    if (!period) return period.error();
    at = period->period.end;
    if (at <= until) instants.push_back(at);
  }
  return instants;
}

Result<InvoiceScope, PricingError> invoice_scope(const Timeline& timeline, const Catalog& catalog,
                                                 Instant at, Instant usage_until) {
  auto layout = Layout::of(timeline, catalog);
  if (!layout) return layout.error();
  InvoiceScope scope{.at = at, .currency = layout->currency()};
  scope.usage_until = usage_until;
  scope.timeline = &timeline;
  scope.catalog = &catalog;
  const auto closing = layout->ending_at(at);
  const auto opening = layout->starting_at(at);
  if (!closing && !opening) return PricingError::not_a_billing_instant;
  if (opening) {
    scope.opening = opening->period;
    scope.opening_nominal = opening->nominal;
  }
  if (!closing) return scope;
  scope.closing = closing->period;
  scope.closing_nominal = closing->nominal;
  const Period& period = closing->period;

  // The segments: the phases' parts inside the period, split at the trial's end.
  std::vector<Instant> cuts{period.start};
  for (const TimelinePhase& phase : timeline.phases) {
    if (phase.from > period.start && phase.from < period.end) cuts.push_back(phase.from);
  }
  if (timeline.trial_end && *timeline.trial_end > period.start &&
      *timeline.trial_end < period.end) {
    cuts.push_back(*timeline.trial_end);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  cuts.push_back(period.end);
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const Instant from = cuts[i];
    const std::size_t index = phase_index_at(timeline, from);
    const TimelinePhase& phase = timeline.phases[index];
    // The version in force at the period's start, or at the change that moved the subscription
    // to another plan; a change of seats alone keeps the version.
    const PlanVersion* version = nullptr;
    if (!scope.segments.empty() && scope.segments.back().version->plan_code == phase.plan_code) {
      version = scope.segments.back().version;
    } else {
      version = version_at(catalog.plans.at(phase.plan_code), std::max(period.start, phase.from));
    }
    if (version == nullptr) return PricingError::plan_version_missing;
    Segment segment;
    segment.part = Period{from, cuts[i + 1]};
    segment.version = version;
    segment.seats = phase.seats;
    segment.proration = phase.from == from ? phase.proration : ChangeProration::prorate;
    segment.trial = in_trial(timeline, from);
    scope.segments.push_back(segment);
  }

  // The usage windows, each once.
  for (const Segment& segment : scope.segments) {
    if (segment.trial && !segment.version->usage_billed_during_trial) continue;
    const Instant until = std::min(segment.part.end, usage_until);
    if (until <= segment.part.start) continue;  // nothing to read yet
    for (const Charge& charge : segment.version->charges) {
      const auto* usage = std::get_if<UsageCharge>(&charge);
      if (usage == nullptr) continue;
      const bool amounts = usage->model == UsageModel::percentage &&
                           (usage->min_per_event.has_value() || usage->max_per_event.has_value());
      const Period window{segment.part.start, until};
      auto same = std::find_if(scope.usage.begin(), scope.usage.end(), [&](const UsageWindow& w) {
        return w.meter == usage->meter && w.window == window;
      });
      if (same != scope.usage.end()) {
        same->event_amounts = same->event_amounts || amounts;
      } else {
        scope.usage.push_back(UsageWindow{usage->meter, window, amounts});
      }
    }
  }
  return scope;
}

Result<Invoice, PricingError> price_invoice(const InvoiceScope& scope,
                                            std::span<const WindowUsage> usage) {
  if (usage.size() != scope.usage.size() || scope.timeline == nullptr || scope.catalog == nullptr) {
    return PricingError::usage_inconsistent;
  }
  return Pricer(scope, usage).run();
}

}  // namespace neruba::domain::pricing
