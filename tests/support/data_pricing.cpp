// The pricing area's blocks (tests/data/README.md): charges priced, fees prorated, lines rounded,
// minimum commitments trued up and plans validated, by calling domain/pricing directly — no
// database, no API.
#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "domain/pricing/lines.hpp"
#include "domain/pricing/models.hpp"
#include "domain/pricing/validation.hpp"
#include "json/json.hpp"
#include "support/data_blocks.hpp"
#include "support/data_words.hpp"
#include "support/pricing_json.hpp"

namespace neruba::test::data {
namespace {

using domain::Currency;
using domain::Decimal;
using domain::Ratio;
using domain::RoundingMode;
using namespace domain::pricing;

// What the steps of a case share: the currency and mode lines are rounded in, the charge `price`
// and `fee` use, the plan `validate` checks and the tenant's meters it looks codes up in.
class PricingState final : public AreaState {
 public:
  explicit PricingState(Session&) {}
  void start_case(const std::string&) override { *this = PricingState(); }

  Currency currency = *Currency::of("USD");
  RoundingMode mode = RoundingMode::half_even;
  std::optional<Charge> charge;
  std::optional<PlanVersion> plan;
  std::map<std::string, domain::Aggregation, std::less<>> meters;

  // The charge, when it is a T.
  template <typename T>
  const T* charge_as() const {
    return charge ? std::get_if<T>(&*charge) : nullptr;
  }

 private:
  PricingState() = default;
};

// ---- arguments: `<name>=<value>` options after the positional words (data_words.hpp) ----

// "17/31": the two integers as written (the factor is checked by proration_factor_of).
std::optional<std::pair<std::int64_t, std::int64_t>> factor_of(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto numerator = integer_of(text.substr(0, slash));
  const auto denominator = integer_of(text.substr(slash + 1));
  if (!numerator || !denominator) return std::nullopt;
  return std::pair{*numerator, *denominator};
}

bool is_decimal(std::string_view value) { return Decimal::parse(value).ok(); }
bool is_integer(std::string_view value) { return integer_of(value).has_value(); }
bool is_decimals(std::string_view value) { return decimals_of(value).has_value(); }
bool is_factor(std::string_view value) { return factor_of(value).has_value(); }

// factor=<n>/<d>, 1/1 when not written; proration_factor_invalid unless 0 <= n <= d, d > 0.
Result<Ratio, PricingError> factor_option(const Step& step) {
  const auto text = option(step, "factor");
  if (!text) return Ratio::one();
  const auto [numerator, denominator] = *factor_of(*text);
  return proration_factor_of(numerator, denominator);
}

std::optional<std::string> check_decimal_then(const Step& step, std::span<const OptionSpec> specs) {
  if (!Decimal::parse(step.words[0])) return "`" + step.words[0] + "` is not a decimal";
  return check_options(step, 1, specs);
}

// ---- outcomes ----

Outcome failure(std::string slug, std::string detail = {}, std::vector<FieldProblem> fields = {}) {
  Outcome outcome;
  outcome.error = ErrorOutcome{std::move(slug), std::move(fields), std::move(detail)};
  return outcome;
}

Outcome failure(PricingError error) { return failure(std::string(reason_of(error).slug)); }

Outcome failure(const Error& error, std::string slug) {
  std::vector<FieldProblem> fields;
  for (const FieldError& field : error.errors) fields.push_back({field.field, field.type});
  std::string detail;
  for (const FieldError& field : error.errors) detail += field.field + ": " + field.detail + "; ";
  return failure(std::move(slug), std::move(detail), std::move(fields));
}

// An exact amount, without the trailing zeros its scale happens to carry: "135.50" → "135.5".
std::string plain(const Decimal& value) {
  std::string text = value.to_string();
  if (text.find('.') == std::string::npos) return text;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

// "0:100x1+10,1:50x0.5": tier index, units × unit price, + the flat fee when charged.
std::string tiers_text(const std::vector<TierUsage>& tiers) {
  if (tiers.empty()) return "none";
  std::string out;
  for (const TierUsage& tier : tiers) {
    if (!out.empty()) out += ",";
    out += std::to_string(tier.tier) + ":" + plain(tier.units) + "x" + plain(tier.unit_price);
    if (!tier.flat_fee.is_zero()) out += "+" + plain(tier.flat_fee);
  }
  return out;
}

// ---- the blocks ----

std::optional<Outcome> run_currency(Session& session, const Step& step) {
  PricingState& state = session.state<PricingState>();
  state.currency = *Currency::of(step.words[0]);
  state.mode =
      step.words.size() > 1 ? *domain::parse_rounding_mode(step.words[1]) : RoundingMode::half_even;
  return Outcome{};
}

// `charge` and `plan`: what the JSON reader made of the line into `slot`, or its problems.
template <typename T>
Outcome read_into(std::optional<T>& slot, Result<T> read, std::string slug) {
  slot.reset();
  if (!read) return failure(read.error(), std::move(slug));
  slot = std::move(*read);
  return Outcome{};
}

std::optional<Outcome> run_charge(Session& session, const Step& step) {
  return read_into(session.state<PricingState>().charge,
                   charge_from_json(*json::parse(step.rest_after(0))), "invalid_charge");
}

constexpr OptionSpec price_options[] = {{"already_used", is_decimal},
                                        {"period", is_decimal},
                                        {"events", is_integer},
                                        {"amounts", is_decimals}};

UsagePart usage_of(const Step& step) {
  UsagePart part;
  part.quantity = *Decimal::parse(step.words[0]);
  if (auto text = option(step, "already_used")) part.already_used = *Decimal::parse(*text);
  if (auto text = option(step, "period")) part.period_quantity = *Decimal::parse(*text);
  if (auto text = option(step, "amounts")) {
    part.event_amounts = *decimals_of(*text);
    part.events = static_cast<std::int64_t>(part.event_amounts.size());
  }
  if (auto text = option(step, "events")) part.events = *integer_of(*text);
  return part;
}

std::optional<Outcome> run_price(Session& session, const Step& step) {
  PricingState& state = session.state<PricingState>();
  const auto* charge = state.charge_as<UsageCharge>();
  if (charge == nullptr) return failure("no_usage_charge", "no `charge` line set a usage charge");
  const auto line = usage_line(*charge, usage_of(step), state.currency, state.mode);
  if (!line) return failure(line.error());
  const UsageExplanation& explanation = line->priced.explanation;
  Outcome outcome;
  outcome.value = plain(line->priced.amount);
  outcome.named = {{"line", line->amount.to_string()},
                   {"tiers", tiers_text(explanation.tiers)},
                   {"free", plain(explanation.free_units_applied)},
                   {"billable", plain(explanation.billable_units)},
                   {"packages", plain(explanation.packages)},
                   {"at_min", std::to_string(explanation.events_at_minimum)},
                   {"at_max", std::to_string(explanation.events_at_maximum)}};
  return outcome;
}

constexpr OptionSpec fee_options[] = {{"seats", is_integer}, {"factor", is_factor}};

std::optional<Outcome> run_fee(Session& session, const Step& step) {
  PricingState& state = session.state<PricingState>();
  const auto factor = factor_option(step);
  const std::int64_t seats = option(step, "seats") ? *integer_of(*option(step, "seats")) : 1;
  const auto* recurring = state.charge_as<RecurringCharge>();
  const auto* seat = state.charge_as<SeatCharge>();
  if (recurring == nullptr && seat == nullptr) {
    return failure("no_fee_charge", "no `charge` line set a recurring or seat charge");
  }
  if (!factor) return failure(factor.error());
  const Result<FeeLine, PricingError> line =
      recurring != nullptr ? recurring_line(*recurring, *factor, state.currency, state.mode)
                           : seat_line(*seat, seats, *factor, state.currency, state.mode);
  if (!line) return failure(line.error());
  Outcome outcome;
  outcome.value = line->amount.to_string();
  outcome.named = {{"full", plain(line->full_amount)}};
  return outcome;
}

constexpr OptionSpec minimum_options[] = {{"lines", is_decimals}, {"factor", is_factor}};

std::optional<Outcome> run_minimum(Session& session, const Step& step) {
  PricingState& state = session.state<PricingState>();
  const auto lines =
      option(step, "lines") ? *decimals_of(*option(step, "lines")) : std::vector<Decimal>{};
  const auto factor = factor_option(step);
  if (!factor) return failure(factor.error());
  const auto line =
      commitment_line(*Decimal::parse(step.words[0]), *factor, lines, state.currency, state.mode);
  if (!line) return failure(line.error());
  Outcome outcome;
  outcome.value = line->amount.to_string();
  outcome.named = {{"total", line->period_total.to_string()},
                   {"minimum", line->minimum.to_string()}};
  return outcome;
}

std::optional<Outcome> run_round(Session&, const Step& step) {
  const RoundingMode mode =
      step.words.size() > 2 ? *domain::parse_rounding_mode(step.words[2]) : RoundingMode::half_even;
  const auto rounded =
      round_line(*Decimal::parse(step.words[1]), *Currency::of(step.words[0]), mode);
  if (!rounded) return failure(rounded.error());
  Outcome outcome;
  outcome.value = rounded->to_string();
  return outcome;
}

std::optional<Outcome> run_meters(Session& session, const Step& step) {
  PricingState& state = session.state<PricingState>();
  for (const std::string& word : step.words) {
    const std::size_t colon = word.find(':');
    state.meters[word.substr(0, colon)] = *domain::parse_aggregation(word.substr(colon + 1));
  }
  return Outcome{};
}

std::optional<Outcome> run_plan(Session& session, const Step& step) {
  return read_into(session.state<PricingState>().plan,
                   plan_from_json(*json::parse(step.rest_after(0))), "invalid_plan");
}

// A field at or under `prefix`: "charges[1]" holds "charges[1].tiers[0].up_to".
bool under(const std::string& field, const std::string& prefix) {
  if (field.compare(0, prefix.size(), prefix) != 0) return false;
  return field.size() == prefix.size() || field[prefix.size()] == '.' ||
         field[prefix.size()] == '[';
}

std::optional<Outcome> run_validate(Session& session, const Step& step) {
  PricingState& state = session.state<PricingState>();
  if (!state.plan) return failure("no_plan", "no `plan` line set a plan");
  const MeterLookup meters = [&](std::string_view code) -> std::optional<domain::Aggregation> {
    const auto it = state.meters.find(code);
    return it == state.meters.end() ? std::nullopt : std::optional(it->second);
  };
  std::vector<PlanProblem> problems = validate(*state.plan, meters);
  if (!step.words.empty()) {
    std::erase_if(problems,
                  [&](const PlanProblem& problem) { return !under(problem.field, step.words[0]); });
  }
  if (problems.empty()) {
    Outcome outcome;
    outcome.value = "valid";
    return outcome;
  }
  return failure(plan_error(problems), std::string(reason_of(problems.front().reason).slug));
}

std::optional<std::string> check_currency(const Step& step) {
  if (!Currency::of(step.words[0])) return "`" + step.words[0] + "` is no known currency";
  if (step.words.size() > 1 && !domain::parse_rounding_mode(step.words[1])) {
    return "`" + step.words[1] + "` is none of half_even half_up down up";
  }
  return std::nullopt;
}

std::optional<std::string> check_round(const Step& step) {
  if (!Currency::of(step.words[0])) return "`" + step.words[0] + "` is no known currency";
  if (!Decimal::parse(step.words[1])) return "`" + step.words[1] + "` is not a decimal";
  if (step.words.size() > 2 && !domain::parse_rounding_mode(step.words[2])) {
    return "`" + step.words[2] + "` is none of half_even half_up down up";
  }
  return std::nullopt;
}

std::optional<std::string> check_meters(const Step& step) {
  for (const std::string& word : step.words) {
    const std::size_t colon = word.find(':');
    if (colon == std::string::npos || !domain::parse_aggregation(word.substr(colon + 1))) {
      return "`" + word + "` is not <code>:<count|sum|max|unique_count|latest>";
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<BlockKind> pricing_blocks() {
  const Accepts set_up{.error = true};
  return {
      {"currency", "<code> [<mode>]", Needs::nothing, 1, 2, {}, check_currency, run_currency},
      {"charge", "<charge json>", Needs::nothing, 1, any_words, set_up,
       [](const Step& step) { return json_after(step, 0); }, run_charge},
      {"price", "<quantity> [already_used=<q>] [period=<q>] [events=<n>] [amounts=<a,b,…>]",
       Needs::nothing, 1, 5,
       Accepts{.value = true,
               .names = {"line", "tiers", "free", "billable", "packages", "at_min", "at_max"},
               .error = true},
       [](const Step& step) { return check_decimal_then(step, price_options); }, run_price},
      {"fee", "[seats=<n>] [factor=<n>/<d>]", Needs::nothing, 0, 2,
       Accepts{.value = true, .names = {"full"}, .error = true},
       [](const Step& step) { return check_options(step, 0, fee_options); }, run_fee},
      {"minimum", "<amount> [lines=<a,b,…>] [factor=<n>/<d>]", Needs::nothing, 1, 3,
       Accepts{.value = true, .names = {"total", "minimum"}, .error = true},
       [](const Step& step) { return check_decimal_then(step, minimum_options); }, run_minimum},
      {"round", "<currency> <amount> [<mode>]", Needs::nothing, 2, 3,
       Accepts{.value = true, .error = true}, check_round, run_round},
      {"meters",
       "<code>:<aggregation> …",
       Needs::nothing,
       1,
       any_words,
       {},
       check_meters,
       run_meters},
      {"plan", "<plan json>", Needs::nothing, 1, any_words, set_up,
       [](const Step& step) { return json_after(step, 0); }, run_plan},
      {"validate", "[<field>]", Needs::nothing, 0, 1, Accepts{.value = true, .error = true},
       nullptr, run_validate},
  };
}

}  // namespace neruba::test::data
