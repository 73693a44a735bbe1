// Fuzzes the POST /v1/plans body (untrusted) through the whole pure pricing path: json::parse,
// services::catalog::parse_plan_version, domain::pricing::validate against a few fixed meters,
// then every charge of a valid plan priced — usage on quantities taken from the input (zero, a
// small integer, a large decimal, the plan's own tier edges, free units and package size), whole
// and in two parts; fees at the whole period and at a share n/d of it; the minimum commitment on
// the period's lines.
// Invariants: parsing the same body twice gives the same version (or the same errors); a valid
// version's document (what is stored) reads back to the same version; pricing a valid charge
// fails only with amount_out_of_range or amount_too_precise (the documented limits of Decimal),
// never charge_invalid, negative_usage, usage_inconsistent or event_amounts_missing on well-formed
// usage; an amount is never negative; zero usage and zero seats price to zero; a period priced in
// two parts (already_used, period_quantity: domain/pricing/models.hpp) sums exactly to the period
// priced whole, for every model; a percentage without a clamp prices the same from the sum as from
// the events; a rounded line has at most the currency's minor-unit digits and is the exact amount
// rounded once; a prorated fee is not above the whole period's.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "domain/pricing/lines.hpp"
#include "domain/pricing/models.hpp"
#include "domain/pricing/validation.hpp"
#include "domain/time.hpp"
#include "fuzz_check.hpp"
#include "json/json.hpp"
#include "services/catalog.hpp"

namespace {

using namespace neruba;
using domain::Decimal;
using namespace domain::pricing;

// The meters of the tenant the plan is validated for.
std::optional<domain::Aggregation> meter(std::string_view code) {
  if (code == "calls") return domain::Aggregation::count;
  if (code == "tokens" || code == "payments") return domain::Aggregation::sum;
  if (code == "gb") return domain::Aggregation::max;
  return std::nullopt;
}

// Where the numbers the pricing is fed come from: a hash of the input, so that each input prices
// its own quantities and the fuzzer's mutations move them.
struct Numbers {
  std::uint64_t state;

  std::uint64_t next() {
    state ^= state >> 33;
    state *= 0xff51afd7ed558ccdULL;
    state ^= state >> 33;
    state *= 0xc4ceb9fe1a85ec53ULL;
    state ^= state >> 33;
    return state;
  }
};

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// The failures the pricing functions document for valid charges and well-formed usage: results
// beyond the 36 digits of Decimal.
bool is_range_error(PricingError error) {
  return error == PricingError::amount_out_of_range || error == PricingError::amount_too_precise;
}

bool same_errors(const Error& a, const Error& b) {
  if (a.code != b.code || a.detail != b.detail || a.errors.size() != b.errors.size()) return false;
  for (std::size_t i = 0; i < a.errors.size(); ++i) {
    if (a.errors[i].field != b.errors[i].field || a.errors[i].type != b.errors[i].type ||
        a.errors[i].detail != b.errors[i].detail) {
      return false;
    }
  }
  return true;
}

// The stored form of a version, as services::catalog stores it (without its number).
json::Value stored_document(const PlanVersion& version) {
  json::Value document = services::catalog::plan_version_document(version);
  std::erase_if(document.members(), [](const auto& member) { return member.key == "version"; });
  return document;
}

// A usage part: `quantity` units after `already_used`, in a period of `period` units when given.
// A percentage's events are the amounts `events` (their sum is the quantity).
UsagePart part_of(const UsageCharge& charge, const Decimal& quantity, const Decimal& already_used,
                  std::optional<Decimal> period, const std::vector<Decimal>& events) {
  UsagePart part;
  part.quantity = quantity;
  part.already_used = already_used;
  part.period_quantity = std::move(period);
  if (charge.model == UsageModel::percentage) {
    part.events = static_cast<std::int64_t>(events.size());
    part.event_amounts = events;
  }
  return part;
}

// Prices one part, checking what holds of every priced part; nullopt for a documented range
// failure.
std::optional<UsageAmount> price_checked(const UsageCharge& charge, const UsagePart& part) {
  auto priced = price_usage(charge, part);
  if (!priced) {
    NERUBA_FUZZ_CHECK(is_range_error(priced.error()));
    return std::nullopt;
  }
  NERUBA_FUZZ_CHECK(priced->amount.sign() >= 0);
  if (part.quantity.is_zero()) NERUBA_FUZZ_CHECK(priced->amount.is_zero());
  return std::move(priced).value();
}

// The usage charge at `quantity` units, whole and split after `split` units (0 <= split <=
// quantity); the period's rounded line is added to `lines`.
void check_usage(const PlanVersion& plan, const UsageCharge& charge, const Decimal& quantity,
                 const Decimal& split, std::vector<Decimal>& lines) {
  const auto rest = quantity.sub(split);
  if (!rest) return;
  // A percentage's events: the two parts' amounts (an event of zero would be priced by the whole
  // but not by a part of zero usage, which charges nothing), or the one amount, or none.
  std::vector<Decimal> first_events;
  std::vector<Decimal> second_events;
  if (split.sign() > 0) first_events.push_back(split);
  if (rest->sign() > 0) second_events.push_back(*rest);
  std::vector<Decimal> all_events = first_events;
  all_events.insert(all_events.end(), second_events.begin(), second_events.end());

  const UsagePart whole_part = part_of(charge, quantity, Decimal(), std::nullopt, all_events);
  const auto whole = price_checked(charge, whole_part);
  // The line is the exact amount rounded once; rounding pads to the minor unit, which can take an
  // amount that fits past the 36 digits (amount_out_of_range).
  auto line = usage_line(charge, whole_part, plan.currency, plan.rounding);
  if (!whole) NERUBA_FUZZ_CHECK(!line.ok());
  if (!line) NERUBA_FUZZ_CHECK(is_range_error(line.error()));
  if (whole && !line) {
    NERUBA_FUZZ_CHECK(!whole->amount.round(plan.currency.minor_unit_digits(), plan.rounding));
  }
  if (whole && line) {
    NERUBA_FUZZ_CHECK(line->priced.amount.same_representation(whole->amount));
    NERUBA_FUZZ_CHECK(line->amount.scale() <= plan.currency.minor_unit_digits());
    NERUBA_FUZZ_CHECK(line->amount.sign() >= 0);
    const auto rounded = whole->amount.round(plan.currency.minor_unit_digits(), plan.rounding);
    NERUBA_FUZZ_CHECK(rounded && *rounded == line->amount);
    lines.push_back(line->amount);
  }
  if (charge.model == UsageModel::percentage && !charge.min_per_event && !charge.max_per_event) {
    UsagePart summed = whole_part;
    summed.event_amounts.clear();
    const auto from_sum = price_checked(charge, summed);
    if (whole && from_sum) NERUBA_FUZZ_CHECK(from_sum->amount == whole->amount);
  }

  const auto first =
      price_checked(charge, part_of(charge, split, Decimal(), quantity, first_events));
  const auto second =
      price_checked(charge, part_of(charge, *rest, split, std::nullopt, second_events));
  if (!whole || !first || !second) return;
  const auto sum = first->amount.add(second->amount);
  if (!sum) return;
  if (*sum != whole->amount) {
    std::fprintf(stderr, "whole %s at %s: %s; parts %s + %s: %s + %s\n",
                 quantity.to_string().c_str(), charge.meter.c_str(),
                 whole->amount.to_string().c_str(), split.to_string().c_str(),
                 rest->to_string().c_str(), first->amount.to_string().c_str(),
                 second->amount.to_string().c_str());
  }
  NERUBA_FUZZ_CHECK(*sum == whole->amount);
}

// The quantities a usage charge is priced at, each with where it is split: zero, a small integer,
// a large decimal, and the charge's own edges (tier bounds, free units, package size).
std::vector<std::pair<Decimal, Decimal>> quantities_of(const UsageCharge& charge,
                                                       Numbers& numbers) {
  std::vector<Decimal> quantities{Decimal()};
  quantities.push_back(Decimal::from_integer(1 + static_cast<std::int64_t>(numbers.next() % 1000)));
  const domain::Int128 large =
      static_cast<domain::Int128>(numbers.next()) * 1000003 + numbers.next() % 1000003;
  if (const auto value = Decimal::from_parts(large, static_cast<int>(numbers.next() % 7))) {
    quantities.push_back(*value);
  }
  std::vector<Decimal> edges;
  for (std::size_t t = 0; t < charge.tiers.size() && t < 4; ++t) {
    if (charge.tiers[t].up_to) edges.push_back(*charge.tiers[t].up_to);
  }
  if (charge.model == UsageModel::per_unit || charge.model == UsageModel::package) {
    edges.push_back(charge.free_units);
  }
  if (charge.model == UsageModel::package) {
    edges.push_back(charge.package_size);
    if (const auto after = charge.free_units.add(charge.package_size)) edges.push_back(*after);
  }

  std::vector<std::pair<Decimal, Decimal>> out;
  for (const Decimal& quantity : quantities) {
    const auto divisor = Decimal::from_integer(2 + static_cast<std::int64_t>(numbers.next() % 5));
    const auto split = quantity.div(divisor, quantity.scale(), domain::RoundingMode::down);
    out.emplace_back(quantity, split ? *split : Decimal());
    for (const Decimal& edge : edges) {
      if (edge.sign() > 0 && edge < quantity) out.emplace_back(quantity, edge);
    }
  }
  for (const Decimal& edge : edges) {
    if (edge.sign() < 0) continue;
    out.emplace_back(edge, Decimal());
    out.emplace_back(edge, edge);
    // One unit past the edge, split at it.
    if (const auto past = edge.add(Decimal::from_integer(1))) out.emplace_back(*past, edge);
  }
  return out;
}

// A fee line at the whole period and at `factor`: not negative, in minor units, the share not
// above the whole.
void check_fee(const Result<FeeLine, PricingError>& whole,
               const Result<FeeLine, PricingError>& share, const PlanVersion& plan, bool zero,
               std::vector<Decimal>& lines) {
  const int digits = plan.currency.minor_unit_digits();
  if (!whole) NERUBA_FUZZ_CHECK(is_range_error(whole.error()));
  if (!share) NERUBA_FUZZ_CHECK(is_range_error(share.error()));
  if (whole) {
    NERUBA_FUZZ_CHECK(whole->amount.sign() >= 0 && whole->amount.scale() <= digits);
    NERUBA_FUZZ_CHECK(whole->factor == domain::Ratio::one());
    const auto rounded = whole->full_amount.round(digits, plan.rounding);
    NERUBA_FUZZ_CHECK(rounded && *rounded == whole->amount);
    if (zero) NERUBA_FUZZ_CHECK(whole->amount.is_zero());
    lines.push_back(whole->amount);
  }
  if (share) {
    NERUBA_FUZZ_CHECK(share->amount.sign() >= 0 && share->amount.scale() <= digits);
    if (zero) NERUBA_FUZZ_CHECK(share->amount.is_zero());
    if (whole) NERUBA_FUZZ_CHECK(share->amount <= whole->amount);
  }
}

void price_plan(const PlanVersion& plan, Numbers& numbers) {
  const auto denominator = static_cast<std::int64_t>(1 + numbers.next() % (366 * 86400));
  const auto numerator = static_cast<std::int64_t>(numbers.next() % (denominator + 1));
  const auto factor = proration_factor_of(numerator, denominator);
  NERUBA_FUZZ_CHECK(factor.ok());
  const domain::Ratio one = domain::Ratio::one();
  const std::int64_t seats[] = {0, 1, 1 + static_cast<std::int64_t>(numbers.next() % 500)};
  std::vector<Decimal> lines;
  for (const Charge& charge : plan.charges) {
    if (const auto* recurring = std::get_if<RecurringCharge>(&charge)) {
      check_fee(recurring_line(*recurring, one, plan.currency, plan.rounding),
                recurring_line(*recurring, *factor, plan.currency, plan.rounding), plan,
                recurring->amount.is_zero(), lines);
    } else if (const auto* seat = std::get_if<SeatCharge>(&charge)) {
      for (const std::int64_t count : seats) {
        check_fee(seat_line(*seat, count, one, plan.currency, plan.rounding),
                  seat_line(*seat, count, *factor, plan.currency, plan.rounding), plan,
                  count == 0 || seat->unit_price.is_zero(), lines);
      }
    } else {
      const auto& usage = std::get<UsageCharge>(charge);
      for (const auto& [quantity, split] : quantities_of(usage, numbers)) {
        check_usage(plan, usage, quantity, split, lines);
      }
    }
  }
  if (plan.minimum_commitment) {
    // Every line is rounded to the minor unit, so the true-up never refuses one.
    const auto commitment =
        commitment_line(*plan.minimum_commitment, *factor, lines, plan.currency, plan.rounding);
    if (!commitment) {
      NERUBA_FUZZ_CHECK(is_range_error(commitment.error()));
    } else {
      NERUBA_FUZZ_CHECK(commitment->amount.sign() >= 0);
      NERUBA_FUZZ_CHECK(commitment->amount.scale() <= plan.currency.minor_unit_digits());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const auto body = json::parse(text);
  if (!body || !body->is_object()) return 0;
  const Instant now = *domain::parse_rfc3339("2026-01-05T10:00:00Z");
  const auto first = services::catalog::parse_plan_version(*body, "fuzz_plan", 1, now);
  const auto second = services::catalog::parse_plan_version(*body, "fuzz_plan", 1, now);
  NERUBA_FUZZ_CHECK(first.ok() == second.ok());
  if (!first) {
    NERUBA_FUZZ_CHECK(same_errors(first.error(), second.error()));
    NERUBA_FUZZ_CHECK(!first.error().errors.empty());
    return 0;
  }
  const PlanVersion& plan = first.value();
  const json::Value document = services::catalog::plan_version_document(plan);
  NERUBA_FUZZ_CHECK(document == services::catalog::plan_version_document(second.value()));

  if (!validate(plan, meter).empty()) return 0;
  // What is stored reads back to the same version (services::catalog reads stored versions so).
  const auto stored = services::catalog::parse_plan_version(stored_document(plan), plan.plan_code,
                                                            plan.version, plan.effective_from);
  NERUBA_FUZZ_CHECK(stored.ok());
  NERUBA_FUZZ_CHECK(services::catalog::plan_version_document(stored.value()) == document);

  Numbers numbers{fnv1a(text)};
  price_plan(plan, numbers);
  return 0;
}
