#include "http/metrics.hpp"

#include <cstdio>

namespace neruba::http {

void Metrics::record(const std::string& method, const std::string& route, int status,
                     double seconds) {
  std::lock_guard lock(mutex_);
  Series& series = series_[{method, route, status}];
  ++series.count;
  series.sum_seconds += seconds;
  for (std::size_t i = 0; i < bucket_bounds_seconds.size(); ++i) {
    if (seconds <= bucket_bounds_seconds[i]) ++series.buckets[i];
  }
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP neruba_http_requests_total HTTP requests by method, route and status.\n";
  out += "# TYPE neruba_http_requests_total counter\n";
  char buffer[64];
  const auto labels = [](const auto& key) {
    return "method=\"" + std::get<0>(key) + "\",route=\"" + std::get<1>(key) + "\",status=\"" +
           std::to_string(std::get<2>(key)) + "\"";
  };
  for (const auto& [key, series] : series_) {
    out += "neruba_http_requests_total{" + labels(key) + "} " + std::to_string(series.count) + "\n";
  }
  out += "# HELP neruba_http_request_duration_seconds HTTP request latency.\n";
  out += "# TYPE neruba_http_request_duration_seconds histogram\n";
  for (const auto& [key, series] : series_) {
    const std::string common = labels(key);
    for (std::size_t i = 0; i < bucket_bounds_seconds.size(); ++i) {
      std::snprintf(buffer, sizeof buffer, "%g", bucket_bounds_seconds[i]);
      out += "neruba_http_request_duration_seconds_bucket{" + common + ",le=\"" + buffer + "\"} " +
             std::to_string(series.buckets[i]) + "\n";
    }
    out += "neruba_http_request_duration_seconds_bucket{" + common + ",le=\"+Inf\"} " +
           std::to_string(series.count) + "\n";
    std::snprintf(buffer, sizeof buffer, "%.6f", series.sum_seconds);
    out += "neruba_http_request_duration_seconds_sum{" + common + "} " + buffer + "\n";
    out += "neruba_http_request_duration_seconds_count{" + common + "} " +
           std::to_string(series.count) + "\n";
  }
  return out;
}

std::string render_ingest(const services::ingest::Pipeline::Stats& stats) {
  std::string out;
  const auto sample = [&](const char* name, const char* type, const char* help,
                          const std::string& value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + value + "\n";
  };
  char busy[32];
  std::snprintf(busy, sizeof busy, "%.6f", stats.busy_seconds);
  sample("neruba_ingest_commits_total", "counter",
         "Group commits the ingest writers took up (each one transaction, committed or failed).",
         std::to_string(stats.groups));
  sample("neruba_ingest_events_total", "counter", "Events in the batches of those group commits.",
         std::to_string(stats.events));
  sample("neruba_ingest_writer_busy_seconds_total", "counter",
         "Time the ingest writers spent writing (not waiting for batches).", busy);
  sample("neruba_ingest_writers", "gauge", "Ingest writer threads running.",
         std::to_string(stats.writers));
  return out;
}

}  // namespace neruba::http
