// The subscriptions area's blocks (tests/data/README.md): whole invoices of a subscription at a
// billing instant, through the period engine (domain/pricing/period.hpp) — invoice_scope, then
// price_invoice with the usage the case supplies for exactly the windows the engine asks for. Pure
// steps, no database, no API. Zones are looked up in the system's tz database here, at the edge.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <date/tz.h>

#include "domain/metering.hpp"
#include "domain/pricing/period.hpp"
#include "domain/time.hpp"
#include "json/json.hpp"
#include "support/data_blocks.hpp"
#include "support/data_words.hpp"
#include "support/pricing_json.hpp"

namespace neruba::test::data {
namespace {

using domain::Currency;
using domain::Decimal;
using namespace domain::pricing;

// A usage read the case supplies: the aggregate of `meter` over `window`.
struct Reading {
  int line = 0;
  std::string meter;
  Period window;
  WindowUsage usage;
};

// What the steps of a case share: the catalog, the timeline, the usage supplied for the next
// invoice, and the last invoice (which `line` looks into).
class SubscriptionState final : public AreaState {
 public:
  explicit SubscriptionState(Session&) {}
  void start_case(const std::string&) override { *this = SubscriptionState(); }

  const date::time_zone* zone = date::locate_zone("UTC");
  Catalog catalog;
  std::optional<Timeline> timeline;
  std::vector<Reading> readings;
  std::optional<Invoice> invoice;

 private:
  SubscriptionState() = default;
};

bool is_instant(std::string_view value) { return domain::parse_rfc3339(value).has_value(); }
bool is_integer(std::string_view value) { return integer_of(value).has_value(); }
bool is_decimals(std::string_view value) { return decimals_of(value).has_value(); }
bool is_proration(std::string_view value) { return value == "prorate" || value == "none"; }
bool is_line_type(std::string_view value) {
  return value == "recurring" || value == "seat" || value == "usage" || value == "proration" ||
         value == "minimum_commitment";
}
bool is_fee(std::string_view value) { return value == "recurring" || value == "seat"; }
bool is_sign(std::string_view value) { return value == "credit" || value == "charge"; }
bool is_word(std::string_view value) { return !value.empty(); }

std::optional<Instant> instant_option(const Step& step, std::string_view name) {
  const auto text = option(step, name);
  if (!text) return std::nullopt;
  return *domain::parse_rfc3339(*text);
}

Instant instant_word(const Step& step, std::size_t index) {
  return *domain::parse_rfc3339(step.words[index]);
}

// ---- outcomes ----

Outcome failure(std::string slug, std::string detail = {}, std::string context = {}) {
  Outcome outcome;
  outcome.error = ErrorOutcome{std::move(slug), {}, std::move(detail)};
  outcome.context = std::move(context);
  return outcome;
}

Outcome failure(PricingError error) { return failure(std::string(reason_of(error).slug)); }

std::string period_text(const Period& period) {
  return domain::format_rfc3339(period.start) + "/" + domain::format_rfc3339(period.end);
}

std::string period_text(const std::optional<Period>& period) {
  return period ? period_text(*period) : "none";
}

// A money amount with exactly the currency's digits: zeros are padded (an empty invoice's sum is
// a bare 0), more digits are shown as they are (a line rounded too little is a failure to see).
std::string money(const Decimal& amount, const Currency& currency) {
  if (amount.scale() >= currency.minor_unit_digits()) return amount.to_string();
  return amount.round(currency.minor_unit_digits(), domain::RoundingMode::half_even)->to_string();
}

// An exact quantity without the trailing zeros its scale happens to carry: "3.50" → "3.5".
std::string plain(const Decimal& value) {
  std::string text = value.to_string();
  if (text.find('.') == std::string::npos) return text;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string line_summary(const PricedLine& line, const Currency& currency) {
  std::string out =
      std::string(line_type_name(line.type)) + " " + money(line.amount, currency) + " " +
      period_text(line.period) + " factor=" + line.explanation.factor.to_string() +
      " plan=" + line.explanation.plan_code + "@" + std::to_string(line.explanation.plan_version) +
      " quantity=" + plain(line.quantity);
  if (line.meter) out += " meter=" + *line.meter;
  if (line.explanation.credit_of) out += " of=" + *line.explanation.credit_of;
  if (line.explanation.trial) out += " trial";
  out += " (" + line.description + ")";
  return out;
}

std::string invoice_summary(const Invoice& invoice) {
  std::string out = "lines:";
  for (const PricedLine& line : invoice.lines)
    out += "\n    " + line_summary(line, invoice.currency);
  return out;
}

std::string windows_summary(const std::vector<UsageWindow>& asked,
                            const std::vector<Reading>& supplied) {
  std::string out = "the engine asks for:";
  for (const UsageWindow& window : asked) {
    out += "\n    " + window.meter + " " + period_text(window.window) +
           (window.event_amounts ? " with each event's amount" : "");
  }
  if (asked.empty()) out += " nothing";
  out += "\n  the case supplies:";
  for (const Reading& reading : supplied) {
    out += "\n    " + reading.meter + " " + period_text(reading.window) +
           (reading.usage.event_amounts.empty() ? "" : " with each event's amount") + " (line " +
           std::to_string(reading.line) + ")";
  }
  if (supplied.empty()) out += " nothing";
  return out;
}

// ---- the blocks ----

std::optional<Outcome> run_zone(Session& session, const Step& step) {
  session.state<SubscriptionState>().zone = zone_named(step.words[0]);
  return Outcome{};
}

// `plan_version <json>`: the next version of the plan `code`, oldest first; its number is its
// place among the versions of that code.
std::optional<Outcome> run_plan_version(Session& session, const Step& step) {
  SubscriptionState& state = session.state<SubscriptionState>();
  auto read = plan_from_json(*json::parse(step.rest_after(0)));
  if (!read) {
    Outcome outcome;
    ErrorOutcome error{"invalid_plan", {}, {}};
    for (const FieldError& field : read.error().errors) {
      error.fields.push_back({field.field, field.type});
      error.detail += field.field + ": " + field.detail + "; ";
    }
    outcome.error = std::move(error);
    return outcome;
  }
  auto& versions = state.catalog.plans[read->plan_code];
  read->version = static_cast<int>(versions.size()) + 1;
  versions.push_back(std::move(*read));
  return Outcome{};
}

std::optional<Outcome> run_aggregation(Session& session, const Step& step) {
  session.state<SubscriptionState>().catalog.meters[step.words[0]] =
      *domain::parse_aggregation(step.words[1]);
  return Outcome{};
}

// `subscription <start> [trial_end=<instant>] [ends_at=<instant>]`: a new timeline, no phase yet.
std::optional<Outcome> run_subscription(Session& session, const Step& step) {
  SubscriptionState& state = session.state<SubscriptionState>();
  Timeline timeline;
  timeline.zone = state.zone;
  timeline.start = instant_word(step, 0);
  timeline.trial_end = instant_option(step, "trial_end");
  timeline.ends_at = instant_option(step, "ends_at");
  state.timeline = std::move(timeline);
  return Outcome{};
}

// `phase <from> <plan> [seats=<n>] [anchor=<instant>] [proration=prorate|none]`. The anchor, when
// not written: the previous phase's; for the first phase trial_end, or else the start.
std::optional<Outcome> run_phase(Session& session, const Step& step) {
  SubscriptionState& state = session.state<SubscriptionState>();
  if (!state.timeline) return failure("no_subscription", "no `subscription` line before");
  Timeline& timeline = *state.timeline;
  TimelinePhase phase;
  phase.from = instant_word(step, 0);
  phase.plan_code = step.words[1];
  if (const auto seats = option(step, "seats")) phase.seats = *integer_of(*seats);
  if (const auto anchor = instant_option(step, "anchor")) {
    phase.billing_anchor = *anchor;
  } else if (!timeline.phases.empty()) {
    phase.billing_anchor = timeline.phases.back().billing_anchor;
  } else {
    phase.billing_anchor = timeline.trial_end.value_or(timeline.start);
  }
  if (option(step, "proration") == "none") phase.proration = ChangeProration::none;
  timeline.phases.push_back(std::move(phase));
  return Outcome{};
}

// `reading <meter> <from> <to> <quantity> [events=<n>] [amounts=<a,b,…>]`: the usage of one
// window, for the next `invoice`.
std::optional<Outcome> run_reading(Session& session, const Step& step) {
  Reading reading;
  reading.line = step.line;
  reading.meter = step.words[0];
  reading.window = Period{instant_word(step, 1), instant_word(step, 2)};
  reading.usage.quantity = *Decimal::parse(step.words[3]);
  if (const auto amounts = option(step, "amounts")) {
    reading.usage.event_amounts = *decimals_of(*amounts);
    reading.usage.events = static_cast<std::int64_t>(reading.usage.event_amounts.size());
  }
  if (const auto events = option(step, "events")) reading.usage.events = *integer_of(*events);
  session.state<SubscriptionState>().readings.push_back(std::move(reading));
  return Outcome{};
}

// A window that asks for each event's amount gets them (unless it holds no usage); one that does
// not is not given them.
bool reads_what_is_asked(const UsageWindow& window, const Reading& reading) {
  const bool has_amounts = !reading.usage.event_amounts.empty();
  return window.event_amounts ? has_amounts || reading.usage.quantity.is_zero() : !has_amounts;
}

// The readings in the order of the windows asked for; nullopt unless every window asked for has
// exactly one reading and every reading was asked for.
std::optional<std::vector<WindowUsage>> usage_for(const std::vector<UsageWindow>& asked,
                                                  const std::vector<Reading>& supplied) {
  if (asked.size() != supplied.size()) return std::nullopt;
  std::vector<WindowUsage> out;
  std::vector<bool> used(supplied.size(), false);
  for (const UsageWindow& window : asked) {
    const auto found = std::find_if(supplied.begin(), supplied.end(), [&](const Reading& reading) {
      return !used[static_cast<std::size_t>(&reading - supplied.data())] &&
             reading.meter == window.meter && reading.window == window.window &&
             reads_what_is_asked(window, reading);
    });
    if (found == supplied.end()) return std::nullopt;
    used[static_cast<std::size_t>(found - supplied.begin())] = true;
    out.push_back(found->usage);
  }
  return out;
}

// `instants <until>`: billing_instants of the timeline, up to `until`.
std::optional<Outcome> run_instants(Session& session, const Step& step) {
  const SubscriptionState& state = session.state<SubscriptionState>();
  if (!state.timeline) return failure("no_subscription", "no `subscription` line before");
  const auto instants = billing_instants(*state.timeline, state.catalog, instant_word(step, 0));
  if (!instants) return failure(instants.error());
  Outcome outcome;
  std::string listed;
  for (const Instant instant : *instants) {
    listed += (listed.empty() ? "" : ",") + domain::format_rfc3339(instant);
  }
  outcome.value = listed.empty() ? "none" : listed;
  outcome.named = {{"count", std::to_string(instants->size())}};
  return outcome;
}

// `invoice <at> [until=<instant>]`: invoice_scope (usage until `until`, by default `at`), the
// windows checked against the readings, then price_invoice. The readings are used up.
std::optional<Outcome> run_invoice(Session& session, const Step& step) {
  SubscriptionState& state = session.state<SubscriptionState>();
  state.invoice.reset();
  const std::vector<Reading> readings = std::move(state.readings);
  state.readings.clear();
  if (!state.timeline) return failure("no_subscription", "no `subscription` line before");
  const Instant at = instant_word(step, 0);
  const Instant until = instant_option(step, "until").value_or(at);
  const auto scope = invoice_scope(*state.timeline, state.catalog, at, until);
  if (!scope) return failure(scope.error());
  const auto usage = usage_for(scope->usage, readings);
  if (!usage) {
    return failure("usage_windows_differ",
                   "the readings are not the windows the engine asks for, each once",
                   windows_summary(scope->usage, readings));
  }
  auto invoice = price_invoice(*scope, *usage);
  if (!invoice) return failure(invoice.error());
  Outcome outcome;
  const Currency& currency = invoice->currency;
  outcome.named = {{"lines", std::to_string(invoice->lines.size())},
                   {"subtotal", money(invoice->subtotal, currency)},
                   {"total", money(invoice->total, currency)},
                   {"currency", currency.code()},
                   {"closing", period_text(invoice->closing)},
                   {"opening", period_text(invoice->opening)},
                   {"windows", std::to_string(scope->usage.size())},
                   {"segments", std::to_string(scope->segments.size())}};
  outcome.context = invoice_summary(*invoice);
  state.invoice = std::move(*invoice);
  return outcome;
}

constexpr OptionSpec line_selectors[] = {
    {"type", is_line_type}, {"fee", is_fee},      {"meter", is_word}, {"plan", is_word},
    {"sign", is_sign},      {"from", is_instant}, {"to", is_instant}};

// Whether `line` is one the selectors of `step` describe.
bool selected(const Step& step, const PricedLine& line) {
  if (const auto type = option(step, "type"); type && line_type_name(line.type) != *type) {
    return false;
  }
  // fee=recurring|seat: a line of that type, or a proration of that fee.
  if (const auto fee = option(step, "fee")) {
    const bool of_fee = line_type_name(line.type) == *fee || line.explanation.credit_of == *fee;
    if (!of_fee) return false;
  }
  if (const auto meter = option(step, "meter"); meter && line.meter != *meter) return false;
  if (const auto plan = option(step, "plan"); plan && line.explanation.plan_code != *plan) {
    return false;
  }
  if (const auto sign = option(step, "sign")) {
    if (*sign == "credit" ? line.amount.sign() >= 0 : line.amount.sign() < 0) return false;
  }
  if (const auto from = instant_option(step, "from"); from && line.period.start != *from) {
    return false;
  }
  if (const auto to = instant_option(step, "to"); to && line.period.end != *to) return false;
  return true;
}

// `line [type=…] [fee=…] [meter=…] [plan=…] [sign=credit|charge] [from=…] [to=…]`: the one line
// of the last invoice these select.
std::optional<Outcome> run_line(Session& session, const Step& step) {
  const SubscriptionState& state = session.state<SubscriptionState>();
  if (!state.invoice) return failure("no_invoice", "no `invoice` line priced an invoice before");
  const Invoice& invoice = *state.invoice;
  std::vector<const PricedLine*> found;
  for (const PricedLine& line : invoice.lines) {
    if (selected(step, line)) found.push_back(&line);
  }
  if (found.size() != 1) {
    return failure(found.empty() ? "no_such_line" : "several_lines",
                   std::to_string(found.size()) + " lines match", invoice_summary(invoice));
  }
  const PricedLine& line = *found.front();
  const LineExplanation& explanation = line.explanation;
  Outcome outcome;
  outcome.named = {{"type", std::string(line_type_name(line.type))},
                   {"amount", money(line.amount, invoice.currency)},
                   {"factor", explanation.factor.to_string()},
                   {"period", period_text(line.period)},
                   {"part", period_text(explanation.part)},
                   {"nominal", period_text(explanation.nominal)},
                   {"quantity", plain(line.quantity)},
                   {"plan", explanation.plan_code},
                   {"version", std::to_string(explanation.plan_version)},
                   {"of", explanation.credit_of.value_or("none")},
                   {"meter", line.meter.value_or("none")},
                   {"trial", explanation.trial ? "true" : "false"},
                   {"full", plain(explanation.full_amount)}};
  outcome.context = line_summary(line, invoice.currency);
  return outcome;
}

// ---- argument checks ----

std::optional<std::string> check_zone(const Step& step) {
  if (!zone_named(step.words[0])) return "`" + step.words[0] + "` is no zone of the tz database";
  return std::nullopt;
}

std::optional<std::string> check_aggregation(const Step& step) {
  if (!domain::parse_aggregation(step.words[1])) {
    return "`" + step.words[1] + "` is none of count sum max unique_count latest";
  }
  return std::nullopt;
}

std::optional<std::string> check_subscription(const Step& step) {
  if (auto problem = instant_at(step, 0)) return problem;
  constexpr OptionSpec options[] = {{"trial_end", is_instant}, {"ends_at", is_instant}};
  return check_options(step, 1, options);
}

std::optional<std::string> check_phase(const Step& step) {
  if (auto problem = instant_at(step, 0)) return problem;
  constexpr OptionSpec options[] = {
      {"seats", is_integer}, {"anchor", is_instant}, {"proration", is_proration}};
  return check_options(step, 2, options);
}

std::optional<std::string> check_reading(const Step& step) {
  if (auto problem = instant_at(step, 1)) return problem;
  if (auto problem = instant_at(step, 2)) return problem;
  if (!Decimal::parse(step.words[3])) return "`" + step.words[3] + "` is not a decimal";
  constexpr OptionSpec options[] = {{"events", is_integer}, {"amounts", is_decimals}};
  return check_options(step, 4, options);
}

std::optional<std::string> check_invoice(const Step& step) {
  if (auto problem = instant_at(step, 0)) return problem;
  constexpr OptionSpec options[] = {{"until", is_instant}};
  return check_options(step, 1, options);
}

std::optional<std::string> check_line(const Step& step) {
  return check_options(step, 0, line_selectors);
}

}  // namespace

std::vector<BlockKind> subscription_blocks() {
  const Accepts set_up{.error = true};
  return {
      {"zone", "<zone>", Needs::nothing, 1, 1, {}, check_zone, run_zone},
      {"plan_version", "<plan json>", Needs::nothing, 1, any_words, set_up,
       [](const Step& step) { return json_after(step, 0); }, run_plan_version},
      {"aggregation",
       "<meter> <count|sum|max|unique_count|latest>",
       Needs::nothing,
       2,
       2,
       {},
       check_aggregation,
       run_aggregation},
      {"subscription",
       "<start> [trial_end=<instant>] [ends_at=<instant>]",
       Needs::nothing,
       1,
       3,
       {},
       check_subscription,
       run_subscription},
      {"phase", "<from> <plan> [seats=<n>] [anchor=<instant>] [proration=prorate|none]",
       Needs::nothing, 2, 5, set_up, check_phase, run_phase},
      {"reading",
       "<meter> <from> <to> <quantity> [events=<n>] [amounts=<a,b,…>]",
       Needs::nothing,
       4,
       6,
       {},
       check_reading,
       run_reading},
      {"instants", "<until>", Needs::nothing, 1, 1,
       Accepts{.value = true, .names = {"count"}, .error = true},
       [](const Step& step) { return instant_at(step, 0); }, run_instants},
      {"invoice", "<at> [until=<instant>]", Needs::nothing, 1, 2,
       Accepts{.names = {"lines", "subtotal", "total", "currency", "closing", "opening", "windows",
                         "segments"},
               .error = true},
       check_invoice, run_invoice},
      {"line", "[type=…] [fee=…] [meter=…] [plan=…] [sign=credit|charge] [from=…] [to=…]",
       Needs::nothing, 0, 7,
       Accepts{.names = {"type", "amount", "factor", "period", "part", "nominal", "quantity",
                         "plan", "version", "of", "meter", "trial", "full"},
               .error = true},
       check_line, run_line},
  };
}

}  // namespace neruba::test::data
