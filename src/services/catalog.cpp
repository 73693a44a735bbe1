#include "services/catalog.hpp"

#include <map>

#include "common/assert.hpp"
#include "common/limits.hpp"
#include "domain/pricing/validation.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/subscriptions.hpp"
#include "services/validation.hpp"
#include "storage/meters.hpp"

namespace neruba::services::catalog {
namespace {

using domain::Decimal;
using namespace domain::pricing;

// What a decimal field of a plan is: money in the plan's currency (at most its minor-unit digits),
// a price or rate (up to limits::unit_price_scale_max fraction digits: money is rounded once, at
// the line, so what multiplies a quantity may be finer than the minor unit), or a quantity of
// units.
enum class DecimalKind { money, price, quantity };

// Reads the fields of a plan body, collecting every problem.
class PlanReader {
 public:
  PlanReader(std::vector<FieldError>& errors, std::optional<domain::Currency> currency)
      : errors_(errors), currency_(std::move(currency)) {}

  std::optional<Decimal> decimal(json::ObjectReader& reader, std::string_view name,
                                 DecimalKind kind, bool required) {
    const json::Value* value = reader.get(name);
    if (value == nullptr) {
      if (required) reader.add_error(name, "required", "is required");
      return std::nullopt;
    }
    if (!value->is_string()) {
      reader.add_error(name, "invalid_type", "must be a decimal string such as \"12.50\"");
      return std::nullopt;
    }
    if (kind == DecimalKind::money) return money(reader, name, value->text());
    const auto parsed = Decimal::parse_plain(value->text());
    if (!parsed) {
      reader.add_error(
          name,
          parsed.error == domain::DecimalError::invalid_syntax ? "invalid_value" : "out_of_range",
          "must be a decimal string such as \"0.002\" (no exponent)");
      return std::nullopt;
    }
    return *parsed;  // a price's fraction digits: domain::pricing::validate (price_too_precise)
  }

  std::optional<Charge> charge(const json::Value& value, const std::string& path);
  std::optional<Tier> tier(const json::Value& value, const std::string& path);

 private:
  std::optional<Decimal> money(json::ObjectReader& reader, std::string_view name,
                               const std::string& text) {
    if (!currency_) return std::nullopt;  // the currency itself is reported
    const auto amount = domain::parse_amount(text, currency_->code());
    if (!amount) {
      reader.add_error(name,
                       amount.error == domain::MoneyError::too_many_fraction_digits
                           ? "too_many_fraction_digits"
                           : "invalid_value",
                       "must be an amount of " + currency_->code() + " with at most " +
                           std::to_string(currency_->minor_unit_digits()) + " fraction digits");
      return std::nullopt;
    }
    return *amount;
  }

  std::optional<UsageCharge> usage_charge(json::ObjectReader& reader);

  std::vector<FieldError>& errors_;
  std::optional<domain::Currency> currency_;
};

std::optional<Tier> PlanReader::tier(const json::Value& value, const std::string& path) {
  json::ObjectReader reader(value, path + ".", errors_);
  Tier tier;
  const json::Value* up_to = reader.get("up_to");
  if (reader.is_object() && value.find("up_to") == nullptr) {
    reader.add_error("up_to", "required", "is required (null for the last, open tier)");
  } else if (up_to != nullptr) {
    tier.up_to = decimal(reader, "up_to", DecimalKind::quantity, true);
  }
  const auto unit_price = decimal(reader, "unit_price", DecimalKind::price, true);
  tier.flat_fee = decimal(reader, "flat_fee", DecimalKind::money, false);
  reader.reject_unknown();
  if (!unit_price) return std::nullopt;
  tier.unit_price = *unit_price;
  return tier;
}

std::optional<UsageCharge> PlanReader::usage_charge(json::ObjectReader& reader) {
  UsageCharge charge;
  const auto meter = reader.required_string("meter", 64);
  const auto model =
      reader.optional_enum("model", {"per_unit", "graduated", "volume", "package", "percentage"});
  if (reader.is_object() && reader.get("model") == nullptr) {
    reader.add_error("model", "required", "is required");
  }
  if (!meter || !model) return std::nullopt;
  charge.meter = *meter;
  const auto get = [&](std::string_view name, DecimalKind kind, bool required, Decimal& out) {
    if (const auto value = decimal(reader, name, kind, required)) out = *value;
  };
  const auto get_optional = [&](std::string_view name, std::optional<Decimal>& out) {
    out = decimal(reader, name, DecimalKind::money, false);
  };
  if (*model == "per_unit") {
    charge.model = UsageModel::per_unit;
    get("unit_price", DecimalKind::price, true, charge.unit_price);
    get("free_units", DecimalKind::quantity, false, charge.free_units);
  } else if (*model == "graduated" || *model == "volume") {
    charge.model = *model == "graduated" ? UsageModel::graduated : UsageModel::volume;
    const json::Value* tiers = reader.get("tiers");
    if (tiers == nullptr || !tiers->is_array() || tiers->items().empty() ||
        tiers->items().size() > limits::tiers_max) {
      reader.add_error("tiers", tiers == nullptr ? "required" : "invalid_value",
                       "must be an array of 1 to " + std::to_string(limits::tiers_max) + " tiers");
    } else {
      for (std::size_t t = 0; t < tiers->items().size(); ++t) {
        if (auto tier = this->tier(tiers->items()[t],
                                   reader.field("tiers") + "[" + std::to_string(t) + "]")) {
          charge.tiers.push_back(std::move(*tier));
        }
      }
    }
  } else if (*model == "package") {
    charge.model = UsageModel::package;
    get("package_size", DecimalKind::quantity, true, charge.package_size);
    get("package_price", DecimalKind::money, true, charge.package_price);
    get("free_units", DecimalKind::quantity, false, charge.free_units);
  } else {
    charge.model = UsageModel::percentage;
    get("rate", DecimalKind::price, true, charge.rate);
    get_optional("fixed_fee", charge.fixed_fee);
    get_optional("min_per_event", charge.min_per_event);
    get_optional("max_per_event", charge.max_per_event);
  }
  return charge;
}

std::optional<Charge> PlanReader::charge(const json::Value& value, const std::string& path) {
  json::ObjectReader reader(value, path + ".", errors_);
  const auto type = reader.optional_enum("type", {"recurring", "seat", "usage"});
  if (reader.is_object() && reader.get("type") == nullptr) {
    reader.add_error("type", "required", "is required");
  }
  std::optional<Charge> out;
  if (type == "recurring") {
    RecurringCharge charge;
    const auto amount = decimal(reader, "amount", DecimalKind::money, true);
    const auto timing = reader.optional_enum("timing", {"advance", "arrears"});
    if (amount) {
      charge.amount = *amount;
      charge.timing = timing == "arrears" ? FeeTiming::arrears : FeeTiming::advance;
      out = charge;
    }
  } else if (type == "seat") {
    if (const auto price = decimal(reader, "unit_price", DecimalKind::money, true)) {
      out = SeatCharge{*price};
    }
  } else if (type == "usage") {
    if (auto charge = usage_charge(reader)) out = std::move(*charge);
  }
  reader.reject_unknown();
  return out;
}

std::string_view interval_name(Interval interval) {
  return interval == Interval::year ? "year" : "month";
}

// The fields of a plan body both POST /v1/plans and POST /v1/plans/{code}/versions take.
struct PlanBody {
  std::optional<std::string> code;
  std::optional<std::string> name;
  std::optional<domain::Currency> currency;
  std::optional<std::string> interval;
  std::optional<Instant> effective_from;
  ProrationBasis proration = ProrationBasis::second;
  domain::RoundingMode rounding = domain::RoundingMode::half_even;
  std::optional<Decimal> minimum_commitment;
  bool usage_billed_during_trial = false;
  std::vector<Charge> charges;
};

Result<PlanBody> read_plan_body(const json::Value& body) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  PlanBody out;
  out.code = reader.optional_string("code", limits::plan_code_length_max);
  if (out.code && !is_valid_identifier(*out.code, limits::plan_code_length_max)) {
    reader.add_error("code", "invalid_value", "must be " + std::string(identifier_rule));
  }
  out.name = reader.required_string("name", limits::name_length_max);
  out.currency = read_currency(reader, "currency", true);
  out.interval = reader.optional_enum("interval", {"month", "year"});
  if (reader.is_object() && reader.get("interval") == nullptr) {
    reader.add_error("interval", "required", "is required");
  }
  if (const auto text = reader.optional_string("effective_from", 64)) {
    out.effective_from = domain::parse_rfc3339(*text);
    if (!out.effective_from) {
      reader.add_error("effective_from", "invalid_value", "must be an RFC 3339 instant");
    }
  }
  out.proration = reader.optional_enum("proration", {"second", "day"}) == "day"
                      ? ProrationBasis::day
                      : ProrationBasis::second;
  if (const auto mode = reader.optional_enum("rounding", {"half_even", "half_up", "down", "up"})) {
    out.rounding = *domain::parse_rounding_mode(*mode);
  }
  out.usage_billed_during_trial = reader.optional_bool("bill_usage_during_trial").value_or(false);
  PlanReader plan(errors, out.currency);
  out.minimum_commitment = plan.decimal(reader, "minimum_commitment", DecimalKind::money, false);
  const json::Value* charges = reader.get("charges");
  if (charges == nullptr || !charges->is_array()) {
    reader.add_error("charges", charges == nullptr ? "required" : "invalid_type",
                     "must be an array of charges");
  } else if (charges->items().size() > limits::plan_charges_max) {
    reader.add_error("charges", "too_long",
                     "holds at most " + std::to_string(limits::plan_charges_max) + " charges");
  } else {
    for (std::size_t c = 0; c < charges->items().size(); ++c) {
      if (auto charge = plan.charge(charges->items()[c], "charges[" + std::to_string(c) + "]")) {
        out.charges.push_back(std::move(*charge));
      }
    }
  }
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  return out;
}

PlanVersion version_of(PlanBody body, std::string code, int version, Instant effective_from) {
  PlanVersion out{std::move(code),       version,        effective_from,
                  std::move(*body.name), *body.currency, Interval::month};
  out.interval = body.interval == "year" ? Interval::year : Interval::month;
  out.proration = body.proration;
  out.rounding = body.rounding;
  out.minimum_commitment = body.minimum_commitment;
  out.usage_billed_during_trial = body.usage_billed_during_trial;
  out.charges = std::move(body.charges);
  return out;
}

}  // namespace

Result<PlanVersion> parse_plan_version(const json::Value& body, const std::string& code,
                                       int version, Instant effective_from) {
  auto parsed = read_plan_body(body);
  if (!parsed) return parsed.take_error();
  if (!parsed->code && code.empty()) {
    return Error::invalid({FieldError{"code", "required", "is required", {}}});
  }
  std::string version_code = parsed->code.value_or(code);
  const Instant version_from = parsed->effective_from.value_or(effective_from);
  return version_of(std::move(parsed).value(), std::move(version_code), version, version_from);
}

json::Value plan_version_document(const PlanVersion& version) {
  const auto text = [](const Decimal& value) { return json::Value::string(value.to_string()); };
  const auto optional = [&](json::Value& out, const char* name,
                            const std::optional<Decimal>& value) {
    if (value) out.set(name, text(*value));
  };
  json::Value charges = json::Value::array();
  for (const auto& charge : version.charges) {
    json::Value out = json::Value::object();
    if (const auto* recurring = std::get_if<RecurringCharge>(&charge)) {
      out.set("type", json::Value::string("recurring"));
      out.set("amount", text(recurring->amount));
      out.set("timing",
              json::Value::string(recurring->timing == FeeTiming::arrears ? "arrears" : "advance"));
    } else if (const auto* seat = std::get_if<SeatCharge>(&charge)) {
      out.set("type", json::Value::string("seat"));
      out.set("unit_price", text(seat->unit_price));
    } else {
      const auto& usage = std::get<UsageCharge>(charge);
      out.set("type", json::Value::string("usage"));
      out.set("meter", json::Value::string(usage.meter));
      switch (usage.model) {
        case UsageModel::per_unit:
          out.set("model", json::Value::string("per_unit"));
          out.set("unit_price", text(usage.unit_price));
          out.set("free_units", text(usage.free_units));
          break;
        case UsageModel::graduated:
        case UsageModel::volume: {
          out.set("model", json::Value::string(usage.model == UsageModel::graduated ? "graduated"
                                                                                    : "volume"));
          json::Value tiers = json::Value::array();
          for (const auto& tier : usage.tiers) {
            json::Value t = json::Value::object();
            t.set("up_to", tier.up_to ? text(*tier.up_to) : json::Value::null());
            t.set("unit_price", text(tier.unit_price));
            optional(t, "flat_fee", tier.flat_fee);
            tiers.push_back(std::move(t));
          }
          out.set("tiers", std::move(tiers));
          break;
        }
        case UsageModel::package:
          out.set("model", json::Value::string("package"));
          out.set("package_size", text(usage.package_size));
          out.set("package_price", text(usage.package_price));
          out.set("free_units", text(usage.free_units));
          break;
        case UsageModel::percentage:
          out.set("model", json::Value::string("percentage"));
          out.set("rate", text(usage.rate));
          optional(out, "fixed_fee", usage.fixed_fee);
          optional(out, "min_per_event", usage.min_per_event);
          optional(out, "max_per_event", usage.max_per_event);
          break;
      }
    }
    charges.push_back(std::move(out));
  }
  json::Value out = json::Value::object();
  out.set("code", json::Value::string(version.plan_code));
  out.set("version", json::Value::number(version.version));
  out.set("name", json::Value::string(version.name));
  out.set("currency", json::Value::string(version.currency.code()));
  out.set("interval", json::Value::string(std::string(interval_name(version.interval))));
  out.set("effective_from", json::Value::string(domain::format_rfc3339(version.effective_from)));
  out.set("proration",
          json::Value::string(version.proration == ProrationBasis::day ? "day" : "second"));
  out.set("rounding",
          json::Value::string(std::string(domain::rounding_mode_name(version.rounding))));
  if (version.minimum_commitment) out.set("minimum_commitment", text(*version.minimum_commitment));
  out.set("bill_usage_during_trial", json::Value::boolean(version.usage_billed_during_trial));
  out.set("charges", std::move(charges));
  return out;
}

namespace {

Error plan_not_found() { return Error::not_found("The plan"); }

// A stored version's definition, read back with the rules that admitted it.
PlanVersion stored_version(const storage::PlanVersionRecord& record) {
  auto version = parse_plan_version(record.definition, record.plan_code,
                                    static_cast<int>(record.version), record.effective_from);
  if (!version) {
    throw storage::StorageError(storage::StorageError::Kind::other,
                                "stored plan version " + record.plan_code + " v" +
                                    std::to_string(record.version) + " is corrupt");
  }
  // The row's code and instant are the version's, whatever its definition says.
  version->plan_code = record.plan_code;
  version->effective_from = record.effective_from;
  return std::move(version).value();
}

// The rules a version obeys beyond its shape (domain::pricing::validate: tiers, prices, meters).
Status check_version(storage::Tx& tx, const TenantId& tenant, const PlanVersion& version) {
  std::map<std::string, domain::Aggregation, std::less<>> meters;
  for (const auto& meter : storage::meters::list(tx, tenant)) {
    meters.emplace(meter.definition.code, meter.definition.aggregation);
  }
  const auto problems = domain::pricing::validate(
      version, [&](std::string_view code) -> std::optional<domain::Aggregation> {
        const auto it = meters.find(code);
        if (it == meters.end()) return std::nullopt;
        return it->second;
      });
  if (!problems.empty()) return domain::pricing::plan_error(problems);
  return ok_status();
}

Status store_version(storage::Tx& tx, const RequestContext& ctx, const PlanVersion& version) {
  // Stored as a body of POST /v1/plans would write it (its number is the row's own), so that it
  // is read back by the very rules that admitted it.
  json::Value definition = plan_version_document(version);
  std::erase_if(definition.members(), [](const auto& member) { return member.key == "version"; });
  const storage::PlanVersionRecord record{ctx.principal.tenant,  version.plan_code,
                                          version.version,       version.effective_from,
                                          std::move(definition), ctx.now};
  if (!storage::plans::insert_version(tx, record)) {
    // The plan row is locked and the version numbered under it: only the instant can clash.
    return Error{ErrorCode::conflict,
                 "Another version of plan \"" + version.plan_code + "\" takes effect at " +
                     domain::format_rfc3339(version.effective_from) + ".",
                 {FieldError{"effective_from",
                             "already_exists",
                             "another version takes effect at that instant",
                             {}}},
                 {}};
  }
  return ok_status();
}

}  // namespace

std::vector<PlanVersion> versions_of(storage::Tx& tx, const TenantId& tenant,
                                     const std::string& code) {
  std::vector<PlanVersion> out;
  for (const auto& record : storage::plans::versions(tx, tenant, code)) {
    out.push_back(stored_version(record));
  }
  return out;
}

Result<PlanWithVersions> create_plan(storage::Tx& tx, const RequestContext& ctx,
                                     const json::Value& body) {
  auto parsed = parse_plan_version(body, "", 1, ctx.now);
  if (!parsed) return parsed.take_error();
  PlanVersion version = std::move(parsed).value();
  const std::string code = version.plan_code;
  if (auto checked = check_version(tx, ctx.principal.tenant, version); !checked) {
    return checked.take_error();
  }
  storage::PlanRecord plan{ctx.principal.tenant,
                           code,
                           version.name,
                           version.currency,
                           std::string(interval_name(version.interval)),
                           ctx.now};
  if (!storage::plans::insert(tx, plan)) {
    return Error{ErrorCode::already_exists,
                 "A plan with code \"" + code + "\" already exists.",
                 {FieldError{"code", "already_exists", "is already used by another plan", {}}},
                 {}};
  }
  if (auto stored = store_version(tx, ctx, version); !stored) return stored.take_error();
  audit::append(tx, ctx, ctx.principal.tenant,
                {"plan.created", code, std::nullopt, plan_version_document(version), {}, {}});
  return PlanWithVersions{std::move(plan), {std::move(version)}};
}

Result<PlanWithVersions> add_version(storage::Tx& tx, const RequestContext& ctx,
                                     const std::string& code, const json::Value& body) {
  // Numbered below, under the plan's lock.
  auto parsed = parse_plan_version(body, code, 0, ctx.now);
  if (!parsed) return parsed.take_error();
  PlanVersion version = std::move(parsed).value();
  auto plan = storage::plans::find_for_update(tx, ctx.principal.tenant, code);
  if (!plan) return plan_not_found();
  auto versions = versions_of(tx, ctx.principal.tenant, code);
  NERUBA_ASSERT_MSG(!versions.empty(), "a stored plan without a version");
  const PlanVersion& latest = versions.back();
  std::vector<FieldError> errors;
  if (version.plan_code != code) {
    errors.push_back(FieldError{"code", "invalid_value", "must be the plan's code, " + code, {}});
  }
  if (!(version.currency == plan->currency)) {
    errors.push_back(FieldError{
        "currency", "invalid_value", "a plan keeps its currency: " + plan->currency.code(), {}});
  }
  if (interval_name(version.interval) != plan->interval) {
    errors.push_back(FieldError{
        "interval", "invalid_value", "a plan keeps its interval: " + plan->interval, {}});
  }
  // A version takes effect now (the default) or later, never in the past: periods that already
  // started keep the version that priced them (and may already be billed).
  const Instant effective_from = version.effective_from;
  if (effective_from <= latest.effective_from) {
    errors.push_back(FieldError{"effective_from",
                                "invalid_value",
                                "must be later than version " + std::to_string(latest.version) +
                                    "'s " + domain::format_rfc3339(latest.effective_from),
                                {}});
  } else if (effective_from < ctx.now) {
    errors.push_back(
        FieldError{"effective_from",
                   "invalid_value",
                   "must not be in the past (now is " + domain::format_rfc3339(ctx.now) + ")",
                   {}});
  }
  if (!errors.empty()) return Error::invalid(std::move(errors));
  version.version = latest.version + 1;
  if (auto checked = check_version(tx, ctx.principal.tenant, version); !checked) {
    return checked.take_error();
  }
  // A meter the new version prices must not already be priced for a subscriber of the plan by
  // another of their subscriptions.
  std::vector<PlanVersion> with_new = versions;  // `latest` points into `versions`
  with_new.push_back(version);
  if (auto unique = subscriptions::check_plan_version_meters(tx, ctx.principal.tenant, code,
                                                             with_new, version.effective_from);
      !unique) {
    return unique.take_error();
  }
  if (auto stored = store_version(tx, ctx, version); !stored) return stored.take_error();
  NERUBA_ASSERT_MSG(storage::plans::rename(tx, ctx.principal.tenant, code, version.name),
                    "a plan locked for update vanished");
  plan->name = version.name;
  audit::append(tx, ctx, ctx.principal.tenant,
                {"plan.version_created",
                 code,
                 plan_version_document(latest),
                 plan_version_document(version),
                 {},
                 {}});
  versions.push_back(std::move(version));
  return PlanWithVersions{std::move(*plan), std::move(versions)};
}

Result<PlanWithVersions> get_plan(storage::Tx& tx, const RequestContext& ctx,
                                  const std::string& code) {
  auto plan = storage::plans::find(tx, ctx.principal.tenant, code);
  if (!plan) return plan_not_found();
  return PlanWithVersions{std::move(*plan), versions_of(tx, ctx.principal.tenant, code)};
}

Page<PlanWithVersions> list_plans(storage::Tx& tx, const RequestContext& ctx,
                                  const std::string& cursor, std::size_t limit) {
  auto page = page_of(storage::plans::page(tx, ctx.principal.tenant, cursor, limit + 1), limit,
                      [](const storage::PlanRecord& plan) { return plan.code; });
  Page<PlanWithVersions> out;
  out.next_cursor = std::move(page.next_cursor);
  for (auto& plan : page.items) {
    auto versions = versions_of(tx, ctx.principal.tenant, plan.code);
    out.items.push_back(PlanWithVersions{std::move(plan), std::move(versions)});
  }
  return out;
}

Result<PlanVersion> version_in_force(storage::Tx& tx, const TenantId& tenant,
                                     const std::string& code, Instant at) {
  const auto versions = storage::plans::versions(tx, tenant, code);
  if (versions.empty()) return plan_not_found();
  const storage::PlanVersionRecord* in_force = nullptr;
  for (const auto& version : versions) {
    if (version.effective_from <= at) in_force = &version;
  }
  if (in_force == nullptr) {
    return Error::make(ErrorCode::not_found, "Plan \"" + code + "\" has no version in force at " +
                                                 domain::format_rfc3339(at) + ".");
  }
  return stored_version(*in_force);
}

}  // namespace neruba::services::catalog
