#pragma once
// Per-tenant token buckets (events per second, burst), in memory per node.
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/ids.hpp"

namespace neruba::services {

class RateLimiter {
 public:
  explicit RateLimiter(const Clock& clock) : clock_(clock) {}

  // Admits `cost` events when the bucket holds them (or is full, for a batch larger than the
  // burst: it then runs into debt). Otherwise nothing is taken and the answer is how many whole
  // seconds to wait.
  std::optional<int> admit(const TenantId& tenant, std::int64_t cost, std::int64_t rate_per_second,
                           std::int64_t burst);

 private:
  struct Bucket {
    __extension__ __int128 tokens_micro = 0;  // tokens × 10^6, exact
    Instant refilled_at;
    bool initialised = false;
  };
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;  // GUARDED_BY(mutex_)
};

}  // namespace neruba::services
