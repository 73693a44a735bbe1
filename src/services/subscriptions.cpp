#include "services/subscriptions.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <date/tz.h>

#include "common/assert.hpp"
#include "common/limits.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/catalog.hpp"
#include "services/usage.hpp"
#include "storage/customers.hpp"
#include "storage/events.hpp"
#include "storage/invoices.hpp"
#include "storage/meters.hpp"
#include "storage/plans.hpp"

namespace neruba::services::subscriptions {
namespace {

namespace pricing = domain::pricing;
using domain::calendar::Period;
using storage::SubscriptionPhase;
using storage::SubscriptionRecord;

constexpr std::int64_t seats_max = 1'000'000'000;

std::string text(Instant instant) { return domain::format_rfc3339(instant); }

Error subscription_not_found() { return Error::not_found("The subscription"); }

Error conflict(std::string slug, std::string field, std::string detail) {
  return Error{
      ErrorCode::conflict, detail, {FieldError{std::move(field), std::move(slug), detail, {}}}, {}};
}

// What the pricing engine reads of a subscription: its timeline and every version of its plans.
struct Priced {
  pricing::Timeline timeline;
  pricing::Catalog catalog;
  std::map<std::string, storage::MeterRecord, std::less<>> meters;  // by code: the usage reads
};

Priced priced_of(storage::Tx& tx, const TenantId& tenant, const SubscriptionRecord& record,
                 const std::string& timezone, CatalogCache* cache = nullptr) {
  Priced out;
  out.timeline.zone = date::locate_zone(timezone);
  out.timeline.start = record.start;
  out.timeline.trial_end = record.trial_end;
  out.timeline.ends_at = record.ends_at;
  for (const SubscriptionPhase& phase : record.phases) {
    out.timeline.phases.push_back(pricing::TimelinePhase{
        phase.effective_from, phase.plan_code, phase.seats, phase.billing_anchor,
        phase.proration == storage::ChangeProration::none ? pricing::ChangeProration::none
                                                          : pricing::ChangeProration::prorate});
    if (!out.catalog.plans.contains(phase.plan_code)) {
      if (cache == nullptr) {
        out.catalog.plans[phase.plan_code] = catalog::versions_of(tx, tenant, phase.plan_code);
        continue;
      }
      auto cached = cache->plans.find(phase.plan_code);
      if (cached == cache->plans.end()) {
        cached =
            cache->plans.emplace(phase.plan_code, catalog::versions_of(tx, tenant, phase.plan_code))
                .first;
      }
      out.catalog.plans[phase.plan_code] = cached->second;
    }
  }
  std::vector<storage::MeterRecord> listed;
  if (cache != nullptr && !cache->meters) cache->meters = storage::meters::list(tx, tenant);
  if (cache == nullptr) listed = storage::meters::list(tx, tenant);
  for (const auto& meter : cache != nullptr ? *cache->meters : listed) {
    out.catalog.meters.emplace(meter.definition.code, meter.definition.aggregation);
    out.meters.emplace(meter.definition.code, meter);
  }
  return out;
}

std::size_t phase_at(const SubscriptionRecord& record, Instant at) {
  pricing::Timeline timeline;
  timeline.ends_at = record.ends_at;
  for (const SubscriptionPhase& phase : record.phases) {
    timeline.phases.push_back(pricing::TimelinePhase{phase.effective_from, {}, 0, {}, {}});
  }
  return pricing::phase_index_at(timeline, at);
}

// A timeline the engine refuses is a stored defect (the writes below check each before storing).
Error engine_error(pricing::PricingError error) {
  const ErrorReason reason = reason_of(error);
  return Error::make(reason.code, "The subscription cannot be priced: " + std::string(reason.slug));
}

storage::CustomerRecord customer_of(storage::Tx& tx, const TenantId& tenant,
                                    const SubscriptionRecord& record) {
  auto customer = storage::customers::find(tx, tenant, record.customer);
  NERUBA_ASSERT_MSG(customer.has_value(), "a subscription without its customer");
  return std::move(*customer);
}

Result<Subscription> view_of(storage::Tx& tx, const RequestContext& ctx,
                             SubscriptionRecord record) {
  const auto customer = customer_of(tx, ctx.principal.tenant, record);
  Subscription out;
  out.customer = customer.external_id;
  out.current = record.phases[phase_at(record, ctx.now)];
  // Canceled before its start, a subscription ends at its start: it never runs.
  const bool ended =
      record.ends_at && (ctx.now >= *record.ends_at || *record.ends_at <= record.start);
  if (ended) {
    out.status = "canceled";
  } else if (ctx.now < record.start) {
    out.status = "scheduled";
  } else if (record.trial_end && ctx.now < *record.trial_end) {
    out.status = "trialing";
  } else {
    out.status = "active";
  }
  if (ctx.now >= record.start && !ended) {
    const Priced priced = priced_of(tx, ctx.principal.tenant, record, customer.timezone);
    auto period = pricing::billing_period_containing(priced.timeline, priced.catalog, ctx.now);
    if (!period) return engine_error(period.error());
    out.current_period = period->period;
  }
  out.record = std::move(record);
  return out;
}

// `effective` / `at`: "now", "period_end" or an instant, not in the past.
std::optional<Instant> read_when(json::ObjectReader& reader, std::string_view name,
                                 const RequestContext& ctx, bool& period_end) {
  period_end = false;
  const auto value = reader.optional_string(name, 64);
  if (!value || *value == "now") return value ? std::optional<Instant>(ctx.now) : std::nullopt;
  if (*value == "period_end") {
    period_end = true;
    return ctx.now;
  }
  const auto instant = domain::parse_rfc3339(*value);
  if (!instant) {
    reader.add_error(name, "invalid_value",
                     "must be \"now\", \"period_end\" or an RFC 3339 instant");
    return std::nullopt;
  }
  if (*instant < ctx.now) {
    reader.add_error(name, "invalid_value",
                     "must not be in the past (now is " + text(ctx.now) + ")");
    return std::nullopt;
  }
  return instant;
}

// The meters a plan prices, over all its versions.
std::set<std::string> meters_of(const std::vector<pricing::PlanVersion>& versions) {
  std::set<std::string> meters;
  for (const auto& version : versions) {
    for (const auto& charge : version.charges) {
      if (const auto* usage = std::get_if<pricing::UsageCharge>(&charge))
        meters.insert(usage->meter);
    }
  }
  return meters;
}

// No double billing: a meter the plan prices must not be priced by another subscription of the
// customer that is live at or after `from` (any version of its plans counts: a later version or a
// scheduled change could start pricing it).
Status check_meters_unique(storage::Tx& tx, const TenantId& tenant, const CustomerId& customer,
                           const std::string& except_id, const std::string& plan_code,
                           const std::vector<pricing::PlanVersion>& versions, Instant from) {
  const std::set<std::string> meters = meters_of(versions);
  if (meters.empty()) return ok_status();
  std::string after;
  for (;;) {
    auto page = storage::subscriptions::of_customer(tx, tenant, customer, after, 100);
    for (const SubscriptionRecord& other : page) {
      if (other.id == except_id || (other.ends_at && *other.ends_at <= from)) continue;
      std::set<std::string> plans;
      for (const auto& phase : other.phases) plans.insert(phase.plan_code);
      for (const std::string& code : plans) {
        for (const std::string& meter : meters_of(catalog::versions_of(tx, tenant, code))) {
          if (!meters.contains(meter)) continue;
          return conflict("meter_already_billed", "plan",
                          "Meter \"" + meter + "\" of plan \"" + plan_code +
                              "\" is already priced by subscription " + other.id + " (plan \"" +
                              code + "\") of this customer: its usage would be billed twice.");
        }
      }
    }
    if (page.size() < 100) return ok_status();
    after = page.back().id;
  }
}

// The plan named in a body: its versions, refused when missing or in another currency.
Result<std::vector<pricing::PlanVersion>> plan_for(storage::Tx& tx, const TenantId& tenant,
                                                   const std::string& code,
                                                   const storage::CustomerRecord& customer,
                                                   Instant at) {
  auto versions = catalog::versions_of(tx, tenant, code);
  if (versions.empty()) return Error::not_found("The plan \"" + code + "\"");
  if (!(versions.front().currency == customer.currency)) {
    return Error::invalid(
        {FieldError{"plan",
                    "currency_mismatch",
                    "plan \"" + code + "\" bills in " + versions.front().currency.code() +
                        "; the customer in " + customer.currency.code(),
                    {}}});
  }
  if (versions.front().effective_from > at) {
    return Error::invalid(
        {FieldError{"plan",
                    "plan_version_missing",
                    "plan \"" + code + "\" has no version in force at " + text(at) +
                        " (its first takes effect " + text(versions.front().effective_from) + ")",
                    {}}});
  }
  return versions;
}

// Whether the engine accepts the timeline: what a write checks before it stores.
Status check_timeline(storage::Tx& tx, const TenantId& tenant, const SubscriptionRecord& record,
                      const std::string& timezone, std::string_view field) {
  const Priced priced = priced_of(tx, tenant, record, timezone);
  auto period = pricing::billing_period_containing(priced.timeline, priced.catalog,
                                                   record.phases.back().effective_from);
  if (period) return ok_status();
  const std::string slug(reason_of(period.error()).slug);
  std::string detail = "the subscription's periods cannot be laid out (" + slug + ")";
  if (period.error() == pricing::PricingError::timeline_invalid) {
    detail = "must lie less than one billing interval after the start";
  }
  return Error::invalid({FieldError{std::string(field), slug, detail, {}}});
}

Result<SubscriptionRecord> locked(storage::Tx& tx, const RequestContext& ctx,
                                  const std::string& id) {
  auto record = storage::subscriptions::find_for_update(tx, ctx.principal.tenant, id);
  if (!record) return subscription_not_found();
  if (record->ends_at && *record->ends_at <= ctx.now) {
    return conflict("subscription_ended", "id",
                    "The subscription ended at " + text(*record->ends_at) + ".");
  }
  return std::move(*record);
}

// The end of the billing period holding `at` (or the start, before it).
Result<Instant> period_end_at(storage::Tx& tx, const TenantId& tenant,
                              const SubscriptionRecord& record, const std::string& timezone,
                              Instant at) {
  if (at < record.start) return record.start;
  const Priced priced = priced_of(tx, tenant, record, timezone);
  auto period = pricing::billing_period_containing(priced.timeline, priced.catalog, at);
  if (!period) return engine_error(period.error());
  return period->period.end;
}

}  // namespace

Status check_plan_version_meters(storage::Tx& tx, const TenantId& tenant,
                                 const std::string& plan_code,
                                 const std::vector<pricing::PlanVersion>& versions,
                                 Instant effective_from) {
  const auto subscribers = storage::subscriptions::on_plan(tx, tenant, plan_code, effective_from);
  // By customer id (the query's order): two versions of plans with common customers lock them in
  // one order.
  const CustomerId* locked_customer = nullptr;
  for (const auto& subscriber : subscribers) {
    if (locked_customer == nullptr || !(*locked_customer == subscriber.customer)) {
      auto customer = storage::customers::find(tx, tenant, subscriber.customer);
      NERUBA_ASSERT_MSG(customer.has_value(), "a subscription without its customer");
      (void)storage::customers::find_by_external_id_for_update(tx, tenant, customer->external_id);
      locked_customer = &subscriber.customer;
    }
    if (auto unique = check_meters_unique(tx, tenant, subscriber.customer, subscriber.subscription,
                                          plan_code, versions, effective_from);
        !unique) {
      return unique;
    }
  }
  return ok_status();
}

json::Value subscription_document(const Subscription& subscription) {
  const SubscriptionRecord& record = subscription.record;
  const auto optional_instant = [](const std::optional<Instant>& instant) {
    return instant ? json::Value::string(text(*instant)) : json::Value::null();
  };
  json::Value phases = json::Value::array();
  for (const SubscriptionPhase& phase : record.phases) {
    json::Value out = json::Value::object();
    out.set("effective_from", json::Value::string(text(phase.effective_from)));
    out.set("plan", json::Value::string(phase.plan_code));
    out.set("seats", json::Value::number(phase.seats));
    out.set("billing_anchor", json::Value::string(text(phase.billing_anchor)));
    out.set("proration",
            json::Value::string(phase.proration == storage::ChangeProration::none ? "none"
                                                                                  : "prorate"));
    phases.push_back(std::move(out));
  }
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(record.id));
  out.set("customer", json::Value::string(subscription.customer));
  out.set("plan", json::Value::string(subscription.current.plan_code));
  out.set("seats", json::Value::number(subscription.current.seats));
  out.set("status", json::Value::string(subscription.status));
  out.set("start", json::Value::string(text(record.start)));
  out.set("trial_end", optional_instant(record.trial_end));
  out.set("ends_at", optional_instant(record.ends_at));
  out.set("billing_anchor", json::Value::string(text(subscription.current.billing_anchor)));
  if (subscription.current_period) {
    json::Value period = json::Value::object();
    period.set("start", json::Value::string(text(subscription.current_period->start)));
    period.set("end", json::Value::string(text(subscription.current_period->end)));
    out.set("current_period", std::move(period));
  } else {
    out.set("current_period", json::Value::null());
  }
  out.set("phases", std::move(phases));
  out.set("created_at", json::Value::string(text(record.created_at)));
  return out;
}

Result<Subscription> create(storage::Tx& tx, const RequestContext& ctx, const json::Value& body) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto customer_id = reader.required_string("customer", limits::external_id_length_max);
  const auto plan_code = reader.required_string("plan", limits::plan_code_length_max);
  const auto read_instant = [&](std::string_view name, bool required) -> std::optional<Instant> {
    const auto value =
        required ? reader.required_string(name, 64) : reader.optional_string(name, 64);
    if (!value) return std::nullopt;
    const auto instant = domain::parse_rfc3339(*value);
    if (!instant) reader.add_error(name, "invalid_value", "must be an RFC 3339 instant");
    return instant;
  };
  const auto start = read_instant("start", true);
  const auto trial_end = read_instant("trial_end", false);
  const auto anchor = read_instant("billing_anchor", false);
  const auto seats = reader.optional_integer("seats", 0, seats_max);
  reader.reject_unknown();
  if (start && trial_end && *trial_end <= *start) {
    reader.add_error("trial_end", "invalid_value", "must be after start");
  }
  if (trial_end && anchor && *anchor != *trial_end) {
    reader.add_error("billing_anchor", "invalid_value",
                     "a trial ends at the billing anchor: leave billing_anchor out or make it "
                     "trial_end");
  }
  if (!errors.empty()) return Error::invalid(std::move(errors));

  const TenantId& tenant = ctx.principal.tenant;
  // Lock order (no double billing): the plan's row (key share: a new version of it waits, and
  // waits for this), then the customer's (the customer's subscription writes take turns, and a
  // new version of a plan they hold checks them under it).
  if (!storage::plans::find_for_key_share(tx, tenant, *plan_code)) {
    return Error::not_found("The plan \"" + *plan_code + "\"");
  }
  auto customer = storage::customers::find_by_external_id_for_update(tx, tenant, *customer_id);
  if (!customer) return Error::not_found("The customer \"" + *customer_id + "\"");
  auto versions = plan_for(tx, tenant, *plan_code, *customer, *start);
  if (!versions) return versions.take_error();
  if (auto unique =
          check_meters_unique(tx, tenant, customer->id, "", *plan_code, *versions, *start);
      !unique) {
    return unique.take_error();
  }
  SubscriptionRecord record;
  record.tenant = tenant;
  record.id = ctx.new_id(id_prefix::subscription);
  record.customer = customer->id;
  record.start = *start;
  record.trial_end = trial_end;
  record.created_at = ctx.now;
  record.phases.push_back(SubscriptionPhase{*start, *plan_code, seats.value_or(1),
                                            anchor.value_or(trial_end.value_or(*start)),
                                            storage::ChangeProration::prorate, ctx.now});
  if (auto checked = check_timeline(tx, tenant, record, customer->timezone,
                                    trial_end ? "trial_end" : "billing_anchor");
      !checked) {
    return checked.take_error();
  }
  NERUBA_ASSERT_MSG(storage::subscriptions::insert(tx, record), "a new subscription id was taken");
  auto view = view_of(tx, ctx, std::move(record));
  if (!view) return view.take_error();
  audit::append(tx, ctx, tenant,
                {"subscription.created",
                 view->record.id,
                 std::nullopt,
                 subscription_document(*view),
                 {},
                 {}});
  return view;
}

Result<Subscription> change(storage::Tx& tx, const RequestContext& ctx, const std::string& id,
                            const json::Value& body) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto plan_code = reader.optional_string("plan", limits::plan_code_length_max);
  const auto seats = reader.optional_integer("seats", 0, seats_max);
  bool at_period_end = false;
  auto effective = read_when(reader, "effective", ctx, at_period_end);
  if (reader.is_object() && reader.get("effective") == nullptr) {
    reader.add_error("effective", "required", "is required: \"now\", \"period_end\" or an instant");
  }
  const bool none = reader.optional_enum("proration", {"prorate", "none"}) == "none";
  reader.reject_unknown();
  if (reader.is_object() && !plan_code && !seats && errors.empty()) {
    reader.add_error("plan", "required", "a change names a plan, seats or both");
  }
  if (!errors.empty()) return Error::invalid(std::move(errors));

  const TenantId& tenant = ctx.principal.tenant;
  auto record = locked(tx, ctx, id);
  if (!record) return record.take_error();
  const storage::CustomerRecord customer = customer_of(tx, tenant, *record);
  Instant at = std::max(*effective, record->start);
  if (at_period_end) {
    auto end = period_end_at(tx, tenant, *record, customer.timezone, ctx.now);
    if (!end) return end.take_error();
    at = *end;
  }
  if (record->ends_at && at >= *record->ends_at) {
    return conflict("subscription_ending", "effective",
                    "The subscription ends at " + text(*record->ends_at) +
                        ", before the change would take effect.");
  }
  const SubscriptionPhase& last = record->phases.back();
  if (last.effective_from >= at) {
    return conflict(
        "change_already_scheduled", "effective",
        last.effective_from == record->start && at == record->start
            ? "The subscription starts at " + text(at) + " on plan \"" + last.plan_code +
                  "\": a change takes effect after its start."
            : "A change takes effect at " + text(last.effective_from) + ", at or after this one.");
  }
  SubscriptionPhase phase = record->phases[phase_at(*record, at)];
  const std::string code = plan_code.value_or(phase.plan_code);
  // The plan's row, then the customer's (the order create takes them in).
  if (!storage::plans::find_for_key_share(tx, tenant, code)) {
    return Error::not_found("The plan \"" + code + "\"");
  }
  (void)storage::customers::find_by_external_id_for_update(tx, tenant, customer.external_id);
  auto versions = plan_for(tx, tenant, code, customer, at);
  if (!versions) return versions.take_error();
  if (code == phase.plan_code && seats.value_or(phase.seats) == phase.seats) {
    return Error::invalid({FieldError{"plan",
                                      "nothing_changes",
                                      "the subscription is already on plan \"" + code + "\" with " +
                                          std::to_string(phase.seats) + " seats",
                                      {}}});
  }
  if (code != phase.plan_code) {
    if (auto unique = check_meters_unique(tx, tenant, customer.id, id, code, *versions, at);
        !unique) {
      return unique.take_error();
    }
  }
  const auto current_versions = catalog::versions_of(tx, tenant, phase.plan_code);
  const bool interval_changes = current_versions.front().interval != versions->front().interval;
  const Subscription before = *view_of(tx, ctx, *record);
  SubscriptionPhase next{at,
                         code,
                         seats.value_or(phase.seats),
                         interval_changes ? at : phase.billing_anchor,
                         none ? storage::ChangeProration::none : storage::ChangeProration::prorate,
                         ctx.now};
  record->phases.push_back(next);
  if (auto checked = check_timeline(tx, tenant, *record, customer.timezone, "effective");
      !checked) {
    return checked.take_error();
  }
  if (!storage::subscriptions::add_phase(tx, tenant, id, next)) {
    return conflict("change_already_scheduled", "effective",
                    "A change takes effect at " + text(at) + " already.");
  }
  auto view = view_of(tx, ctx, std::move(*record));
  if (!view) return view.take_error();
  json::Value after = subscription_document(*view);
  after.set("effective", json::Value::string(text(at)));
  audit::append(
      tx, ctx, tenant,
      {"subscription.changed", id, subscription_document(before), std::move(after), {}, {}});
  return view;
}

Result<Subscription> cancel(storage::Tx& tx, const RequestContext& ctx, const std::string& id,
                            const json::Value& body) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  bool at_period_end = false;
  auto when = read_when(reader, "at", ctx, at_period_end);
  if (reader.is_object() && reader.get("at") == nullptr) {
    reader.add_error("at", "required", "is required: \"now\", \"period_end\" or an instant");
  }
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));

  const TenantId& tenant = ctx.principal.tenant;
  auto record = locked(tx, ctx, id);
  if (!record) return record.take_error();
  if (record->ends_at) {
    return conflict(
        "subscription_ending", "at",
        "The subscription is already canceled, effective " + text(*record->ends_at) + ".");
  }
  const storage::CustomerRecord customer = customer_of(tx, tenant, *record);
  // Before its start a subscription ends at its start: it never runs.
  Instant at = std::max(*when, record->start);
  if (at_period_end) {
    auto end = period_end_at(tx, tenant, *record, customer.timezone, ctx.now);
    if (!end) return end.take_error();
    at = *end;
  }
  if (at <= record->start) {
    // Ending at its start, it never runs and bills nothing: refused once its first invoice is
    // out, whose advance fees nothing would credit then. The customer's row first, as a billing
    // run takes it, so that no run issues that invoice meanwhile.
    NERUBA_ASSERT_MSG(storage::customers::find_for_update(tx, tenant, customer.id),
                      "a subscription's customer is never deleted");
    for (const auto& invoice : storage::invoices::of_customer_between(
             tx, tenant, customer.id, record->start, record->start)) {
      if (invoice.status == storage::InvoiceStatus::void_) continue;
      const auto found = storage::invoices::find(tx, tenant, invoice.id);
      NERUBA_ASSERT_MSG(found, "an invoice listed in this transaction could not be read");
      const auto& lines = found->lines;
      if (std::none_of(lines.begin(), lines.end(),
                       [&](const auto& line) { return line.subscription == id; })) {
        continue;  // another subscription's invoice at the same instant
      }
      return conflict("subscription_billed", "at",
                      "The subscription's first invoice (" + invoice.id + ", " +
                          std::string(storage::invoice_status_name(invoice.status)) +
                          ") bills its start: cancel it at a later instant, which credits the "
                          "unused time, or void that invoice first.");
    }
  }
  const Subscription before = *view_of(tx, ctx, *record);
  NERUBA_ASSERT_MSG(storage::subscriptions::end(tx, tenant, id, at),
                    "a subscription locked for update without an end could not be ended");
  record->ends_at = at;
  auto view = view_of(tx, ctx, std::move(*record));
  if (!view) return view.take_error();
  audit::append(tx, ctx, tenant,
                {"subscription.canceled",
                 id,
                 subscription_document(before),
                 subscription_document(*view),
                 {},
                 {}});
  return view;
}

Result<Subscription> get(storage::Tx& tx, const RequestContext& ctx, const std::string& id) {
  auto record = storage::subscriptions::find(tx, ctx.principal.tenant, id);
  if (!record) return subscription_not_found();
  return view_of(tx, ctx, std::move(*record));
}

Result<Page<Subscription>> list(storage::Tx& tx, const RequestContext& ctx,
                                const std::string& customer_id, const std::string& cursor,
                                std::size_t limit) {
  auto customer = storage::customers::find_by_external_id(tx, ctx.principal.tenant, customer_id);
  if (!customer) return Error::not_found("The customer \"" + customer_id + "\"");
  auto page = page_of(storage::subscriptions::of_customer(tx, ctx.principal.tenant, customer->id,
                                                          cursor, limit + 1),
                      limit, [](const SubscriptionRecord& record) { return record.id; });
  Page<Subscription> out;
  out.next_cursor = std::move(page.next_cursor);
  for (auto& record : page.items) {
    auto view = view_of(tx, ctx, std::move(record));
    if (!view) return view.take_error();
    out.items.push_back(std::move(*view));
  }
  return out;
}

Result<pricing::WindowUsage> window_usage(storage::Tx& tx, const TenantId& tenant,
                                          const storage::MeterRecord& meter,
                                          const CustomerId& customer,
                                          const pricing::UsageWindow& window,
                                          const usage::MeterUsage& read) {
  pricing::WindowUsage out;
  const auto& usage = read;
  out.events = usage.total.events;
  const auto value = domain::meter_value(meter.definition.aggregation, usage.total);
  if (value) {
    const auto parsed = domain::Decimal::parse_plain(*value);
    if (!parsed) {
      // Usage reads stay exact beyond the decimal type (ExactSum); a price cannot be.
      return Error{ErrorCode::out_of_range,
                   "The usage of meter \"" + meter.definition.code + "\" from " +
                       text(window.window.start) + " to " + text(window.window.end) + " (" +
                       *value + ") is beyond the 36 digits a price is computed with.",
                   {FieldError{"usage", "usage_out_of_range", "beyond 36 digits", {}}},
                   {}};
    }
    out.quantity = *parsed;
  }
  if (window.event_amounts) {
    // A percentage clamped per event needs each event's amount: the one read of raw events.
    for (const auto& event :
         storage::events::range(tx, tenant, customer.str(), meter.definition.event_type,
                                window.window.start, window.window.end)) {
      auto properties = json::parse(event.properties);
      if (!properties) continue;
      const auto contribution = domain::contribute(meter.definition, event.event_type, *properties);
      if (contribution.error != domain::ContributionError::none) continue;
      if (contribution.contribution.number) {
        out.event_amounts.push_back(*contribution.contribution.number);
      }
    }
  }
  return out;
}

namespace {

// A window's usage from the usage reads (whole hours from buckets, edges from events).
Result<pricing::WindowUsage> read_window(storage::Tx& tx, const TenantId& tenant,
                                         const storage::MeterRecord& meter,
                                         const CustomerId& customer,
                                         const pricing::UsageWindow& window) {
  const auto read =
      usage::meter_usage(tx, tenant, meter, customer.str(), window.window.start, window.window.end);
  return window_usage(tx, tenant, meter, customer, window, read);
}

}  // namespace

namespace {

// The invoice at `at` with usage up to `until`, from a loaded catalog.
Result<pricing::Invoice> invoice_of(storage::Tx& tx, const TenantId& tenant,
                                    const SubscriptionRecord& record, const Priced& priced,
                                    Instant at, Instant until) {
  auto scope = pricing::invoice_scope(priced.timeline, priced.catalog, at, until);
  if (!scope) return engine_error(scope.error());
  std::vector<pricing::WindowUsage> usage;
  usage.reserve(scope->usage.size());
  for (const pricing::UsageWindow& window : scope->usage) {
    const auto meter = priced.meters.find(window.meter);
    NERUBA_ASSERT_MSG(meter != priced.meters.end(), "a plan prices a meter that does not exist");
    auto read = read_window(tx, tenant, meter->second, record.customer, window);
    if (!read) return read.take_error();
    usage.push_back(std::move(*read));
  }
  auto invoice = pricing::price_invoice(*scope, usage);
  if (!invoice) return engine_error(invoice.error());
  return std::move(*invoice);
}

}  // namespace

Result<Upcoming> upcoming(storage::Tx& tx, const RequestContext& ctx, const std::string& id) {
  const TenantId& tenant = ctx.principal.tenant;
  auto record = storage::subscriptions::find(tx, tenant, id);
  if (!record) return subscription_not_found();
  if (record->ends_at && *record->ends_at <= std::max(ctx.now, record->start)) {
    return conflict(
        "subscription_ended", "id",
        "The subscription ended at " + text(*record->ends_at) + ": it has no upcoming invoice.");
  }
  const storage::CustomerRecord customer = customer_of(tx, tenant, *record);
  const Priced priced = priced_of(tx, tenant, *record, customer.timezone);
  Instant at = record->start;
  Instant until = record->start;
  if (ctx.now >= record->start) {
    auto period = pricing::billing_period_containing(priced.timeline, priced.catalog, ctx.now);
    if (!period) return engine_error(period.error());
    at = period->period.end;
    until = ctx.now;
  }
  auto invoice = invoice_of(tx, tenant, *record, priced, at, until);
  if (!invoice) return invoice.take_error();
  return Upcoming{id, until, std::move(*invoice)};
}

Result<DueScopes> due_scopes(storage::Tx& tx, const TenantId& tenant,
                             const SubscriptionRecord& record, const std::string& timezone,
                             Instant until, const std::function<bool(Instant)>& wanted,
                             CatalogCache& cache) {
  DueScopes out;
  out.subscription = record.id;
  if (until < record.start) return out;
  auto priced = std::make_shared<Priced>(priced_of(tx, tenant, record, timezone, &cache));
  auto instants = pricing::billing_instants(priced->timeline, priced->catalog, until);
  if (!instants) return engine_error(instants.error());
  for (const Instant at : *instants) {
    if (at > until || !wanted(at)) continue;
    auto scope = pricing::invoice_scope(priced->timeline, priced->catalog, at, at);
    if (!scope) return engine_error(scope.error());
    out.scopes.push_back(std::move(*scope));
  }
  out.meters = &priced->meters;
  out.keep = std::move(priced);
  return out;
}

Result<pricing::Invoice> price_scope(const pricing::InvoiceScope& scope,
                                     std::span<const pricing::WindowUsage> usage) {
  auto invoice = pricing::price_invoice(scope, usage);
  if (!invoice) return engine_error(invoice.error());
  return std::move(*invoice);
}

}  // namespace neruba::services::subscriptions
