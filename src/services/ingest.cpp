#include "services/ingest.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "common/crypto.hpp"
#include "common/limits.hpp"
#include "common/log.hpp"
#include "domain/metering.hpp"
#include "domain/time.hpp"
#include "services/rate_limit.hpp"
#include "services/settings.hpp"
#include "services/validation.hpp"
#include "storage/tenants.hpp"

namespace neruba::services::ingest {
namespace {

constexpr std::size_t event_id_length_max = 255;
constexpr std::size_t event_type_length_max = 128;

EventOutcome rejection(std::size_t index, std::string event_id, Rejection reason, std::string field,
                       std::string detail) {
  return EventOutcome{OutcomeKind::rejected, index, std::move(event_id), reason, std::move(field),
                      std::move(detail)};
}

const json::Value* string_member(const json::Value& event, std::string_view name,
                                 std::size_t max_length, std::string& problem) {
  const json::Value* value = event.find(name);
  if (value == nullptr || value->is_null()) {
    problem = "is required";
  } else if (!value->is_string()) {
    problem = "must be a string";
  } else if (value->text().empty() || value->text().size() > max_length) {
    problem = "must be 1 to " + std::to_string(max_length) + " bytes";
  } else if (has_control_characters(value->text())) {
    problem = "must not contain control characters";
  } else {
    return value;
  }
  return nullptr;
}

// The SHA-256 that decides duplicate (same) versus conflict (different) for a resent event_id:
// of the canonical JSON (json::serialize_canonical: members in key order, no whitespace) of
// {"customer", "properties", "timestamp" (unix micros), "type"}. Stored with every event, so it
// must never change; written here directly, around the already canonical properties.
std::string content_hash(const PreparedEvent& event) {
  std::string content;
  content.reserve(event.canonical_properties.size() + event.customer.size() + event.type.size() +
                  80);
  content += R"({"customer":)";
  json::append_quoted(content, event.customer);
  content += R"(,"properties":)";
  content += event.canonical_properties;
  content += R"(,"timestamp":)";
  content += std::to_string(domain::to_unix_micros(event.occurred_at));
  content += R"(,"type":)";
  json::append_quoted(content, event.type);
  content += '}';
  return crypto::sha256_hex(content);
}

// Validates one event; returns the prepared event or its rejection. Takes the event's properties
// out of the parsed body (a batch in flight holds one copy of them, not two). An event older than
// the late-arrival window is prepared all the same, and `expired` set.
std::variant<PreparedEvent, EventOutcome> prepare(json::Value& event, std::size_t index,
                                                  const IngestSettings& settings, Instant now,
                                                  bool& expired) {
  if (!event.is_object())
    return rejection(index, "", Rejection::invalid_event, "", "an event must be a JSON object");
  std::string problem;
  const json::Value* id = string_member(event, "event_id", event_id_length_max, problem);
  if (id == nullptr)
    return rejection(index, "", Rejection::invalid_field, "event_id", "event_id " + problem);
  const std::string& event_id = id->text();  // until its text is moved into the prepared event
  for (const auto& member : event.members()) {
    if (member.key != "event_id" && member.key != "customer" && member.key != "type" &&
        member.key != "timestamp" && member.key != "properties") {
      return rejection(index, event_id, Rejection::unknown_field, member.key,
                       member.key + " is not a recognised field");
    }
  }
  const json::Value* customer =
      string_member(event, "customer", limits::external_id_length_max, problem);
  if (customer == nullptr)
    return rejection(index, event_id, Rejection::invalid_field, "customer", "customer " + problem);
  const json::Value* type = string_member(event, "type", event_type_length_max, problem);
  if (type == nullptr)
    return rejection(index, event_id, Rejection::invalid_field, "type", "type " + problem);
  const json::Value* timestamp = string_member(event, "timestamp", 64, problem);
  if (timestamp == nullptr)
    return rejection(index, event_id, Rejection::invalid_field, "timestamp",
                     "timestamp " + problem);
  const auto occurred = domain::parse_rfc3339(timestamp->text());
  if (!occurred) {
    return rejection(index, event_id, Rejection::invalid_timestamp, "timestamp",
                     "timestamp must be an RFC 3339 instant such as 2026-01-05T10:00:00Z");
  }
  if (*occurred > now + std::chrono::seconds(settings.future_event_skew_seconds)) {
    return rejection(index, event_id, Rejection::timestamp_in_future, "timestamp",
                     "timestamp is more than " +
                         std::to_string(settings.future_event_skew_seconds) +
                         " seconds in the future");
  }
  expired = *occurred < now - std::chrono::hours(24 * settings.late_event_window_days);
  const json::Value* properties = event.find("properties");
  if (properties != nullptr && !properties->is_null() && !properties->is_object()) {
    return rejection(index, event_id, Rejection::invalid_field, "properties",
                     "properties must be a JSON object");
  }
  PreparedEvent prepared;
  prepared.index = index;
  prepared.occurred_at = *occurred;
  // Valid: the texts and properties move out of the parsed body, which is dropped after this.
  for (auto& member : event.members()) {
    if (member.key == "event_id") {
      prepared.event_id = member.value.take_text();
    } else if (member.key == "customer") {
      prepared.customer = member.value.take_text();
    } else if (member.key == "type") {
      prepared.type = member.value.take_text();
    } else if (member.key == "properties" && member.value.is_object()) {
      prepared.properties = std::move(member.value);
    }
  }
  if (!prepared.properties.is_object()) prepared.properties = json::Value::object();
  prepared.canonical_properties = json::serialize_canonical(prepared.properties);
  prepared.content_hash = content_hash(prepared);
  return prepared;
}

}  // namespace

Result<ParsedBatch> parse_batch(std::string_view body, const IngestSettings& settings,
                                Instant now) {
  auto parsed = json::parse(body);
  if (!parsed) return parsed.take_error();
  if (!parsed->is_object()) {
    return Error::make(ErrorCode::malformed_request, "The request body must be a JSON object.");
  }
  for (const auto& member : parsed->members()) {
    if (member.key != "events") {
      return Error::invalid(
          {FieldError{member.key, "unknown_field", "is not a recognised field", {}}});
    }
  }
  json::Value* events = nullptr;
  for (auto& member : parsed->members()) {
    if (member.key == "events") events = &member.value;
  }
  if (events == nullptr || !events->is_array()) {
    return Error::invalid({FieldError{"events",
                                      events == nullptr ? "required" : "invalid_type",
                                      "must be an array of events",
                                      {}}});
  }
  if (events->items().empty()) {
    return Error::invalid(
        {FieldError{"events", "invalid_value", "must hold at least one event", {}}});
  }
  if (events->items().size() > limits::events_per_batch_max) {
    return Error::make(
        ErrorCode::payload_too_large,
        "A batch holds at most " + std::to_string(limits::events_per_batch_max) + " events.");
  }
  ParsedBatch batch;
  batch.size = events->items().size();
  batch.events.reserve(batch.size);
  for (std::size_t i = 0; i < batch.size; ++i) {
    bool expired = false;
    auto outcome = prepare(events->items()[i], i, settings, now, expired);
    if (auto* event = std::get_if<PreparedEvent>(&outcome)) {
      (expired ? batch.expired : batch.events).push_back(std::move(*event));
    } else {
      batch.rejected.push_back(std::move(std::get<EventOutcome>(outcome)));
    }
  }
  return batch;
}

ErrorReason reason_of(Rejection rejection) {
  switch (rejection) {
    case Rejection::invalid_event:
      return {ErrorCode::validation_failed, "invalid_event"};
    case Rejection::invalid_field:
      return {ErrorCode::validation_failed, "invalid_field"};
    case Rejection::unknown_field:
      return {ErrorCode::validation_failed, "unknown_field"};
    case Rejection::invalid_timestamp:
      return {ErrorCode::validation_failed, "invalid_timestamp"};
    case Rejection::timestamp_in_future:
      return {ErrorCode::validation_failed, "timestamp_in_future"};
    case Rejection::timestamp_too_old:
      return {ErrorCode::validation_failed, "timestamp_too_old"};
    case Rejection::unknown_customer:
      return {ErrorCode::validation_failed, "unknown_customer"};
    case Rejection::invalid_property:
      return {ErrorCode::validation_failed, "invalid_property"};
    case Rejection::usage_out_of_range:
      return {ErrorCode::out_of_range, "usage_out_of_range"};
  }
  return {ErrorCode::internal, "internal"};
}

EventOutcome expired_rejection(const PreparedEvent& event, const IngestSettings& settings) {
  return rejection(event.index, event.event_id, Rejection::timestamp_too_old, "timestamp",
                   "timestamp is older than the late-arrival window of " +
                       std::to_string(settings.late_event_window_days) + " days");
}

Ingest::Config Ingest::config_for(const storage::Db& db) {
  if (db.dialect() == storage::Dialect::postgres) {
    return Config{limits::ingest_postgres_events_per_commit_max, limits::ingest_postgres_writers};
  }
  return Config{limits::ingest_sqlite_events_per_commit_max, 1};
}

Ingest::Ingest(storage::Db& db, RateLimiter& rate_limiter)
    : db_(db),
      rate_limiter_(rate_limiter),
      pipeline_(db, config_for(db).events_per_commit_max, config_for(db).writers) {}

namespace {

// The tenant's ingest settings and rate (one indexed row).
struct TenantIngestConfig {
  IngestSettings settings;
  std::int64_t events_per_second = 0;
  std::int64_t burst = 0;
};

Result<TenantIngestConfig> ingest_config(storage::Db& db, const TenantId& tenant_id) {
  auto tx = db.begin(storage::TxMode::read);
  const auto tenant = storage::tenants::find(*tx, tenant_id);
  if (!tenant) return Error::not_found("The tenant");
  const auto integer = [&](std::string_view name, std::int64_t fallback) {
    const json::Value* value = tenant->settings.find(name);
    return value ? value->as_int64().value_or(fallback) : fallback;
  };
  TenantIngestConfig config;
  config.settings.late_event_window_days =
      integer("late_event_window_days", limits::late_event_window_days_default);
  config.settings.future_event_skew_seconds =
      integer("future_event_skew_seconds", limits::future_event_skew_seconds_default);
  const json::Value* auto_create = tenant->settings.find("auto_create_customers");
  config.settings.auto_create_customers =
      auto_create != nullptr && auto_create->is_bool() && auto_create->as_bool();
  config.events_per_second =
      integer("ingest_events_per_second", settings::ingest_events_per_second_default);
  config.burst = integer("ingest_burst", settings::ingest_burst_default);
  return config;
}

Error rate_limited(std::string detail, int retry_after_seconds) {
  Error error = Error::make(ErrorCode::rate_limited, std::move(detail));
  error.retry_after_seconds = retry_after_seconds;
  return error;
}

}  // namespace

Result<IngestReport> Ingest::accept(
    const RequestContext& ctx, std::string_view body, const std::optional<IdempotencyClaim>& claim,
    const std::function<StoredResponse(const IngestReport&)>& response_of) {
  if (body.empty()) {
    return Error::make(ErrorCode::malformed_request, "The request needs a JSON body.");
  }
  auto config = ingest_config(db_, ctx.principal.tenant);
  if (!config) return config.take_error();
  auto batch = parse_batch(body, config->settings, ctx.now);
  if (!batch) return batch.take_error();
  const TenantId& tenant = ctx.principal.tenant;
  // Backpressure before any work is queued: the tenant's in-flight budget (taken here, given back
  // if the batch goes no further), then its own rate — so a refusal for either takes nothing.
  auto reservation = pipeline_.reserve(tenant, batch->size);
  if (!reservation) {
    return rate_limited("Too many of the tenant's events are waiting to be written.", 1);
  }
  if (const auto wait = rate_limiter_.admit(tenant, static_cast<std::int64_t>(batch->size),
                                            config->events_per_second, config->burst)) {
    return rate_limited("The tenant's ingest rate limit of " +
                            std::to_string(config->events_per_second) +
                            " events per second is exhausted; retry later.",
                        *wait);
  }
  auto job = std::make_unique<Pipeline::Job>();
  job->ctx = ctx;
  job->settings = config->settings;
  job->batch = std::move(batch).value();
  job->claim = claim;
  job->response_of = response_of;
  pipeline_.plan(*job);
  return pipeline_.submit(std::move(job), std::move(*reservation)).get();
}

}  // namespace neruba::services::ingest
