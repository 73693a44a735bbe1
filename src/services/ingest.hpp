#pragma once
// Usage ingest: batch parse → validate → dedupe on (tenant_id, event_id) → append events and
// pre-aggregated usage buckets in one transaction → group commit → answer. Every event gets exactly
// one outcome; one bad event never blocks the rest.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "domain/metering.hpp"
#include "services/context.hpp"
#include "services/idempotency.hpp"
#include "storage/db.hpp"

namespace neruba::storage {
struct MeterRecord;
}  // namespace neruba::storage

namespace neruba::services {
class RateLimiter;
}  // namespace neruba::services

namespace neruba::services::ingest {

struct TenantWrites;  // what one commit writes for one tenant (ingest_pipeline.cpp)

// What an event that was not accepted became (accepted events are counted, not listed).
enum class OutcomeKind { duplicate, conflict, rejected };

// Why an event was rejected: the stable `type` of a `rejected[]` item (API.md "Usage").
enum class Rejection {
  invalid_event,        // not a JSON object
  invalid_field,        // event_id, customer, type, timestamp or properties malformed
  unknown_field,        // a member the event format does not have
  invalid_timestamp,    // not an RFC 3339 instant
  timestamp_in_future,  // beyond the tenant's future skew
  timestamp_too_old,    // older than the tenant's late-arrival window (and not stored before)
  unknown_customer,     // no such customer, and none may be created
  invalid_property,     // a property a meter reads is not a value it can read
  usage_out_of_range,   // a number beyond the exact decimal type, or a total beyond it
};
ErrorReason reason_of(Rejection rejection);

struct EventOutcome {
  OutcomeKind kind = OutcomeKind::rejected;
  std::size_t index = 0;
  std::string event_id;
  Rejection reason = Rejection::invalid_event;  // rejected only
  std::string field;                            // rejected: the field at fault, when there is one
  std::string detail;                           // rejected: for people
};

// An event that passed validation, waiting for the writer.
struct PreparedEvent {
  std::size_t index = 0;
  std::string event_id;
  std::string customer;  // external id
  std::string type;
  Instant occurred_at;
  json::Value properties;
  std::string canonical_properties;
  std::string content_hash;
};

struct IngestSettings {
  std::int64_t late_event_window_days = 35;
  std::int64_t future_event_skew_seconds = 300;
  bool auto_create_customers = false;
};

// Parses a POST /v1/events body. Whole-request problems (not JSON, no `events` array, too many
// events) are an Error; per-event problems become rejected outcomes.
struct ParsedBatch {
  std::vector<PreparedEvent> events;
  std::vector<EventOutcome> rejected;
  // Valid but older than the late-arrival window: rejected (expired_rejection) unless their
  // event_id is stored — a resend of an event stored while it was recent is the duplicate (or
  // conflict) it is, never a rejection of what was acknowledged.
  std::vector<PreparedEvent> expired;
  std::size_t size = 0;
};
Result<ParsedBatch> parse_batch(std::string_view body, const IngestSettings& settings, Instant now);
// The rejection of an expired event (ParsedBatch::expired) whose event_id is not stored.
EventOutcome expired_rejection(const PreparedEvent& event, const IngestSettings& settings);

// One event's contribution to one meter's usage bucket.
struct PlannedPart {
  std::size_t meter = 0;  // index in the meter list it was worked out against
  std::string key;        // the bucket: meter \0 customer \0 group \0 hour
  Instant hour;
  domain::Contribution contribution;  // without its distinct key: that goes to usage_distinct
  std::optional<std::string> distinct_value;
};

// The property of a meter an event cannot feed: not a number (or scalar) the meter can read, or a
// number beyond the exact decimal type.
struct UnreadableField {
  std::string field;
  bool out_of_range = false;
};

struct EventPlan {
  std::string customer_id;  // empty: not found when planned (the writer resolves or creates it)
  std::optional<UnreadableField> unreadable;  // a meter the event cannot feed
  std::vector<PlannedPart> parts;             // only when customer_id is known
};

// What the writer would otherwise work out for each event — its customer's id and what it adds
// to each meter — worked out beforehand on the request thread, beside the other requests, so that
// the one writer every batch waits for only checks it. Customers are never deleted, so an id
// found stays right; the parts hold while the tenant's meters are the ones listed here.
struct Plan {
  std::vector<MeterId> meter_ids;
  std::vector<EventPlan> events;  // by position in ParsedBatch::events
};

// The answer to a batch: how many events were accepted and were duplicates, and every conflict
// and rejection (EventOutcome, in batch order; duplicates are only counted).
struct IngestReport {
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::vector<EventOutcome> outcomes;
};

// Group commit: request threads submit jobs; one writer thread takes the queued jobs of all
// tenants (round-robin, bounded per commit) and writes them in one transaction, so concurrent
// batches share one durable commit. A job's promise is fulfilled only after that commit.
class Pipeline {
 public:
  struct Job {
    RequestContext ctx;
    IngestSettings settings;
    ParsedBatch batch;
    Plan plan;
    std::optional<IdempotencyClaim> claim;
    // The response a replay of the job's Idempotency-Key answers, stored in the job's commit.
    std::function<StoredResponse(const IngestReport&)> response_of;
    std::promise<Result<IngestReport>> done;
  };

  // A tenant's share of its in-flight budget: taken by reserve before a job is planned, kept by
  // submit until the job's commit ends. Dropped without being submitted, it gives the events back.
  class Reservation {
   public:
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&&) = delete;
    Reservation(const Reservation&) = delete;
    ~Reservation();

   private:
    friend class Pipeline;
    Reservation(Pipeline& pipeline, std::string tenant, std::size_t events)
        : pipeline_(&pipeline), tenant_(std::move(tenant)), events_(events) {}
    Pipeline* pipeline_;  // nullptr once submitted (or moved from)
    std::string tenant_;
    std::size_t events_;
  };

  // `writers` threads each take groups and write them in transactions of their own: one for
  // SQLite (one writer at a time anyway), more for PostgreSQL, whose transactions run side by side
  // (each tenant's bucket merges still take turns). Each tenant may have at most
  // `in_flight_events_max` events queued or being written.
  explicit Pipeline(storage::Db& db, std::size_t events_per_commit_max = 20'000,
                    std::size_t writers = 1,
                    std::size_t in_flight_events_max = limits::ingest_in_flight_events_max);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Plans the job's events (see Plan) from what is cached, reading only what is not; call before
  // submit.
  void plan(Job& job);
  // `events` of the tenant's in-flight budget, or nothing (and nothing taken) when they do not fit
  // beside the events it has queued, being written or reserved. Check and take are one step, so
  // concurrent requests cannot overrun the budget together.
  std::optional<Reservation> reserve(const TenantId& tenant, std::size_t events);
  // Queues the job under its reservation (of the job's tenant and size).
  std::future<Result<IngestReport>> submit(std::unique_ptr<Job> job, Reservation reservation);
  // Events queued, being written or reserved for the tenant.
  std::size_t in_flight(const TenantId& tenant) const;

  // Totals since start, for /metrics: how much of its time the writer spends writing, per event.
  struct Stats {
    // Groups taken (each written in one transaction, committed or failed), counted before any
    // of their jobs is answered.
    std::uint64_t groups = 0;
    std::uint64_t events = 0;  // events in their batches, whatever each event's outcome
    double busy_seconds = 0;   // writer time spent on them, waits for more batches excluded
    std::size_t writers = 0;   // writer threads running (ends only when the pipeline stops)
  };
  Stats stats() const;

 private:
  void writer_loop();
  // Gives back `events` of the tenant's in-flight budget; the caller holds mutex_.
  void release_locked(const std::string& tenant, std::size_t events);
  // Answers the job, its events first leaving the tenant's in-flight budget.
  void finish(Job& job, Result<IngestReport> reply);
  std::vector<std::unique_ptr<Job>> take_group();
  void write_group(std::vector<std::unique_ptr<Job>>& group);
  // tenant \0 external id → customer id, for customers one transaction created.
  using CreatedCustomers = std::unordered_map<std::string, std::string>;
  // Writes the events of the tenant's jobs that their plans admit — of each event_id only the
  // commit's first — by one COPY when the engine has it, and marks them in `copied` (by job, then
  // by position in the batch) for process_events; writes nothing when a stored id is among them.
  static void copy_planned(storage::Tx& tx, const TenantId& tenant, const TenantWrites& writes,
                           const std::vector<std::unique_ptr<Job>>& group,
                           std::vector<std::vector<bool>>& copied);
  // `copied`: the job's events copy_planned wrote already (by position; empty: none).
  void process_events(storage::Tx& tx, std::size_t job_index, Job& job, TenantWrites& writes,
                      const std::vector<bool>& copied, std::vector<EventOutcome>& outcomes,
                      CreatedCustomers& created);
  void count_fresh(storage::Tx& tx, std::map<std::string, TenantWrites>& writes,
                   std::vector<std::vector<EventOutcome>>& outcomes,
                   std::vector<std::size_t>& accepted);
  void count_one_by_one(storage::Tx& tx, const TenantId& tenant, TenantWrites& writes,
                        std::vector<std::vector<EventOutcome>>& outcomes,
                        std::vector<std::size_t>& accepted);
  // The customer's id; created (when the tenant allows it, through customers::find_or_create) only
  // if `may_create`.
  std::optional<std::string> resolve_customer(storage::Tx& tx, const Job& job,
                                              const std::string& external_id, bool may_create,
                                              CreatedCustomers& created);
  // The cached id of a stored customer (key: tenant \0 external id), or nothing.
  std::optional<std::string> cached_customer(const std::string& key);
  void cache_customer(const std::string& key, const std::string& id);

  storage::Db& db_;
  const std::size_t events_per_commit_max_;
  const std::size_t in_flight_events_max_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::map<std::string, std::deque<std::unique_ptr<Job>>> queues_;  // GUARDED_BY(mutex_), by tenant
  std::map<std::string, std::size_t> in_flight_;                    // GUARDED_BY(mutex_)
  std::string next_tenant_;            // GUARDED_BY(mutex_), round-robin
  std::size_t queued_events_ = 0;      // GUARDED_BY(mutex_)
  std::size_t last_group_events_ = 0;  // GUARDED_BY(mutex_)
  std::size_t writing_ = 0;  // GUARDED_BY(mutex_): writers between take_group and commit's end
  std::chrono::milliseconds last_commit_duration_{0};  // GUARDED_BY(mutex_)
  static constexpr std::chrono::milliseconds gather_wait_max{50};
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  Stats stats_;            // GUARDED_BY(mutex_)
  std::mutex cache_mutex_;
  std::unordered_map<std::string, std::string>
      customer_ids_;  // GUARDED_BY(cache_mutex_): tenant\0external → id
  // GUARDED_BY(cache_mutex_): tenant → its meters as a writer last read them, for plan().
  std::unordered_map<std::string, std::shared_ptr<const std::vector<storage::MeterRecord>>> meters_;
  std::vector<std::thread> writers_;
};

// POST /v1/events as a use case: the tenant's settings, the in-flight budget and the rate limit
// (backpressure before anything is queued), then the batch planned and written by the pipeline.
class Ingest {
 public:
  struct Config {
    std::size_t events_per_commit_max;
    std::size_t writers;
  };
  // The pipeline's shape for this database: SQLite one writer and large commits, PostgreSQL two.
  static Config config_for(const storage::Db& db);

  Ingest(storage::Db& db, RateLimiter& rate_limiter);

  // Every outcome of the batch, durable once answered. Errors: the body as a whole (400/413/422),
  // the tenant's budget or rate (429 with Retry-After), or the database (503/500).
  Result<IngestReport> accept(
      const RequestContext& ctx, std::string_view body,
      const std::optional<IdempotencyClaim>& claim,
      const std::function<StoredResponse(const IngestReport&)>& response_of);

  Pipeline& pipeline() { return pipeline_; }

 private:
  storage::Db& db_;
  RateLimiter& rate_limiter_;
  Pipeline pipeline_;
};

}  // namespace neruba::services::ingest
