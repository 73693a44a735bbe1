#pragma once
// Charges and usage for the pricing tests, written as API.md writes them: decimal strings.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decimal_test_support.hpp"
#include "domain/pricing/models.hpp"
#include "domain/pricing/plan.hpp"

namespace neruba::domain::pricing::test {

using domain::test::dec;

inline std::optional<Decimal> optional_dec(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  return dec(*text);
}

// up_to nullopt: the open last tier.
inline Tier tier(std::optional<std::string_view> up_to, std::string_view unit_price,
                 std::optional<std::string_view> flat_fee = std::nullopt) {
  return Tier{optional_dec(up_to), dec(unit_price), optional_dec(flat_fee)};
}

inline UsageCharge tiered(UsageModel model, std::vector<Tier> tiers) {
  UsageCharge charge;
  charge.meter = "calls";
  charge.model = model;
  charge.tiers = std::move(tiers);
  return charge;
}

inline UsageCharge per_unit(std::string_view unit_price, std::string_view free_units = "0") {
  UsageCharge charge;
  charge.meter = "calls";
  charge.unit_price = dec(unit_price);
  charge.free_units = dec(free_units);
  return charge;
}

inline UsageCharge package(std::string_view size, std::string_view price,
                           std::string_view free_units = "0") {
  UsageCharge charge;
  charge.meter = "calls";
  charge.model = UsageModel::package;
  charge.package_size = dec(size);
  charge.package_price = dec(price);
  charge.free_units = dec(free_units);
  return charge;
}

inline UsageCharge percentage(std::string_view rate,
                              std::optional<std::string_view> fixed_fee = std::nullopt,
                              std::optional<std::string_view> min_per_event = std::nullopt,
                              std::optional<std::string_view> max_per_event = std::nullopt) {
  UsageCharge charge;
  charge.meter = "payments";
  charge.model = UsageModel::percentage;
  charge.rate = dec(rate);
  charge.fixed_fee = optional_dec(fixed_fee);
  charge.min_per_event = optional_dec(min_per_event);
  charge.max_per_event = optional_dec(max_per_event);
  return charge;
}

inline UsagePart usage(std::string_view quantity, std::string_view already_used = "0") {
  UsagePart part;
  part.quantity = dec(quantity);
  part.already_used = dec(already_used);
  return part;
}

// Percentage usage: each event's amount, their count and sum.
inline UsagePart events(const std::vector<std::string_view>& amounts) {
  UsagePart part;
  for (const std::string_view amount : amounts) {
    part.event_amounts.push_back(dec(amount));
    part.quantity = *part.quantity.add(dec(amount));
  }
  part.events = static_cast<std::int64_t>(amounts.size());
  return part;
}

}  // namespace neruba::domain::pricing::test
