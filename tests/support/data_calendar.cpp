// The calendar area's blocks (tests/data/README.md): billing periods, proration factors and the
// one rounding of a prorated amount, called directly on domain::calendar and domain::Ratio — pure
// steps, no database, no API. Zones are looked up in the system's tz database here, at the edge,
// as the services do; the calendar itself only receives them.
#include <string>

#include <date/tz.h>

#include "domain/calendar/periods.hpp"
#include "domain/calendar/proration.hpp"
#include "domain/decimal.hpp"
#include "domain/ratio.hpp"
#include "domain/time.hpp"
#include "support/data_blocks.hpp"
#include "support/data_words.hpp"

namespace neruba::test::data {
namespace {

using domain::calendar::BillingCycle;
using domain::calendar::CalendarError;
using domain::calendar::Interval;
using domain::calendar::Period;
using domain::calendar::ProrationBasis;

std::optional<Interval> interval_named(const std::string& name) {
  if (name == "month") return Interval::month;
  if (name == "year") return Interval::year;
  return std::nullopt;
}

std::optional<ProrationBasis> basis_named(const std::string& name) {
  if (name == "second") return ProrationBasis::second;
  if (name == "day") return ProrationBasis::day;
  return std::nullopt;
}

Instant instant_word(const Step& step, std::size_t index) {
  return *domain::parse_rfc3339(step.words[index]);
}

// The zone is the first word; the words at `instants` are RFC 3339 instants.
std::optional<std::string> check_zone_and_instants(const Step& step,
                                                   std::initializer_list<std::size_t> instants) {
  if (!zone_named(step.words[0])) return "`" + step.words[0] + "` is no zone of the tz database";
  for (const std::size_t index : instants) {
    if (auto problem = instant_at(step, index)) return problem;
  }
  return std::nullopt;
}

// `<zone> <interval> <anchor> …`, then instants at `instants`.
std::optional<std::string> check_cycle(const Step& step,
                                       std::initializer_list<std::size_t> instants) {
  if (!interval_named(step.words[1])) return "`" + step.words[1] + "` is none of month year";
  if (auto problem = check_zone_and_instants(step, {2})) return problem;
  return check_zone_and_instants(step, instants);
}

Outcome failure(CalendarError error) {
  Outcome outcome;
  outcome.error = ErrorOutcome{std::string(reason_of(error).slug), {}, {}};
  return outcome;
}

// The step's cycle, or why it has none.
Result<BillingCycle, CalendarError> cycle_of(const Step& step) {
  return BillingCycle::of(*zone_named(step.words[0]), *interval_named(step.words[1]),
                          instant_word(step, 2));
}

void name_period(Outcome& outcome, const Period& period) {
  outcome.named["start"] = domain::format_rfc3339(period.start);
  outcome.named["end"] = domain::format_rfc3339(period.end);
}

std::optional<Outcome> run_period(Session&, const Step& step) {
  const auto cycle = cycle_of(step);
  if (!cycle) return failure(cycle.error());
  const auto period = cycle->period(*integer_of(step.words[3]));
  if (!period) return failure(period.error());
  Outcome outcome;
  name_period(outcome, *period);
  return outcome;
}

std::optional<Outcome> run_period_containing(Session&, const Step& step) {
  const auto cycle = cycle_of(step);
  if (!cycle) return failure(cycle.error());
  const auto found = cycle->period_containing(instant_word(step, 3));
  if (!found) return failure(found.error());
  Outcome outcome;
  outcome.named["index"] = std::to_string(found->index);
  name_period(outcome, found->period);
  return outcome;
}

std::optional<Outcome> run_periods(Session&, const Step& step) {
  const auto cycle = cycle_of(step);
  if (!cycle) return failure(cycle.error());
  const auto periods = cycle->periods_overlapping(instant_word(step, 3), instant_word(step, 4));
  if (!periods) return failure(periods.error());
  Outcome outcome;
  outcome.named["count"] = std::to_string(periods->size());
  if (!periods->empty()) {
    outcome.named["first"] = std::to_string(periods->front().index);
    outcome.named["last"] = std::to_string(periods->back().index);
  }
  for (const auto& period : *periods) {  // shown beside a mismatch: "0 [start, end); 1 […"
    if (!outcome.context.empty()) outcome.context += "; ";
    outcome.context += std::to_string(period.index) + " [" +
                       domain::format_rfc3339(period.period.start) + ", " +
                       domain::format_rfc3339(period.period.end) + ")";
  }
  return outcome;
}

std::optional<std::string> check_proration(const Step& step) {
  if (!basis_named(step.words[1])) return "`" + step.words[1] + "` is none of second day";
  return check_zone_and_instants(step, {2, 3, 4, 5});
}

std::optional<Outcome> run_proration(Session&, const Step& step) {
  const Period period{instant_word(step, 2), instant_word(step, 3)};
  const auto factor =
      domain::calendar::proration_factor(*zone_named(step.words[0]), *basis_named(step.words[1]),
                                         period, instant_word(step, 4), instant_word(step, 5));
  if (!factor) return failure(factor.error());
  Outcome outcome;
  outcome.value = factor->to_string();
  return outcome;
}

std::optional<std::string> check_prorate(const Step& step) {
  if (!domain::Decimal::parse(step.words[0])) return "`" + step.words[0] + "` is not a decimal";
  if (!domain::Ratio::parse(step.words[1])) return "`" + step.words[1] + "` is not a ratio n/d";
  if (!integer_of(step.words[2])) return "`" + step.words[2] + "` is not a scale";
  if (!domain::parse_rounding_mode(step.words[3])) {
    return "`" + step.words[3] + "` is none of half_even half_up down up";
  }
  return std::nullopt;
}

std::optional<Outcome> run_prorate(Session&, const Step& step) {
  const auto result = domain::apply(
      *domain::Decimal::parse(step.words[0]), *domain::Ratio::parse(step.words[1]),
      static_cast<int>(*integer_of(step.words[2])), *domain::parse_rounding_mode(step.words[3]));
  Outcome outcome;
  if (!result) {
    outcome.error = ErrorOutcome{std::string(domain::decimal_error_name(result.error)), {}, {}};
    return outcome;
  }
  outcome.value = result->to_string();
  outcome.named["scale"] = std::to_string(result->scale());
  return outcome;
}

}  // namespace

std::vector<BlockKind> calendar_blocks() {
  const Accepts period_answers{.names = {"start", "end"}, .error = true};
  return {
      {"period", "<zone> <interval> <anchor> <index>", Needs::nothing, 4, 4, period_answers,
       [](const Step& step) -> std::optional<std::string> {
         if (!integer_of(step.words[3])) return "`" + step.words[3] + "` is not an index";
         return check_cycle(step, {});
       },
       run_period},
      {"period_containing", "<zone> <interval> <anchor> <instant>", Needs::nothing, 4, 4,
       Accepts{.names = {"index", "start", "end"}, .error = true},
       [](const Step& step) { return check_cycle(step, {3}); }, run_period_containing},
      {"periods", "<zone> <interval> <anchor> <from> <to>", Needs::nothing, 5, 5,
       Accepts{.names = {"count", "first", "last"}, .error = true},
       [](const Step& step) {
         return check_cycle(step, {3, 4});
       },
       run_periods},
      {"proration", "<zone> <basis> <period start> <period end> <from> <to>", Needs::nothing, 6, 6,
       Accepts{.value = true, .error = true}, check_proration, run_proration},
      {"prorate", "<amount> <ratio> <scale> <mode>", Needs::nothing, 4, 4,
       Accepts{.value = true, .names = {"scale"}, .error = true}, check_prorate, run_prorate},
  };
}

}  // namespace neruba::test::data
