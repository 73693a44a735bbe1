#include "support/pricing_json.hpp"

#include <optional>
#include <string_view>

#include "domain/time.hpp"
#include "json/reader.hpp"

namespace neruba::test {
namespace {

using domain::Decimal;
using namespace domain::pricing;

constexpr std::size_t code_length_max = 255;

// A decimal string member; absent or null: nullopt (an error when required).
std::optional<Decimal> decimal_member(json::ObjectReader& reader, std::string_view name,
                                      bool required) {
  const json::Value* value = reader.get(name);
  if (value == nullptr) {
    if (required && reader.is_object()) reader.add_error(name, "required", "is required");
    return std::nullopt;
  }
  const auto parsed =
      value->is_string() ? Decimal::parse_plain(value->text()) : domain::DecimalResult{};
  if (!parsed) {
    reader.add_error(name, "invalid_decimal", "must be a decimal string such as \"12.50\"");
    return std::nullopt;
  }
  return *parsed;
}

Decimal required_decimal(json::ObjectReader& reader, std::string_view name) {
  return decimal_member(reader, name, true).value_or(Decimal());
}

// An enum member that must be present.
std::optional<std::string> required_enum(json::ObjectReader& reader, std::string_view name,
                                         const std::vector<std::string_view>& allowed) {
  if (reader.is_object() && reader.get(name) == nullptr) {
    reader.add_error(name, "required", "is required");
    return std::nullopt;
  }
  return reader.optional_enum(name, allowed);
}

// A required array member, or nullptr (and an error).
const json::Value* required_array(json::ObjectReader& reader, std::string_view name) {
  const json::Value* value = reader.get(name);
  if (value != nullptr && value->is_array()) return value;
  reader.add_error(name, "required", "is required: an array");
  return nullptr;
}

std::vector<Tier> read_tiers(json::ObjectReader& reader, std::vector<FieldError>& errors) {
  std::vector<Tier> tiers;
  const json::Value* value = required_array(reader, "tiers");
  if (value == nullptr) return tiers;
  for (std::size_t index = 0; index < value->items().size(); ++index) {
    json::ObjectReader tier(value->items()[index],
                            reader.field("tiers[" + std::to_string(index) + "]."), errors);
    // up_to absent or null: the open last tier.
    const std::optional<Decimal> up_to = decimal_member(tier, "up_to", false);
    const Decimal unit_price = required_decimal(tier, "unit_price");
    tiers.push_back(Tier{up_to, unit_price, decimal_member(tier, "flat_fee", false)});
    tier.reject_unknown();
  }
  return tiers;
}

void read_model_members(json::ObjectReader& reader, UsageCharge& charge,
                        std::vector<FieldError>& errors) {
  switch (charge.model) {
    case UsageModel::per_unit:
      charge.unit_price = required_decimal(reader, "unit_price");
      charge.free_units = decimal_member(reader, "free_units", false).value_or(Decimal());
      return;
    case UsageModel::graduated:
    case UsageModel::volume:
      charge.tiers = read_tiers(reader, errors);
      return;
    case UsageModel::package:
      charge.package_size = required_decimal(reader, "package_size");
      charge.package_price = required_decimal(reader, "package_price");
      charge.free_units = decimal_member(reader, "free_units", false).value_or(Decimal());
      return;
    case UsageModel::percentage:
      charge.rate = required_decimal(reader, "rate");
      charge.fixed_fee = decimal_member(reader, "fixed_fee", false);
      charge.min_per_event = decimal_member(reader, "min_per_event", false);
      charge.max_per_event = decimal_member(reader, "max_per_event", false);
      return;
  }
}

UsageCharge read_usage(json::ObjectReader& reader, std::vector<FieldError>& errors) {
  UsageCharge charge;
  charge.meter = reader.required_string("meter", code_length_max).value_or("");
  const auto model =
      required_enum(reader, "model", {"per_unit", "graduated", "volume", "package", "percentage"});
  if (!model) return charge;
  constexpr std::pair<std::string_view, UsageModel> models[] = {
      {"per_unit", UsageModel::per_unit},
      {"graduated", UsageModel::graduated},
      {"volume", UsageModel::volume},
      {"package", UsageModel::package},
      {"percentage", UsageModel::percentage}};
  for (const auto& [name, value] : models) {
    if (*model == name) charge.model = value;
  }
  read_model_members(reader, charge, errors);
  return charge;
}

}  // namespace

Result<Charge> charge_from_json(const json::Value& value, const std::string& path) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(value, path, errors);
  Charge charge = RecurringCharge{};
  const auto type = required_enum(reader, "type", {"recurring", "seat", "usage"});
  if (type == "recurring") {
    const Decimal amount = required_decimal(reader, "amount");
    const auto timing = reader.optional_enum("timing", {"advance", "arrears"});
    charge = RecurringCharge{amount, timing == "arrears" ? FeeTiming::arrears : FeeTiming::advance};
  } else if (type == "seat") {
    charge = SeatCharge{required_decimal(reader, "unit_price")};
  } else if (type == "usage") {
    charge = read_usage(reader, errors);
  }
  if (type) reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  return charge;
}

namespace {

std::vector<Charge> read_charges(json::ObjectReader& reader, std::vector<FieldError>& errors) {
  std::vector<Charge> charges;
  const json::Value* value = required_array(reader, "charges");
  if (value == nullptr) return charges;
  for (std::size_t index = 0; index < value->items().size(); ++index) {
    auto charge = charge_from_json(value->items()[index],
                                   reader.field("charges[" + std::to_string(index) + "]."));
    if (charge) {
      charges.push_back(std::move(*charge));
    } else {
      errors.insert(errors.end(), charge.error().errors.begin(), charge.error().errors.end());
    }
  }
  return charges;
}

}  // namespace

Result<PlanVersion> plan_from_json(const json::Value& value) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(value, "", errors);
  const auto code = reader.required_string("currency", 3);
  const std::optional<domain::Currency> currency =
      code ? domain::Currency::of(*code) : std::nullopt;
  if (code && !currency) reader.add_error("currency", "unknown_currency", "not an ISO 4217 code");
  PlanVersion plan{.currency = currency.value_or(*domain::Currency::of("USD"))};
  plan.plan_code = reader.optional_string("code", code_length_max).value_or("plan");
  plan.name = reader.optional_string("name", code_length_max).value_or("");
  if (reader.optional_enum("interval", {"month", "year"}) == "year") {
    plan.interval = Interval::year;
  }
  if (reader.optional_enum("proration", {"second", "day"}) == "day") {
    plan.proration = ProrationBasis::day;
  }
  if (const auto rounding =
          reader.optional_enum("rounding", {"half_even", "half_up", "down", "up"})) {
    plan.rounding = *domain::parse_rounding_mode(*rounding);
  }
  plan.minimum_commitment = decimal_member(reader, "minimum_commitment", false);
  if (const auto from = reader.optional_string("effective_from", 64)) {
    if (const auto instant = domain::parse_rfc3339(*from)) {
      plan.effective_from = *instant;
    } else {
      reader.add_error("effective_from", "invalid_instant", "must be an RFC 3339 instant");
    }
  }
  plan.usage_billed_during_trial =
      reader.optional_bool("usage_billed_during_trial").value_or(false);
  plan.charges = read_charges(reader, errors);
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  return plan;
}

}  // namespace neruba::test
