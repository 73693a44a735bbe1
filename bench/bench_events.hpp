#pragma once
// The event shape both ingest benchmark programs share: the load generator posts these events to
// the server, the ceiling program writes the rows the server would write for them straight into
// the engine. One generator, so the two measure the same rows.
//
// Two event types and three meters, as a usage-priced AI/API product would send them:
//   api_call          (~85%)  endpoint, model, region, status, latency_ms, cached, tokens
//   storage_snapshot  (~15%)  bucket, region, storage_gb
//   meter api_calls   count of api_call, grouped by region
//   meter tokens      sum of api_call.tokens (integers and decimals, JSON numbers)
//   meter storage_gb  max of storage_snapshot.storage_gb (decimal JSON numbers)
#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace neruba::bench {

// The main() of a bench tool: options parsed by `parse` (usage on stderr and 2 when they are
// wrong), then `run`; an exception is reported as "<name>: what" and exit code 1.
template <typename Options>
int tool_main(const char* name, const char* usage, int argc, char** argv,
              std::optional<Options> (*parse)(int, char**), int (*run)(const Options&)) {
  const auto options = parse(argc, argv);
  if (!options) {
    std::cerr << usage;
    return 2;
  }
  try {
    return run(*options);
  } catch (const std::exception& failure) {
    std::cerr << name << ": " << failure.what() << "\n";
    return 1;
  }
}

inline constexpr std::string_view api_call_type = "api_call";
inline constexpr std::string_view storage_type = "storage_snapshot";

struct MeterSpec {
  std::string_view code;
  std::string_view event_type;
  std::string_view aggregation;
  std::string_view field;     // empty for count
  std::string_view group_by;  // one property name, or empty
};

inline constexpr std::array<MeterSpec, 3> meters = {{
    {"api_calls", api_call_type, "count", "", "region"},
    {"tokens", api_call_type, "sum", "tokens", ""},
    {"storage_gb", storage_type, "max", "storage_gb", ""},
}};

inline constexpr std::array<std::string_view, 4> regions = {"eu-west-1", "us-east-1", "us-west-2",
                                                            "ap-south-1"};
inline constexpr std::array<std::string_view, 5> models = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet",
                                                           "llama-3-70b", "mistral-large"};
inline constexpr std::array<std::string_view, 4> endpoints = {"/v1/chat/completions", "/v1/embeddings",
                                                              "/v1/completions", "/v1/moderations"};

// splitmix64: tiny, fast, and the same sequence on every platform (std distributions are not).
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound).
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

struct GeneratedEvent {
  std::uint32_t customer = 0;      // index into the benchmark's customers
  bool is_api_call = true;         // else a storage snapshot
  std::string_view region;
  std::string tokens;              // api_call: the JSON number literal
  std::string storage_gb;          // storage_snapshot: the JSON number literal
  std::int64_t age_seconds = 0;    // how long before "now" it happened
  std::string properties;          // canonical JSON: members sorted by key, no whitespace
};

// Customers are skewed as real tenants' are: a few heavy users, a long tail. The index is
// floor(n * u^2), so the first 10% of customers send about a third of the events.
inline GeneratedEvent generate_event(Random& random, std::uint32_t customers, std::int64_t age_seconds_max) {
  GeneratedEvent event;
  const double u = random.unit();
  event.customer = static_cast<std::uint32_t>(static_cast<double>(customers) * u * u);
  if (event.customer >= customers) event.customer = customers - 1;
  event.is_api_call = random.below(100) < 85;
  event.region = regions[random.below(regions.size())];
  event.age_seconds = static_cast<std::int64_t>(random.below(static_cast<std::uint64_t>(age_seconds_max) + 1));
  char buffer[64];
  std::string& out = event.properties;
  if (event.is_api_call) {
    // Most token counts are integers; a fifth are fractional (weighted or cached-token credits).
    const std::uint64_t whole = 1 + random.below(8000);
    if (random.below(5) == 0) {
      std::snprintf(buffer, sizeof buffer, "%llu.%02llu", static_cast<unsigned long long>(whole),
                    static_cast<unsigned long long>(random.below(100)));
    } else {
      std::snprintf(buffer, sizeof buffer, "%llu", static_cast<unsigned long long>(whole));
    }
    event.tokens = buffer;
    const bool cached = random.below(4) == 0;
    const unsigned status = random.below(50) == 0 ? 429 : 200;
    const unsigned latency_ms = 20 + static_cast<unsigned>(random.below(4000));
    out = "{\"cached\":";
    out += cached ? "true" : "false";
    out += ",\"endpoint\":\"";
    out += endpoints[random.below(endpoints.size())];
    out += "\",\"latency_ms\":";
    out += std::to_string(latency_ms);
    out += ",\"model\":\"";
    out += models[random.below(models.size())];
    out += "\",\"region\":\"";
    out += event.region;
    out += "\",\"status\":";
    out += std::to_string(status);
    out += ",\"tokens\":";
    out += event.tokens;
    out += "}";
  } else {
    std::snprintf(buffer, sizeof buffer, "%llu.%03llu", static_cast<unsigned long long>(random.below(5000)),
                  static_cast<unsigned long long>(random.below(1000)));
    event.storage_gb = buffer;
    std::snprintf(buffer, sizeof buffer, "bkt-%04llu", static_cast<unsigned long long>(random.below(10000)));
    out = "{\"bucket\":\"";
    out += buffer;
    out += "\",\"region\":\"";
    out += event.region;
    out += "\",\"storage_gb\":";
    out += event.storage_gb;
    out += "}";
  }
  return event;
}

inline std::string customer_external_id(std::uint32_t index) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "bench-cus-%06u", index);
  return buffer;
}

// Event ids have a fixed width so a pre-built request body can be re-stamped in place:
// "evt_<run id>_<12 digits>".
inline constexpr std::size_t event_counter_digits = 12;
inline std::string event_id(std::string_view run_id, std::uint64_t counter) {
  char digits[event_counter_digits + 1];
  std::snprintf(digits, sizeof digits, "%012llu", static_cast<unsigned long long>(counter));
  std::string out = "evt_";
  out += run_id;
  out += '_';
  out += digits;
  return out;
}

}  // namespace neruba::bench
