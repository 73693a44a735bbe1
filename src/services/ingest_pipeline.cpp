// The group-commit writer of services/ingest.hpp.
#include <algorithm>
#include <chrono>
#include <deque>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "common/assert.hpp"
#include "common/limits.hpp"
#include "common/log.hpp"
#include "domain/metering.hpp"
#include "domain/time.hpp"
#include "services/customers.hpp"
#include "services/ingest.hpp"
#include "services/validation.hpp"
#include "storage/customers.hpp"
#include "storage/events.hpp"
#include "storage/idempotency.hpp"
#include "storage/locks.hpp"
#include "storage/meters.hpp"
#include "storage/tenants.hpp"
#include "storage/usage.hpp"

namespace neruba::services::ingest {

namespace {

// meter \0 customer \0 group \0 hour: one string, hashed once per lookup.
std::string bucket_key(const MeterId& meter_id, const std::string& customer_id,
                       const std::string& group_key, Instant hour_start) {
  const std::int64_t hour = domain::to_unix_micros(hour_start);
  std::string key;
  key.reserve(meter_id.str().size() + customer_id.size() + group_key.size() + 3 + sizeof hour);
  key += meter_id.str();
  key.push_back('\0');
  key += customer_id;
  key.push_back('\0');
  key += group_key;
  key.push_back('\0');
  key.append(reinterpret_cast<const char*>(&hour), sizeof hour);
  return key;
}

}  // namespace

// An event this transaction inserted: counted into its buckets at the end of the transaction.
struct Fresh {
  std::size_t job = 0;  // index in the group
  const PreparedEvent* event = nullptr;
  std::string customer_id;
  std::vector<PlannedPart> parts;
  std::vector<storage::UsageBucket*> buckets;  // of each part, in TenantWrites::buckets
};

// Everything one transaction writes for one tenant beside the events themselves.
struct TenantWrites {
  std::vector<storage::MeterRecord> meters;
  // Every bucket this transaction touches (by bucket_key()), loaded once (under
  // locks::bucket_merge), holding its new total: what was stored plus this transaction's
  // events. Written back at the end.
  std::unordered_map<std::string, storage::UsageBucket> buckets;
  std::unordered_set<std::string> distinct;  // bucket_key() \0 value
  std::vector<storage::DistinctValue> distinct_rows;
  std::vector<Fresh> fresh;       // inserted by this transaction, counted at its end
  std::vector<std::size_t> jobs;  // the tenant's jobs, by index in the group
};

namespace {

constexpr std::size_t customer_cache_max = 200'000;

// A job whose Idempotency-Key claim another request took over (its lease ran out) while it waited.
struct ClaimLost : std::runtime_error {
  ClaimLost() : std::runtime_error("an ingest job's Idempotency-Key claim was taken over") {}
};
constexpr std::size_t meters_cache_max = 10'000;  // tenants

EventOutcome outcome(OutcomeKind kind, const PreparedEvent& event) {
  return EventOutcome{kind, event.index, event.event_id, Rejection::invalid_event, "", ""};
}

EventOutcome rejected(const PreparedEvent& event, Rejection reason, std::string field,
                      std::string detail) {
  return EventOutcome{OutcomeKind::rejected, event.index,      event.event_id, reason,
                      std::move(field),      std::move(detail)};
}

// What the event adds to each of `meters` of its type, or the first meter's field that cannot read
// it (a property a sum/max/latest meter needs that is not a number, or a number out of range, …).
std::optional<UnreadableField> parts_of(const std::vector<storage::MeterRecord>& meters,
                                        const PreparedEvent& event, const std::string& customer_id,
                                        std::vector<PlannedPart>& parts) {
  parts.clear();
  for (std::size_t m = 0; m < meters.size(); ++m) {
    const auto& meter = meters[m].definition;
    auto result = domain::contribute(meter, event.type, event.properties);
    if (result.error == domain::ContributionError::field_not_numeric ||
        result.error == domain::ContributionError::field_out_of_range) {
      return UnreadableField{meter.field,
                             result.error == domain::ContributionError::field_out_of_range};
    }
    if (result.error != domain::ContributionError::none) continue;
    PlannedPart part;
    part.meter = m;
    part.hour = domain::usage_bucket_start(event.occurred_at);
    part.key = bucket_key(meter.id, customer_id, result.contribution.group_key, part.hour);
    part.distinct_value = std::move(result.contribution.distinct);
    result.contribution.distinct.reset();
    part.contribution = std::move(result.contribution);
    parts.push_back(std::move(part));
  }
  return std::nullopt;
}

// The rejection of an event a meter cannot read.
EventOutcome unreadable_rejection(const PreparedEvent& event, const UnreadableField& unreadable) {
  const std::string field = "properties." + unreadable.field;
  if (unreadable.out_of_range) {
    return rejected(event, Rejection::usage_out_of_range, field,
                    field +
                        " is beyond the exact decimal range (36 significant digits, at most "
                        "36 after the point)");
  }
  return rejected(event, Rejection::invalid_property, field,
                  field +
                      " must be a number (sum, max, latest meters) or a string, number or "
                      "boolean (unique_count meters)");
}

// The events row of an accepted event.
storage::NewEvent event_row(const PreparedEvent& e, const std::string& customer_id,
                            Instant received_at) {
  return storage::NewEvent{
      e.event_id,     customer_id, e.type, e.occurred_at, e.canonical_properties,
      e.content_hash, received_at};
}

bool same_meters(const std::vector<MeterId>& ids, const std::vector<storage::MeterRecord>& meters) {
  return std::equal(ids.begin(), ids.end(), meters.begin(), meters.end(),
                    [](const MeterId& id, const storage::MeterRecord& meter) {
                      return id == meter.definition.id;
                    });
}

// Whether a job's plan covers its events and its parts were planned with `meters` — the meters
// the writing transaction read. Then both its customer ids and its parts hold.
bool plan_holds(const Plan& plan, const ParsedBatch& batch,
                const std::vector<storage::MeterRecord>& meters) {
  return !batch.events.empty() && plan.events.size() == batch.events.size() &&
         same_meters(plan.meter_ids, meters);
}

// Gives every part of the fresh events its bucket in writes.buckets, created empty when new;
// returns the buckets created.
std::vector<storage::UsageBucket*> map_buckets(TenantWrites& writes) {
  std::vector<storage::UsageBucket*> added;
  for (auto& fresh : writes.fresh) {
    fresh.buckets.clear();
    for (const auto& part : fresh.parts) {
      auto [it, is_new] = writes.buckets.try_emplace(part.key);
      fresh.buckets.push_back(&it->second);  // map nodes stay put
      if (!is_new) continue;
      it->second.meter_id = writes.meters[part.meter].definition.id;
      it->second.customer_id = fresh.customer_id;
      it->second.bucket_start = part.hour;
      it->second.group_key = part.contribution.group_key;
      added.push_back(&it->second);
    }
  }
  return added;
}

// Adds one event to its buckets, all or nothing: the field of the meter whose total would no
// longer fit the exact decimal type, or nothing when every bucket took the event.
std::optional<std::string> count_event(TenantWrites& writes, const Fresh& fresh) {
  const PreparedEvent& event = *fresh.event;
  // One event's parts are of different meters, so of different buckets.
  for (std::size_t p = 0; p < fresh.parts.size(); ++p) {
    if (!fresh.buckets[p]->aggregate.fits(fresh.parts[p].contribution)) {
      return writes.meters[fresh.parts[p].meter].definition.field;
    }
  }
  for (std::size_t p = 0; p < fresh.parts.size(); ++p) {
    const PlannedPart& part = fresh.parts[p];
    storage::UsageBucket& bucket = *fresh.buckets[p];
    NERUBA_ASSERT_MSG(bucket.aggregate.add(part.contribution, event.occurred_at, event.event_id),
                      "an event that fits its buckets did not add to one");
    if (!part.distinct_value) continue;
    if (writes.distinct.insert(part.key + '\0' + *part.distinct_value).second) {
      writes.distinct_rows.push_back(storage::DistinctValue{bucket.meter_id, bucket.customer_id,
                                                            bucket.bucket_start, bucket.group_key,
                                                            *part.distinct_value});
    }
  }
  return std::nullopt;
}

}  // namespace

Pipeline::Pipeline(storage::Db& db, std::size_t events_per_commit_max, std::size_t writers,
                   std::size_t in_flight_events_max)
    : db_(db),
      events_per_commit_max_(events_per_commit_max),
      in_flight_events_max_(in_flight_events_max) {
  for (std::size_t i = 0; i < std::max<std::size_t>(writers, 1); ++i) {
    writers_.emplace_back([this] { writer_loop(); });
  }
}

Pipeline::~Pipeline() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& writer : writers_) writer.join();
}

Pipeline::Reservation::Reservation(Reservation&& other) noexcept
    : pipeline_(std::exchange(other.pipeline_, nullptr)),
      tenant_(std::move(other.tenant_)),
      events_(other.events_) {}

Pipeline::Reservation::~Reservation() {
  if (pipeline_ == nullptr) return;
  std::lock_guard lock(pipeline_->mutex_);
  pipeline_->release_locked(tenant_, events_);
}

std::optional<Pipeline::Reservation> Pipeline::reserve(const TenantId& tenant, std::size_t events) {
  std::lock_guard lock(mutex_);
  const auto it = in_flight_.find(tenant.str());
  const std::size_t held = it == in_flight_.end() ? 0 : it->second;
  if (held + events > in_flight_events_max_) return std::nullopt;
  in_flight_[tenant.str()] = held + events;
  return Reservation(*this, tenant.str(), events);
}

void Pipeline::release_locked(const std::string& tenant, std::size_t events) {
  const auto it = in_flight_.find(tenant);
  const std::size_t held = it == in_flight_.end() ? 0 : it->second;
  if (events > held) {
    // Reservations and submit keep the books exact, so this is a bug: say so, and never let the
    // count wrap (which would refuse the tenant's every batch) or go below zero.
    log::error(
        "ingest in-flight budget released more events than it held",
        {{"tenant", tenant}, {"held", std::to_string(held)}, {"released", std::to_string(events)}});
  }
  if (it == in_flight_.end()) return;
  it->second -= std::min(held, events);
  if (it->second == 0) in_flight_.erase(it);
}

std::future<Result<IngestReport>> Pipeline::submit(std::unique_ptr<Job> job,
                                                   Reservation reservation) {
  auto future = job->done.get_future();
  {
    std::lock_guard lock(mutex_);
    const std::string tenant = job->ctx.principal.tenant.str();
    if (reservation.pipeline_ != this || reservation.tenant_ != tenant ||
        reservation.events_ != job->batch.size) {
      throw std::logic_error("ingest job submitted under another job's reservation");
    }
    reservation.pipeline_ = nullptr;  // the events stay in flight until the job's commit ends
    queued_events_ += job->batch.size;
    queues_[tenant].push_back(std::move(job));
  }
  work_.notify_all();  // writers wait for different things (take_group)
  return future;
}

Pipeline::Stats Pipeline::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::size_t Pipeline::in_flight(const TenantId& tenant) const {
  std::lock_guard lock(mutex_);
  const auto it = in_flight_.find(tenant.str());
  return it == in_flight_.end() ? 0 : it->second;
}

// Takes queued jobs round-robin across tenants, so a tenant at saturation gets one job per turn
// and never fills a commit alone while another tenant waits.
//
// Under load (the last commit was at least half full) a commit is worth more when it is larger:
// most of its cost is the pages it dirties, shared by all its events. The clients answered by the
// last commit send their next batches a few milliseconds later, so when fewer than half a
// commit's worth of events is queued, the writer waits for them — at most a quarter of the last
// commit's duration, and never longer than `gather_wait_max`. An idle or lightly loaded pipeline
// never waits.
//
// With several writers, one that finds another writing starts a commit of its own only once half
// a commit's worth is queued, or when the other is done: the work of a commit is mostly per
// bucket and per commit, not per event, so while the database is busy anyway a few larger
// commits cost it less than many small ones. An idle writer never waits for a busy one to start.
//
// The waits let go of the lock, so another writer may take every queued job meanwhile: then this
// one waits for work again. Only a stopping, drained pipeline gives back an empty group (on which
// the writer ends).
std::vector<std::unique_ptr<Pipeline::Job>> Pipeline::take_group() {
  std::unique_lock lock(mutex_);
  const auto enough_queued = [this] {
    return stopping_ || queued_events_ * 2 >= events_per_commit_max_;
  };
  do {
    work_.wait(lock, [&] {
      return stopping_ || (!queues_.empty() && (writing_ == 0 || enough_queued()));
    });
    if (!stopping_ && last_group_events_ * 2 >= events_per_commit_max_) {
      const auto wait = std::min(last_commit_duration_ / 4, gather_wait_max);
      work_.wait_for(lock, wait, enough_queued);
    }
  } while (queues_.empty() && !stopping_);
  ++writing_;
  std::vector<std::unique_ptr<Job>> group;
  std::size_t events = 0;
  while (!queues_.empty() && events < events_per_commit_max_) {
    auto it = queues_.upper_bound(next_tenant_);
    if (it == queues_.end()) it = queues_.begin();
    next_tenant_ = it->first;
    events += it->second.front()->batch.size;
    group.push_back(std::move(it->second.front()));
    it->second.pop_front();
    if (it->second.empty()) queues_.erase(it);
  }
  queued_events_ -= events;
  last_group_events_ = events;
  // Counted when taken, so that once a job is answered its group is in the stats.
  if (!group.empty()) {
    stats_.groups += 1;
    stats_.events += events;
  }
  return group;
}

void Pipeline::writer_loop() {
  {
    std::lock_guard lock(mutex_);
    ++stats_.writers;
  }
  while (true) {
    auto group = take_group();
    if (group.empty()) {  // stopping and drained
      std::lock_guard lock(mutex_);
      --writing_;
      --stats_.writers;
      return;
    }
    const auto started = std::chrono::steady_clock::now();
    try {
      write_group(group);
    } catch (const std::exception& failure) {
      log::error("ingest commit failed",
                 {{"error", failure.what()}, {"jobs", std::to_string(group.size())}});
      // Retry each job alone, so one job's failure cannot fail its neighbours.
      for (auto& job : group) {
        if (!job) continue;
        std::vector<std::unique_ptr<Job>> single;
        single.push_back(std::move(job));
        try {
          write_group(single);
        } catch (const ClaimLost&) {
          finish(*single.front(),
                 Error::make(ErrorCode::idempotency_in_flight,
                             "This batch took longer than its Idempotency-Key lease and another "
                             "request with the key took over; nothing of this one was stored."));
        } catch (const std::exception& again) {
          const auto* storage_error = dynamic_cast<const storage::StorageError*>(&again);
          const bool unavailable =
              storage_error != nullptr &&
              (storage_error->kind() == storage::StorageError::Kind::unavailable ||
               storage_error->kind() == storage::StorageError::Kind::serialization);
          finish(*single.front(),
                 Error::make(unavailable ? ErrorCode::unavailable : ErrorCode::internal,
                             unavailable
                                 ? "The database is unavailable; nothing of this batch was stored. "
                                   "Retry."
                                 : "The batch could not be stored; nothing of it was written."));
        }
      }
    }
    const auto busy = std::chrono::steady_clock::now() - started;
    std::unique_lock lock(mutex_);
    --writing_;
    last_commit_duration_ = std::chrono::duration_cast<std::chrono::milliseconds>(busy);
    stats_.busy_seconds += std::chrono::duration<double>(busy).count();
    lock.unlock();
    work_.notify_all();  // a writer waiting for this one to finish may start
  }
}

void Pipeline::copy_planned(storage::Tx& tx, const TenantId& tenant, const TenantWrites& writes,
                            const std::vector<std::unique_ptr<Job>>& group,
                            std::vector<std::vector<bool>>& copied) {
  if (!storage::events::can_copy(tx)) return;
  // What process_events would insert without a second look: events whose plan names a customer
  // and every meter part, planned against the meters this transaction read — and only the first
  // event of each event_id in the commit (process_events lets it go first: should it be rejected
  // or need its customer created, a later one must not have gone in before it).
  std::vector<storage::NewEvent> rows;
  std::vector<std::pair<std::size_t, std::size_t>> positions;  // (job, event) of each row
  std::unordered_set<std::string_view> ids;
  for (const std::size_t j : writes.jobs) {
    const Job& job = *group[j];
    const auto& events = job.batch.events;
    const bool planned = plan_holds(job.plan, job.batch, writes.meters);
    const Instant received_at = job.ctx.now;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const PreparedEvent& e = events[i];
      if (!ids.insert(e.event_id).second || !planned) continue;
      const EventPlan& plan = job.plan.events[i];
      if (plan.customer_id.empty() || plan.unreadable) continue;
      rows.push_back(event_row(e, plan.customer_id, received_at));
      positions.emplace_back(j, i);
    }
  }
  // Few rows: each batch's own insert costs as little.
  if (rows.size() < limits::ingest_postgres_copy_events_min) return;
  // An event_id stored already leaves nothing written: each batch then goes its own way.
  if (!storage::events::copy_all(tx, tenant, rows)) return;
  for (const auto& [j, i] : positions) {
    if (copied[j].empty()) copied[j].assign(group[j]->batch.events.size(), false);
    copied[j][i] = true;
  }
}

// Gives every prepared event of a job its outcome and appends the new ones. Works in rounds: a
// round takes the first remaining copy of each event_id; a later copy of an id is then judged
// against what is stored for it (duplicate or conflict) — or, when no copy of it was stored (the
// earlier one was rejected), it competes in the next round on its own merits.
//
// A round inserts first and asks questions later: `INSERT … ON CONFLICT DO NOTHING` says which
// event_ids were new, and only the others (resends) are looked up to tell a duplicate from a
// conflict. An event that would be rejected (unknown customer, bad property) is first checked
// against what is stored, so that a resend is reported as the duplicate or conflict it is.
void Pipeline::process_events(storage::Tx& tx, std::size_t job_index, Job& job,
                              TenantWrites& writes, const std::vector<bool>& copied,
                              std::vector<EventOutcome>& outcomes, CreatedCustomers& created) {
  const TenantId& tenant = job.ctx.principal.tenant;
  const bool planned_parts = plan_holds(job.plan, job.batch, writes.meters);
  // The plan is taken, not read: should this transaction fail, a retry works everything out
  // again rather than use parts already moved out of it.
  std::vector<EventPlan> planned = std::move(job.plan.events);
  job.plan.events.clear();
  if (planned.size() != job.batch.events.size()) planned.clear();
  const auto plan_of = [&](const PreparedEvent& event) -> EventPlan* {
    if (planned.empty()) return nullptr;
    return &planned[static_cast<std::size_t>(&event - job.batch.events.data())];
  };
  // event_id → content hash now stored: views of the job's events, or of `looked_up`.
  std::unordered_map<std::string_view, std::string_view> stored;
  std::deque<std::pair<std::string, std::string>> looked_up;  // never moves its elements
  const auto judge = [&](const PreparedEvent& event, std::string_view stored_hash) {
    const bool same = stored_hash == event.content_hash;
    outcomes.push_back(outcome(same ? OutcomeKind::duplicate : OutcomeKind::conflict, event));
  };
  // Judges the event when its event_id is known to be stored; false when it is not.
  const auto judged = [&](const PreparedEvent& event) {
    const auto found = stored.find(event.event_id);
    if (found == stored.end()) return false;
    judge(event, found->second);
    return true;
  };
  const auto look_up = [&](const std::vector<const PreparedEvent*>& events) {
    std::vector<std::string> ids;
    for (const auto* event : events) {
      if (stored.count(event->event_id) == 0) ids.push_back(event->event_id);
    }
    for (auto& found : storage::events::existing_hashes(tx, tenant, ids)) {
      const auto& [id, hash] = looked_up.emplace_back(std::move(found));
      stored.emplace(id, hash);
    }
  };
  std::vector<const PreparedEvent*> remaining;
  remaining.reserve(job.batch.events.size());
  for (const auto& event : job.batch.events) remaining.push_back(&event);
  while (!remaining.empty()) {
    std::vector<const PreparedEvent*> round;
    std::vector<const PreparedEvent*> later;
    round.reserve(remaining.size());
    {
      std::unordered_set<std::string_view> taken;
      taken.reserve(remaining.size());
      for (const auto* event : remaining) {
        (taken.insert(event->event_id).second ? round : later).push_back(event);
      }
    }
    struct Pending {
      const PreparedEvent* event;
      std::string customer_id;
      std::vector<PlannedPart> parts;
    };
    std::vector<Pending> pending;
    pending.reserve(round.size());  // never reallocates: `rows` below views its customer ids
    std::vector<const PreparedEvent*> doubtful;  // would be rejected or create a customer
    // Queues the event for insertion; an event no meter can read is rejected when `final`, and
    // otherwise left for the caller to check against what is stored first.
    const auto admit = [&](const PreparedEvent& event, std::string customer_id, bool final) {
      std::vector<PlannedPart> parts;
      EventPlan* plan = planned_parts ? plan_of(event) : nullptr;
      if (plan != nullptr && plan->customer_id != customer_id) plan = nullptr;
      std::optional<UnreadableField> unreadable;
      if (plan != nullptr) {
        unreadable = plan->unreadable;
        if (!unreadable) parts = std::move(plan->parts);
      } else {
        unreadable = parts_of(writes.meters, event, customer_id, parts);
      }
      if (unreadable) {
        if (!final) return false;
        outcomes.push_back(unreadable_rejection(event, *unreadable));
        return true;
      }
      pending.push_back(Pending{&event, std::move(customer_id), std::move(parts)});
      return true;
    };
    for (const auto* event : round) {
      if (judged(*event)) continue;
      const EventPlan* plan = plan_of(*event);
      auto customer_id = plan != nullptr && !plan->customer_id.empty()
                             ? std::optional(plan->customer_id)
                             : resolve_customer(tx, job, event->customer, false, created);
      if (!customer_id || !admit(*event, std::move(*customer_id), false)) {
        doubtful.push_back(event);
      }
    }
    if (!doubtful.empty()) {
      look_up(doubtful);
      for (const auto* event : doubtful) {
        if (judged(*event)) continue;
        auto customer_id = resolve_customer(tx, job, event->customer, true, created);
        if (!customer_id) {
          outcomes.push_back(
              rejected(*event, Rejection::unknown_customer, "customer",
                       job.settings.auto_create_customers
                           ? "\"" + event->customer + "\" cannot be created: external ids are " +
                                 std::string(identifier_rule)
                           : "no customer with external_id \"" + event->customer + "\""));
          continue;
        }
        admit(*event, std::move(*customer_id), true);
      }
    }

    const auto was_copied = [&](const PreparedEvent& event) {
      return !copied.empty() && copied[static_cast<std::size_t>(&event - job.batch.events.data())];
    };
    std::vector<storage::NewEvent> rows;
    rows.reserve(pending.size());
    const Instant received_at = job.ctx.now;
    for (const auto& entry : pending) {
      const PreparedEvent& e = *entry.event;
      if (was_copied(e)) continue;
      rows.push_back(event_row(e, entry.customer_id, received_at));
    }
    const auto inserted = storage::events::insert(tx, tenant, rows);
    std::vector<const PreparedEvent*> resent;  // event_id already stored (or a concurrent insert)
    for (std::size_t i = 0, row = 0; i < pending.size(); ++i) {
      auto& entry = pending[i];
      if (!was_copied(*entry.event) && !inserted[row++]) {
        resent.push_back(entry.event);
        continue;
      }
      // Only a later copy of the event_id in this job asks.
      if (!later.empty()) stored.emplace(entry.event->event_id, entry.event->content_hash);
      writes.fresh.push_back(
          Fresh{job_index, entry.event, std::move(entry.customer_id), std::move(entry.parts)});
    }
    if (!resent.empty()) {
      look_up(resent);
      for (const auto* event : resent) judge(*event, stored.at(event->event_id));
    }
    remaining.clear();
    for (const auto* event : later) {
      if (!judged(*event)) remaining.push_back(event);
    }
  }
  // Expired events are judged against what is stored now, this job's new events included.
  if (!job.batch.expired.empty()) {
    std::vector<const PreparedEvent*> expired;
    for (const auto& event : job.batch.expired) expired.push_back(&event);
    look_up(expired);
    for (const auto* event : expired) {
      if (!judged(*event)) outcomes.push_back(expired_rejection(*event, job.settings));
    }
  }
}

// Counts each tenant's fresh events into their buckets and writes the buckets back. Runs after
// every event of the transaction is inserted, under locks::bucket_merge (taken here, in tenant
// order, so concurrent writers never wait for each other in a cycle). Usually every event fits:
// each tenant's events are summed per bucket and the sums of all tenants added to the stored
// totals in one pass, inside the upserts, without reading a bucket first. When some total would
// overflow, nothing of that pass stays, and the tenants whose sums were in it are counted event by
// event (count_one_by_one).
void Pipeline::count_fresh(storage::Tx& tx, std::map<std::string, TenantWrites>& writes,
                           std::vector<std::vector<EventOutcome>>& outcomes,
                           std::vector<std::size_t>& accepted) {
  // A tenant whose sums go into the one pass.
  struct Summed {
    TenantId tenant;
    TenantWrites* writes;
    std::vector<storage::UsageBucket> sums;
  };
  std::vector<Summed> summed;
  std::vector<std::pair<TenantId, TenantWrites*>> one_by_one;
  for (auto& entry : writes) {
    TenantWrites& tenant_writes = entry.second;  // a reference the lambda below may capture
    TenantId tenant(entry.first);
    storage::locks::bucket_merge(tx, tenant);
    map_buckets(tenant_writes);
    const bool fits =
        std::none_of(tenant_writes.fresh.begin(), tenant_writes.fresh.end(),
                     [&](const Fresh& f) { return count_event(tenant_writes, f).has_value(); });
    if (!fits) {
      one_by_one.emplace_back(std::move(tenant), &tenant_writes);
      continue;
    }
    // In key order: consecutive upserts then meet the same index and table pages (about a tenth
    // less PostgreSQL time per bucket, docs/benchmarks.md). Sorted by address, then each bucket
    // moved once: a bucket is several strings and decimals, costly to swap around in a sort.
    std::vector<storage::UsageBucket*> order;
    order.reserve(tenant_writes.buckets.size());
    for (auto& [key, bucket] : tenant_writes.buckets) order.push_back(&bucket);
    std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
      return std::tie(a->meter_id, a->customer_id, a->bucket_start, a->group_key) <
             std::tie(b->meter_id, b->customer_id, b->bucket_start, b->group_key);
    });
    std::vector<storage::UsageBucket> sums;
    sums.reserve(order.size());
    for (storage::UsageBucket* bucket : order) sums.push_back(std::move(*bucket));
    summed.push_back(Summed{std::move(tenant), &tenant_writes, std::move(sums)});
  }
  std::vector<storage::usage::TenantDeltas> deltas;
  deltas.reserve(summed.size());
  for (const Summed& s : summed) deltas.push_back(storage::usage::TenantDeltas{&s.tenant, &s.sums});
  const bool added = storage::usage::add_to_buckets(tx, deltas);
  for (Summed& s : summed) {
    if (!added) {
      one_by_one.emplace_back(std::move(s.tenant), s.writes);
      continue;
    }
    for (const auto& fresh : s.writes->fresh) ++accepted[fresh.job];  // counted, not listed
    storage::usage::insert_distinct(tx, s.tenant, s.writes->distinct_rows);
  }
  for (auto& [tenant, tenant_writes] : one_by_one) {
    count_one_by_one(tx, tenant, *tenant_writes, outcomes, accepted);
  }
}

// A tenant's fresh events counted one at a time onto the stored totals: each event that would
// take a total beyond the exact decimal type is removed again and rejected, and a copy of it
// judged a duplicate or conflict in this transaction (it could only have been judged against the
// removed row) is rejected with it.
void Pipeline::count_one_by_one(storage::Tx& tx, const TenantId& tenant, TenantWrites& writes,
                                std::vector<std::vector<EventOutcome>>& outcomes,
                                std::vector<std::size_t>& accepted) {
  writes.buckets.clear();
  writes.distinct.clear();
  writes.distinct_rows.clear();
  storage::usage::load_stored(tx, tenant, map_buckets(writes));
  std::set<std::string> overflowed;
  for (const auto& fresh : writes.fresh) {
    const PreparedEvent& event = *fresh.event;
    if (const auto field = count_event(writes, fresh)) {
      NERUBA_ASSERT_MSG(storage::events::erase(tx, tenant, event.event_id),
                        "an event this transaction inserted is not there to remove");
      outcomes[fresh.job].push_back(
          rejected(event, Rejection::usage_out_of_range, "properties." + *field,
                   "properties." + *field +
                       " would take its meter's hourly total beyond 36 significant digits"));
      overflowed.insert(event.event_id);
      continue;
    }
    ++accepted[fresh.job];  // accepted events are counted, not listed
  }
  if (!overflowed.empty()) {
    for (const std::size_t job : writes.jobs) {
      for (auto& item : outcomes[job]) {
        if ((item.kind == OutcomeKind::duplicate || item.kind == OutcomeKind::conflict) &&
            overflowed.count(item.event_id) != 0) {
          item = EventOutcome{OutcomeKind::rejected,
                              item.index,
                              item.event_id,
                              Rejection::usage_out_of_range,
                              "",
                              "an event with this event_id in the same commit would take a "
                              "meter's hourly total beyond 36 significant digits"};
        }
      }
    }
  }
  std::vector<storage::UsageBucket> buckets;
  buckets.reserve(writes.buckets.size());
  for (auto& [key, bucket] : writes.buckets) {
    // Empty: only events that were then rejected touched it.
    if (bucket.aggregate.events > 0) buckets.push_back(std::move(bucket));
  }
  storage::usage::store_buckets(tx, tenant, buckets);
  storage::usage::insert_distinct(tx, tenant, writes.distinct_rows);
}

void Pipeline::write_group(std::vector<std::unique_ptr<Job>>& group) {
  CreatedCustomers created;  // by this transaction: cached only once it commits
  auto tx = db_.begin(storage::TxMode::write);
  std::map<std::string, TenantWrites> writes;
  std::vector<std::vector<EventOutcome>> outcomes(group.size());
  std::vector<std::size_t> accepted(group.size(), 0);
  for (std::size_t j = 0; j < group.size(); ++j) {
    const TenantId& tenant = group[j]->ctx.principal.tenant;
    auto [it, first] = writes.try_emplace(tenant.str());
    if (first) {
      storage::locks::meters_shared(*tx, tenant);  // before the meters are read
      it->second.meters = storage::meters::list(*tx, tenant);
    }
    it->second.jobs.push_back(j);
  }
  std::vector<std::vector<bool>> copied(group.size());
  for (const auto& [tenant, tenant_writes] : writes) {
    copy_planned(*tx, TenantId(tenant), tenant_writes, group, copied);
  }
  // Tenant by tenant in id order (a tenant's jobs in the order they came): a writer that creates
  // customers locks their tenants' rows in the order every writer does, so two writers never wait
  // for each other in a cycle.
  for (auto& [tenant, tenant_writes] : writes) {
    for (const std::size_t j : tenant_writes.jobs) {
      Job& job = *group[j];
      outcomes[j] = job.batch.rejected;
      process_events(*tx, j, job, tenant_writes, copied[j], outcomes[j], created);
    }
  }
  // Pre-aggregated usage, in the same transaction as the events it counts.
  count_fresh(*tx, writes, outcomes, accepted);
  std::vector<IngestReport> replies(group.size());
  for (std::size_t j = 0; j < group.size(); ++j) {
    auto& items = outcomes[j];
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    IngestReport& report = replies[j];
    report.accepted = accepted[j];
    for (const auto& item : items) report.duplicates += item.kind == OutcomeKind::duplicate ? 1 : 0;
    report.outcomes = std::move(items);
    const Job& job = *group[j];
    NERUBA_ASSERT(report.accepted + report.outcomes.size() == job.batch.size);
    if (job.claim) {
      NERUBA_ASSERT_MSG(job.response_of != nullptr, "an ingest job with a claim and no response");
      if (!complete_idempotency_key(*tx, *job.claim, job.response_of(report))) {
        // Its lease ran out and another request took the key over: this job must not be
        // written. The commit fails, and each job is retried alone (writer_loop).
        throw ClaimLost();
      }
    }
  }
  tx->commit();

  // Only now, durable, do the callers hear back.
  {
    std::lock_guard lock(cache_mutex_);
    if (customer_ids_.size() + created.size() > customer_cache_max) customer_ids_.clear();
    for (auto& [key, id] : created) customer_ids_.emplace(key, std::move(id));
    if (meters_.size() + writes.size() > meters_cache_max) meters_.clear();
    for (auto& [tenant, tenant_writes] : writes) {
      meters_[tenant] = std::make_shared<const std::vector<storage::MeterRecord>>(
          std::move(tenant_writes.meters));
    }
  }
  for (std::size_t j = 0; j < group.size(); ++j) finish(*group[j], std::move(replies[j]));
}

void Pipeline::finish(Job& job, Result<IngestReport> reply) {
  {
    // First the budget, then the answer: a client that sends its next batch on the answer finds
    // this one's events no longer in flight.
    std::lock_guard lock(mutex_);
    release_locked(job.ctx.principal.tenant.str(), job.batch.size);
  }
  job.done.set_value(std::move(reply));
}

std::optional<std::string> Pipeline::cached_customer(const std::string& key) {
  std::lock_guard lock(cache_mutex_);
  if (const auto it = customer_ids_.find(key); it != customer_ids_.end()) return it->second;
  return std::nullopt;
}

void Pipeline::cache_customer(const std::string& key, const std::string& id) {
  std::lock_guard lock(cache_mutex_);
  if (customer_ids_.size() >= customer_cache_max) customer_ids_.clear();
  customer_ids_.emplace(key, id);
}

void Pipeline::plan(Job& job) {
  const TenantId& tenant = job.ctx.principal.tenant;
  // A read transaction only when something is not cached: the meters as the writer last read
  // them (a meter created since makes the writer work the batch out itself, and refreshes them),
  // customers never met before.
  std::unique_ptr<storage::Tx> tx;
  const auto read = [&]() -> storage::Tx& {
    if (!tx) tx = db_.begin(storage::TxMode::read);
    return *tx;
  };
  // The meters and every distinct customer of the batch from the caches, under one lock (many
  // request threads plan at once); what is not cached is read.
  std::unordered_map<std::string_view, std::string> customers;  // external → id ("": unknown)
  for (const auto& event : job.batch.events) customers.try_emplace(event.customer);
  std::shared_ptr<const std::vector<storage::MeterRecord>> meters;
  std::vector<std::pair<std::string_view, std::string*>> uncached;
  std::string key = tenant.str();
  key.push_back('\0');
  const std::size_t prefix = key.size();
  {
    std::lock_guard lock(cache_mutex_);
    if (const auto it = meters_.find(tenant.str()); it != meters_.end()) meters = it->second;
    for (auto& [external, id] : customers) {
      key.resize(prefix);
      key += external;
      if (const auto it = customer_ids_.find(key); it != customer_ids_.end()) {
        id = it->second;
      } else {
        uncached.emplace_back(external, &id);
      }
    }
  }
  if (!meters) {
    meters = std::make_shared<const std::vector<storage::MeterRecord>>(
        storage::meters::list(read(), tenant));
  }
  for (auto& [external, id] : uncached) {
    if (const auto customer =
            storage::customers::find_by_external_id(read(), tenant, std::string(external))) {
      *id = customer->id.str();
      key.resize(prefix);
      key += external;
      cache_customer(key, *id);
    }
  }
  job.plan.meter_ids.clear();
  for (const auto& meter : *meters) job.plan.meter_ids.push_back(meter.definition.id);
  job.plan.events.assign(job.batch.events.size(), EventPlan{});
  for (std::size_t i = 0; i < job.batch.events.size(); ++i) {
    const PreparedEvent& event = job.batch.events[i];
    EventPlan& plan = job.plan.events[i];
    const std::string& customer_id = customers.at(event.customer);
    if (customer_id.empty()) continue;
    plan.customer_id = customer_id;
    plan.unreadable = parts_of(*meters, event, plan.customer_id, plan.parts);
  }
}

// Customers never disappear, so a stored one is cached at once; one created by this transaction
// is cached only after its commit.
std::optional<std::string> Pipeline::resolve_customer(storage::Tx& tx, const Job& job,
                                                      const std::string& external_id,
                                                      bool may_create, CreatedCustomers& created) {
  const TenantId& tenant = job.ctx.principal.tenant;
  std::string key = tenant.str();
  key.push_back('\0');
  key += external_id;
  if (auto id = cached_customer(key)) return id;
  if (const auto it = created.find(key); it != created.end()) return it->second;
  if (const auto customer = storage::customers::find_by_external_id(tx, tenant, external_id)) {
    cache_customer(key, customer->id.str());
    return customer->id.str();
  }
  if (!may_create || !job.settings.auto_create_customers) return std::nullopt;
  // The one path that creates customers (POST /v1/customers takes it too): the same checks and
  // the same audit record. When a concurrent writer created the customer first, its customer is
  // the one: its events are counted under it.
  customers::NewCustomer customer;
  customer.external_id = external_id;
  customer.name = external_id;
  customer.justification = "created automatically by ingest (auto_create_customers)";
  const auto found = customers::find_or_create(tx, job.ctx, customer);
  if (!found) return std::nullopt;  // an external id POST /v1/customers would refuse
  created.emplace(key, found->id.str());
  return found->id.str();
}

}  // namespace neruba::services::ingest
