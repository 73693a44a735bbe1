// neruba_bench_ingest_load: the load generator of `bench/ingest`.
//
// Sets up a tenant (rate limits lifted), an API key, customers and three meters through the public
// API, then posts 1,000-event batches over several keep-alive connections for a bounded time and
// batch count, and reports events/s and batch latency. Every response must be 200 with every event
// accepted; 429/503 are honoured (Retry-After) and counted. Afterwards the usage read of every
// customer must add up to exactly what was accepted.
//
// Request bodies are serialized before the timed phase: a batch is a copy of one of a few
// pre-built requests with its fixed-width event ids re-stamped in place, so the generator's own
// CPU (it shares the machine with the server) stays small.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_events.hpp"
#include "common/crypto.hpp"
#include "domain/decimal.hpp"
#include "http_client.hpp"
#include "json/json.hpp"

namespace neruba::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::string admin_key;
  std::uint32_t customers = 1000;
  unsigned connections = 8;
  std::size_t batch_events = 1000;
  double duration_seconds = 40;
  std::uint64_t batches_max = 4000;
  std::uint64_t warmup_batches = 16;
  std::size_t templates = 32;
  std::int64_t age_seconds_max = 120;
  std::uint64_t seed = 42;
  bool verify = true;
  std::string summary_path;
};

constexpr const char* usage_text =
    "usage: neruba_bench_ingest_load --port PORT --admin-key KEY [options]\n"
    "  --host HOST              server address (default 127.0.0.1)\n"
    "  --customers N            customers to create and spread events over (default 1000)\n"
    "  --connections N          keep-alive connections, one thread each (default 8)\n"
    "  --batch-events N         events per POST /v1/events (default 1000)\n"
    "  --duration-seconds S     timed phase ends after S seconds... (default 40)\n"
    "  --batches-max N          ...or after N batches, whichever comes first (default 4000)\n"
    "  --warmup-batches N       untimed batches first (default 16)\n"
    "  --templates N            distinct pre-built batch bodies (default 32)\n"
    "  --seed N                 event generator seed (default 42)\n"
    "  --no-verify              skip reading usage back after the run\n"
    "  --summary FILE           also write the results as key=value lines to FILE\n";

std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no-verify") {
      options.verify = false;
      continue;
    }
    if (arg == "--help" || i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    if (arg == "--host") options.host = value;
    else if (arg == "--port") options.port = static_cast<unsigned short>(std::stoul(value));
    else if (arg == "--admin-key") options.admin_key = value;
    else if (arg == "--customers") options.customers = static_cast<std::uint32_t>(std::stoul(value));
    else if (arg == "--connections") options.connections = static_cast<unsigned>(std::stoul(value));
    else if (arg == "--batch-events") options.batch_events = std::stoul(value);
    else if (arg == "--duration-seconds") options.duration_seconds = std::stod(value);
    else if (arg == "--batches-max") options.batches_max = std::stoull(value);
    else if (arg == "--warmup-batches") options.warmup_batches = std::stoull(value);
    else if (arg == "--templates") options.templates = std::stoul(value);
    else if (arg == "--seed") options.seed = std::stoull(value);
    else if (arg == "--summary") options.summary_path = value;
    else return std::nullopt;
  }
  if (options.admin_key.empty() || options.customers == 0 || options.connections == 0 ||
      options.batch_events == 0 || options.templates == 0) {
    return std::nullopt;
  }
  return options;
}

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "ingest_load: " << message << "\n";
  std::exit(1);
}

std::string host_port(const Options& options) { return options.host + ":" + std::to_string(options.port); }

json::Value parse_json_or_fail(const HttpResponse& response, std::string_view what) {
  auto parsed = json::parse(response.body);
  if (!parsed) fail(std::string(what) + ": response is not JSON: " + response.body.substr(0, 300));
  return std::move(parsed).value();
}

std::string text_member(const json::Value& object, std::string_view key, std::string_view what) {
  const json::Value* value = object.find(key);
  if (value == nullptr || !value->is_string()) fail(std::string(what) + ": no \"" + std::string(key) + "\"");
  return value->text();
}

// One setup call; anything but the expected statuses ends the run.
json::Value call(HttpConnection& connection, const Options& options, std::string_view method,
                 std::string_view target, std::string_view bearer, const std::string& body,
                 std::initializer_list<int> expected) {
  const auto response =
      connection.round_trip(build_request(method, target, host_port(options), bearer, body));
  if (std::find(expected.begin(), expected.end(), response.status) == expected.end()) {
    fail(std::string(method) + " " + std::string(target) + " answered " + std::to_string(response.status) +
         ": " + response.body.substr(0, 500));
  }
  return response.body.empty() ? json::Value::object() : parse_json_or_fail(response, target);
}

// The ingest writer's counters from GET /metrics (absent metrics read as 0).
struct WriterCounters {
  double events = 0;
  double commits = 0;
  double busy_seconds = 0;
};

WriterCounters writer_counters(HttpConnection& connection, const Options& options) {
  const auto response = connection.round_trip(build_request("GET", "/metrics", host_port(options), "", ""));
  WriterCounters counters;
  const auto value = [&](std::string_view name) {
    const std::string prefix = "\n" + std::string(name) + " ";
    const auto at = response.body.find(prefix);
    return at == std::string::npos ? 0.0 : std::strtod(response.body.c_str() + at + prefix.size(), nullptr);
  };
  counters.events = value("neruba_ingest_events_total");
  counters.commits = value("neruba_ingest_commits_total");
  counters.busy_seconds = value("neruba_ingest_writer_busy_seconds_total");
  return counters;
}

// ---------------------------------------------------------------------------------------------
// Setup: tenant, settings, key, customers, meters.

struct Tenant {
  std::string id;
  std::string key;
};

Tenant create_tenant(const Options& options, const std::string& run_id) {
  HttpConnection connection(options.host, options.port);
  Tenant tenant;
  const auto created = call(connection, options, "POST", "/v1/tenants", options.admin_key,
                            "{\"name\":\"ingest bench " + run_id + "\",\"currency\":\"USD\",\"timezone\":\"UTC\"}",
                            {200, 201});
  tenant.id = text_member(created, "id", "POST /v1/tenants");
  // Lift the per-tenant ingest rate limit: the benchmark measures the pipeline, not the limiter.
  call(connection, options, "PATCH", "/v1/tenants/" + tenant.id, options.admin_key,
       "{\"settings\":{\"ingest_events_per_second\":10000000,\"ingest_burst\":100000000,"
       "\"late_event_window_days\":35,\"future_event_skew_seconds\":300}}",
       {200});
  const auto key = call(connection, options, "POST", "/v1/tenants/" + tenant.id + "/api-keys", options.admin_key,
                        R"({"name":"ingest bench","scopes":["ingest","read","write"]})", {200, 201});
  tenant.key = text_member(key, "key", "POST api-keys");
  return tenant;
}

// Calls `work(connection, i)` for every customer index, on up to four connections side by side.
void for_each_customer(const Options& options, const std::function<void(HttpConnection&, std::uint32_t)>& work) {
  std::atomic<std::uint32_t> next{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::min(options.connections, 4u); ++t) {
    threads.emplace_back([&] {
      HttpConnection connection(options.host, options.port);
      for (std::uint32_t i = next++; i < options.customers; i = next++) work(connection, i);
    });
  }
  for (auto& thread : threads) thread.join();
}

void create_customers(const Options& options, const Tenant& tenant) {
  for_each_customer(options, [&](HttpConnection& connection, std::uint32_t i) {
    const std::string external = customer_external_id(i);
    call(connection, options, "POST", "/v1/customers", tenant.key,
         "{\"external_id\":\"" + external + "\",\"name\":\"Bench customer " + std::to_string(i) + "\"}",
         {200, 201});
  });
}

void create_meters(const Options& options, const Tenant& tenant) {
  HttpConnection connection(options.host, options.port);
  for (const auto& meter : meters) {
    std::string body = "{\"code\":\"" + std::string(meter.code) + "\",\"event_type\":\"" +
                       std::string(meter.event_type) + "\",\"aggregation\":\"" + std::string(meter.aggregation) + "\"";
    if (!meter.field.empty()) body += ",\"field\":\"" + std::string(meter.field) + "\"";
    if (!meter.group_by.empty()) body += ",\"group_by\":[\"" + std::string(meter.group_by) + "\"]";
    body += "}";
    call(connection, options, "POST", "/v1/meters", tenant.key, body, {200, 201});
  }
}

// ---------------------------------------------------------------------------------------------
// Pre-built batches.

struct BatchTemplate {
  std::string request;                  // complete HTTP request
  std::vector<std::size_t> id_offsets;  // where each event's counter digits start
  std::uint64_t api_calls = 0;
  std::uint64_t storage_snapshots = 0;
  domain::Decimal tokens;               // sum of the batch's tokens
  std::map<std::string, domain::Decimal> storage_max;  // per customer
};

std::string rfc3339(std::time_t seconds) {
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

BatchTemplate build_template(const Options& options, const Tenant& tenant, const std::string& run_id,
                             Random& random, std::time_t now) {
  BatchTemplate batch;
  std::string body = "{\"events\":[";
  std::vector<std::size_t> body_offsets;
  const std::string id_prefix = "{\"event_id\":\"" + event_id(run_id, 0).substr(0, 4 + run_id.size() + 1);
  for (std::size_t i = 0; i < options.batch_events; ++i) {
    const auto event = generate_event(random, options.customers, options.age_seconds_max);
    if (i > 0) body += ',';
    body += id_prefix;
    body_offsets.push_back(body.size());
    body.append(event_counter_digits, '0');
    body += "\",\"customer\":\"";
    body += customer_external_id(event.customer);
    body += "\",\"type\":\"";
    body += event.is_api_call ? api_call_type : storage_type;
    body += "\",\"timestamp\":\"";
    body += rfc3339(now - event.age_seconds);
    body += "\",\"properties\":";
    body += event.properties;
    body += '}';
    if (event.is_api_call) {
      ++batch.api_calls;
      const auto sum = batch.tokens.add(*domain::Decimal::parse(event.tokens));
      batch.tokens = *sum;
    } else {
      ++batch.storage_snapshots;
      const auto value = *domain::Decimal::parse(event.storage_gb);
      auto [it, inserted] = batch.storage_max.emplace(customer_external_id(event.customer), value);
      if (!inserted && value > it->second) it->second = value;
    }
  }
  body += "]}";
  batch.request = build_request("POST", "/v1/events", host_port(options), tenant.key, body);
  const std::size_t head = batch.request.size() - body.size();
  for (const auto offset : body_offsets) batch.id_offsets.push_back(head + offset);
  return batch;
}

// Writes batch number `index`'s event counters into a copy of its template.
void stamp(std::string& request, const BatchTemplate& batch, std::uint64_t index, std::size_t batch_events) {
  std::uint64_t counter = index * batch_events;
  for (const auto offset : batch.id_offsets) {
    std::uint64_t value = counter++;
    for (std::size_t d = event_counter_digits; d-- > 0;) {
      request[offset + d] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The load.

struct Totals {
  std::uint64_t batches = 0;
  std::uint64_t accepted = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t conflicts = 0;
  std::uint64_t rejected = 0;
  std::uint64_t retries_429 = 0;
  std::uint64_t retries_503 = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t api_calls = 0;          // accepted, for the usage check
  std::uint64_t storage_snapshots = 0;  // accepted
  domain::Decimal tokens;
  std::map<std::string, domain::Decimal> storage_max;
  std::vector<double> latencies_ms;
  std::string first_problem;

  void merge(const Totals& other) {
    batches += other.batches;
    accepted += other.accepted;
    duplicates += other.duplicates;
    conflicts += other.conflicts;
    rejected += other.rejected;
    retries_429 += other.retries_429;
    retries_503 += other.retries_503;
    reconnects += other.reconnects;
    api_calls += other.api_calls;
    storage_snapshots += other.storage_snapshots;
    tokens = *tokens.add(other.tokens);
    for (const auto& [customer, value] : other.storage_max) {
      auto [it, inserted] = storage_max.emplace(customer, value);
      if (!inserted && value > it->second) it->second = value;
    }
    latencies_ms.insert(latencies_ms.end(), other.latencies_ms.begin(), other.latencies_ms.end());
    if (first_problem.empty()) first_problem = other.first_problem;
  }
};

std::uint64_t count_member(const json::Value& object, std::string_view key) {
  const json::Value* value = object.find(key);
  if (value == nullptr) return 0;
  if (value->is_array()) return value->items().size();
  if (value->is_number() || value->is_string()) return std::stoull(value->text());
  return 0;
}

// Posts one batch until it gets a final answer; returns false on an error that ends the run.
bool post_batch(HttpConnection& connection, const std::string& request, const BatchTemplate& batch,
                const Options& options, Totals& totals) {
  for (int io_attempt = 0;;) {
    HttpResponse response;
    try {
      response = connection.round_trip(request);
    } catch (const std::exception& failure) {
      // A dropped connection: reconnect and resend; the event ids make the resend safe
      // (anything the first attempt committed comes back as a duplicate).
      connection.close();
      ++totals.reconnects;
      if (++io_attempt > 3) {
        totals.first_problem = std::string("connection failed: ") + failure.what();
        return false;
      }
      continue;
    }
    if (response.status == 429 || response.status == 503) {
      ++(response.status == 429 ? totals.retries_429 : totals.retries_503);
      std::this_thread::sleep_for(std::chrono::seconds(response.retry_after_seconds.value_or(1)));
      continue;
    }
    if (response.status != 200) {
      totals.first_problem = "POST /v1/events answered " + std::to_string(response.status) + ": " +
                             response.body.substr(0, 500);
      return false;
    }
    const auto parsed = json::parse(response.body);
    if (!parsed) {
      totals.first_problem = "POST /v1/events answered non-JSON: " + response.body.substr(0, 300);
      return false;
    }
    const auto accepted = count_member(*parsed, "accepted");
    const auto rejected = count_member(*parsed, "rejected");
    ++totals.batches;
    totals.accepted += accepted;
    totals.duplicates += count_member(*parsed, "duplicates");
    totals.conflicts += count_member(*parsed, "conflicts");
    totals.rejected += rejected;
    if (rejected > 0 && totals.first_problem.empty()) {
      totals.first_problem = "events rejected: " + response.body.substr(0, 500);
    }
    if (accepted == options.batch_events) {
      totals.api_calls += batch.api_calls;
      totals.storage_snapshots += batch.storage_snapshots;
      totals.tokens = *totals.tokens.add(batch.tokens);
      for (const auto& [customer, value] : batch.storage_max) {
        auto [it, inserted] = totals.storage_max.emplace(customer, value);
        if (!inserted && value > it->second) it->second = value;
      }
    } else if (totals.first_problem.empty()) {
      totals.first_problem = "a batch of " + std::to_string(options.batch_events) + " had " +
                             std::to_string(accepted) + " accepted: " + response.body.substr(0, 500);
    }
    return true;
  }
}

struct Phase {
  double elapsed_seconds = 0;
  Totals totals;
  bool failed = false;
};

// Runs batches [first, last) over the connections until `deadline`.
Phase run_phase(std::vector<std::unique_ptr<HttpConnection>>& connections, const std::vector<BatchTemplate>& templates,
                const Options& options, std::uint64_t first, std::uint64_t last, SteadyClock::time_point deadline) {
  std::atomic<std::uint64_t> next{first};
  std::atomic<bool> stop{false};
  std::vector<Totals> per_thread(connections.size());
  std::vector<std::thread> threads;
  const auto start = SteadyClock::now();
  for (std::size_t t = 0; t < connections.size(); ++t) {
    threads.emplace_back([&, t] {
      Totals& totals = per_thread[t];
      std::string request;
      while (!stop.load(std::memory_order_relaxed) && SteadyClock::now() < deadline) {
        const std::uint64_t index = next++;
        if (index >= last) break;
        const BatchTemplate& batch = templates[index % templates.size()];
        request.assign(batch.request);
        stamp(request, batch, index, options.batch_events);
        const auto sent = SteadyClock::now();
        if (!post_batch(*connections[t], request, batch, options, totals)) {
          stop = true;
          break;
        }
        totals.latencies_ms.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - sent).count());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  Phase phase;
  phase.elapsed_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  for (const auto& totals : per_thread) phase.totals.merge(totals);
  phase.failed = stop.load();
  return phase;
}

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Nearest rank.
  auto rank = static_cast<std::size_t>(fraction * static_cast<double>(values.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

// ---------------------------------------------------------------------------------------------
// The usage read-back: every customer's meters must add up to exactly what was accepted.

struct UsageCheck {
  std::uint64_t api_calls = 0;
  std::uint64_t storage_snapshots = 0;
  domain::Decimal tokens;
  std::uint64_t storage_max_mismatches = 0;
  std::string problem;
};

UsageCheck read_usage(const Options& options, const Tenant& tenant, const Totals& expected, std::time_t now) {
  UsageCheck check;
  std::mutex mutex;
  const std::string window = "?from=" + rfc3339(now - 86400) + "&to=" + rfc3339(now + 86400);
  for_each_customer(options, [&](HttpConnection& connection, std::uint32_t i) {
    const std::string customer = customer_external_id(i);
    const auto response = connection.round_trip(build_request(
        "GET", "/v1/customers/" + customer + "/usage" + window, host_port(options), tenant.key, ""));
    std::lock_guard lock(mutex);
    if (response.status != 200) {
      if (check.problem.empty()) {
        check.problem = "GET usage answered " + std::to_string(response.status) + ": " + response.body.substr(0, 300);
      }
      return;
    }
    const auto parsed = json::parse(response.body);
    const json::Value* list = parsed ? parsed->find("meters") : nullptr;
    if (list == nullptr || !list->is_array()) {
      if (check.problem.empty()) check.problem = "GET usage: no \"meters\": " + response.body.substr(0, 300);
      return;
    }
    for (const auto& meter : list->items()) {
      const json::Value* code = meter.find("meter");
      if (code == nullptr) continue;
      const auto events = count_member(meter, "events");
      const json::Value* value = meter.find("value");
      if (code->text() == "api_calls") check.api_calls += events;
      if (code->text() == "storage_gb") {
        check.storage_snapshots += events;
        const auto it = expected.storage_max.find(customer);
        const bool want_value = it != expected.storage_max.end();
        const bool has_value = value != nullptr && !value->is_null();
        if (want_value != has_value ||
            (has_value && !(*domain::Decimal::parse(value->text()) == it->second))) {
          ++check.storage_max_mismatches;
        }
      }
      if (code->text() == "tokens" && value != nullptr && !value->is_null()) {
        const auto parsed_value = domain::Decimal::parse(value->text());
        if (parsed_value) check.tokens = *check.tokens.add(*parsed_value);
      }
    }
  });
  return check;
}

// The generator's own CPU (it shares the cores with the server), user + system.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// ---------------------------------------------------------------------------------------------

int run(const Options& options) {
  const std::string run_id = crypto::random_token(8);
  std::cout << "ingest_load: run " << run_id << " against http://" << host_port(options) << "\n";

  auto setup_start = SteadyClock::now();
  const Tenant tenant = create_tenant(options, run_id);
  create_customers(options, tenant);
  create_meters(options, tenant);
  std::cout << "ingest_load: tenant " << tenant.id << ", " << options.customers << " customers, "
            << meters.size() << " meters set up in "
            << std::chrono::duration<double>(SteadyClock::now() - setup_start).count() << " s\n";

  const std::time_t now = std::time(nullptr);
  Random random(options.seed);
  std::vector<BatchTemplate> templates;
  for (std::size_t i = 0; i < options.templates; ++i) {
    templates.push_back(build_template(options, tenant, run_id, random, now));
  }
  std::cout << "ingest_load: " << templates.size() << " batch bodies of " << options.batch_events
            << " events pre-built (" << templates.front().request.size() / 1024 << " KiB each)\n";

  std::vector<std::unique_ptr<HttpConnection>> connections;
  for (unsigned i = 0; i < options.connections; ++i) {
    connections.push_back(std::make_unique<HttpConnection>(options.host, options.port));
  }
  const auto forever = SteadyClock::now() + std::chrono::hours(1);
  Phase warmup = run_phase(connections, templates, options, 0, options.warmup_batches, forever);
  if (warmup.failed) fail(warmup.totals.first_problem);

  const auto deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                                 std::chrono::duration<double>(options.duration_seconds));
  const WriterCounters writer_before = writer_counters(*connections.front(), options);
  Phase timed = run_phase(connections, templates, options, options.warmup_batches,
                          options.warmup_batches + options.batches_max, deadline);
  const WriterCounters writer_after = writer_counters(*connections.front(), options);
  const double writer_events = writer_after.events - writer_before.events;
  const double writer_busy = writer_after.busy_seconds - writer_before.busy_seconds;
  const double writer_us_per_event = writer_events > 0 ? writer_busy * 1e6 / writer_events : 0;
  const double writer_busy_share = writer_busy / timed.elapsed_seconds;
  const double writer_commits = writer_after.commits - writer_before.commits;
  const double events_per_commit = writer_commits > 0 ? writer_events / writer_commits : 0;
  Totals all = warmup.totals;
  all.merge(timed.totals);

  const Totals& t = timed.totals;
  const double events_per_second = static_cast<double>(t.accepted) / timed.elapsed_seconds;
  const double p50 = percentile(t.latencies_ms, 0.50);
  const double p99 = percentile(t.latencies_ms, 0.99);
  const double max = t.latencies_ms.empty() ? 0 : *std::max_element(t.latencies_ms.begin(), t.latencies_ms.end());

  std::string problem = timed.failed ? t.first_problem : "";
  if (problem.empty() && (all.rejected > 0 || all.conflicts > 0)) problem = all.first_problem;
  if (problem.empty() && all.accepted + all.duplicates != all.batches * options.batch_events) {
    problem = all.first_problem.empty() ? "accepted + duplicates != events sent" : all.first_problem;
  }

  std::string usage_status = "skipped";
  if (options.verify && problem.empty()) {
    const auto check = read_usage(options, tenant, all, now);
    if (!check.problem.empty()) {
      problem = "usage read-back: " + check.problem;
      usage_status = "error";
    } else if (check.api_calls != all.api_calls || check.storage_snapshots != all.storage_snapshots ||
               !(check.tokens == all.tokens) || check.storage_max_mismatches != 0) {
      problem = "usage read-back disagrees with what was accepted: api_calls " + std::to_string(check.api_calls) +
                " (sent " + std::to_string(all.api_calls) + "), storage events " +
                std::to_string(check.storage_snapshots) + " (sent " + std::to_string(all.storage_snapshots) +
                "), tokens " + check.tokens.to_string() + " (sent " + all.tokens.to_string() + "), " +
                std::to_string(check.storage_max_mismatches) + " storage_gb max mismatches";
      usage_status = "mismatch";
    } else {
      usage_status = "ok";
    }
  }

  char line[512];
  std::snprintf(line, sizeof line,
                "ingest_load: %llu batches (%llu events accepted) in %.1f s over %u connections: "
                "%.0f events/s, batch latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                static_cast<unsigned long long>(t.batches), static_cast<unsigned long long>(t.accepted),
                timed.elapsed_seconds, options.connections, events_per_second, p50, p99, max);
  std::cout << line;
  std::snprintf(line, sizeof line,
                "ingest_load: server writer busy %.0f%% of the timed phase, %.1f us of writer time per event, "
                "%.0f events per commit\n",
                100 * writer_busy_share, writer_us_per_event, events_per_commit);
  std::cout << line;
  std::cout << "ingest_load: duplicates " << all.duplicates << ", conflicts " << all.conflicts << ", rejected "
            << all.rejected << ", 429 retries " << all.retries_429 << ", 503 retries " << all.retries_503
            << ", reconnects " << all.reconnects << "; usage read-back " << usage_status << "\n";

  if (!options.summary_path.empty()) {
    std::ofstream summary(options.summary_path);
    summary << "tenant=" << tenant.id << "\n"
            << "events_per_second=" << static_cast<long long>(events_per_second) << "\n"
            << "p50_ms=" << p50 << "\np99_ms=" << p99 << "\nmax_ms=" << max << "\n"
            << "timed_seconds=" << timed.elapsed_seconds << "\n"
            << "timed_batches=" << t.batches << "\ntimed_accepted=" << t.accepted << "\n"
            << "total_accepted=" << all.accepted << "\nduplicates=" << all.duplicates << "\n"
            << "conflicts=" << all.conflicts << "\nrejected=" << all.rejected << "\n"
            << "retries_429=" << all.retries_429 << "\nretries_503=" << all.retries_503 << "\n"
            << "connections=" << options.connections << "\nbatch_events=" << options.batch_events << "\n"
            << "usage_check=" << usage_status << "\n"
            << "writer_busy_share=" << writer_busy_share << "\n"
            << "writer_us_per_event=" << writer_us_per_event << "\n"
            << "generator_cpu_seconds=" << cpu_seconds() << "\n";
  }
  if (!problem.empty()) fail(problem);
  return 0;
}

}  // namespace
}  // namespace neruba::bench

int main(int argc, char** argv) {
  return neruba::bench::tool_main("ingest_load", neruba::bench::usage_text, argc, argv,
                                  neruba::bench::parse_options, neruba::bench::run);
}
