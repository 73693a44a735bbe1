#include "services/rate_limit.hpp"

#include <algorithm>

namespace neruba::services {

std::optional<int> RateLimiter::admit(const TenantId& tenant, std::int64_t cost,
                                      std::int64_t rate_per_second, std::int64_t burst) {
  __extension__ using Int128 = __int128;
  constexpr Int128 micro = 1'000'000;
  const Instant now = clock_.now();
  const Int128 capacity = Int128{burst} * micro;
  std::lock_guard lock(mutex_);
  Bucket& bucket = buckets_[tenant.str()];
  if (!bucket.initialised) {
    bucket.tokens_micro = capacity;
    bucket.refilled_at = now;
    bucket.initialised = true;
  }
  const std::int64_t elapsed_us = std::max<std::int64_t>(0, (now - bucket.refilled_at).count());
  // rate tokens/s × elapsed µs = tokens × 10^6: the bucket's unit.
  bucket.tokens_micro =
      std::min(capacity, bucket.tokens_micro + Int128{elapsed_us} * rate_per_second);
  bucket.refilled_at = now;
  const Int128 needed = std::min(Int128{cost} * micro, capacity);
  if (bucket.tokens_micro >= needed) {
    bucket.tokens_micro -= Int128{cost} * micro;
    return std::nullopt;
  }
  const Int128 missing = needed - bucket.tokens_micro;
  const Int128 per_second = Int128{rate_per_second} * micro;
  return static_cast<int>(std::max<Int128>(1, (missing + per_second - 1) / per_second));
}

}  // namespace neruba::services
