#include "services/settings.hpp"

#include "common/limits.hpp"
#include "json/reader.hpp"

namespace neruba::services::settings {

json::Value defaults() {
  json::Value out = json::Value::object();
  out.set("late_event_window_days", json::Value::number(limits::late_event_window_days_default));
  out.set("future_event_skew_seconds",
          json::Value::number(limits::future_event_skew_seconds_default));
  out.set("ingest_events_per_second", json::Value::number(ingest_events_per_second_default));
  out.set("ingest_burst", json::Value::number(ingest_burst_default));
  out.set("auto_create_customers", json::Value::boolean(false));
  out.set("invoice_grace_period_days", json::Value::number(std::int64_t{0}));
  return out;
}

Result<json::Value> merge(const json::Value& current, const json::Value& patch,
                          const std::string& path) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(patch, path, errors);
  json::Value merged = current;
  const auto set_integer = [&](std::string_view name, std::int64_t min, std::int64_t max) {
    if (const auto value = reader.optional_integer(name, min, max)) {
      merged.set(std::string(name), json::Value::number(*value));
    }
  };
  set_integer("late_event_window_days", 0, limits::late_event_window_days_max);
  set_integer("future_event_skew_seconds", 0, limits::future_event_skew_seconds_max);
  set_integer("ingest_events_per_second", 1, 10'000'000);
  set_integer("ingest_burst", 1, 100'000'000);
  set_integer("invoice_grace_period_days", 0, invoice_grace_period_days_max);
  if (const auto value = reader.optional_bool("auto_create_customers")) {
    merged.set("auto_create_customers", json::Value::boolean(*value));
  }
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  return merged;
}

}  // namespace neruba::services::settings
