#pragma once
// Request counters and latency histograms by route and status, in Prometheus text format.
#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "services/ingest.hpp"

namespace neruba::http {

class Metrics {
 public:
  static constexpr std::array<double, 12> bucket_bounds_seconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  void record(const std::string& method, const std::string& route, int status, double seconds);
  std::string render() const;

 private:
  struct Series {
    std::uint64_t count = 0;
    double sum_seconds = 0;
    std::array<std::uint64_t, bucket_bounds_seconds.size()> buckets{};
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, Series> series_;  // GUARDED_BY(mutex_)
};

// The ingest writers' counters (services::ingest::Pipeline::stats()), in the same format.
std::string render_ingest(const services::ingest::Pipeline::Stats& stats);

}  // namespace neruba::http
