// Fuzzes the POST /v1/events body parser (services::ingest::parse_batch) on untrusted bodies.
// Invariants: every event of a parsed batch gets exactly one outcome from validation (prepared,
// expired or rejected), in index order without gaps; a prepared or expired event's content hash is
// 64 hex digits; a prepared event's timestamp lies inside the settings' window, an expired one's
// before it; parsing the same body twice gives the same result.
#include <cstddef>
#include <cstdint>
#include <string>

#include "domain/time.hpp"
#include "fuzz_check.hpp"
#include "services/ingest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace neruba;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  services::ingest::IngestSettings settings;
  const Instant now = *domain::parse_rfc3339("2026-01-05T10:00:00Z");
  const auto first = services::ingest::parse_batch(body, settings, now);
  const auto second = services::ingest::parse_batch(body, settings, now);
  NERUBA_FUZZ_CHECK(first.ok() == second.ok());
  if (!first) return 0;
  const auto& batch = first.value();
  NERUBA_FUZZ_CHECK(batch.events.size() + batch.expired.size() + batch.rejected.size() ==
                    batch.size);
  NERUBA_FUZZ_CHECK(batch.events.size() == second.value().events.size());
  NERUBA_FUZZ_CHECK(batch.expired.size() == second.value().expired.size());
  std::size_t prepared = 0;
  std::size_t expired = 0;
  std::size_t rejected = 0;
  for (std::size_t index = 0; index < batch.size; ++index) {
    if (prepared < batch.events.size() && batch.events[prepared].index == index) {
      const auto& event = batch.events[prepared++];
      NERUBA_FUZZ_CHECK(event.content_hash.size() == 64);
      NERUBA_FUZZ_CHECK(!event.event_id.empty() && !event.customer.empty() && !event.type.empty());
      NERUBA_FUZZ_CHECK(event.properties.is_object());
      const auto when = event.occurred_at;
      NERUBA_FUZZ_CHECK(when <= now + std::chrono::seconds(settings.future_event_skew_seconds));
      NERUBA_FUZZ_CHECK(when >= now - std::chrono::hours(24 * settings.late_event_window_days));
    } else if (expired < batch.expired.size() && batch.expired[expired].index == index) {
      const auto& event = batch.expired[expired++];
      NERUBA_FUZZ_CHECK(event.content_hash.size() == 64);
      NERUBA_FUZZ_CHECK(event.occurred_at <
                        now - std::chrono::hours(24 * settings.late_event_window_days));
    } else {
      NERUBA_FUZZ_CHECK(rejected < batch.rejected.size() &&
                        batch.rejected[rejected].index == index);
      NERUBA_FUZZ_CHECK(!reason_of(batch.rejected[rejected].reason).slug.empty() &&
                        !batch.rejected[rejected].detail.empty());
      ++rejected;
    }
  }
  return 0;
}
