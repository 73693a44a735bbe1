// The group-commit writer of services/ingest.hpp.
#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "common/crypto.hpp"
#include "common/limits.hpp"
#include "common/log.hpp"
#include "domain/metering.hpp"
#include "domain/time.hpp"
#include "services/audit_log.hpp"
#include "services/ingest.hpp"
#include "services/validation.hpp"
#include "storage/repositories.hpp"
#include "storage/usage_repository.hpp"

namespace neruba::services::ingest {

// meter, customer, hour, group
using DeltaKey = std::tuple<std::string, std::string, std::int64_t, std::string>;

// Everything one transaction writes for one tenant beside the events themselves.
struct TenantWrites {
  std::vector<storage::MeterRecord> meters;
  std::map<DeltaKey, domain::Aggregate> deltas;
  std::set<DeltaKey> distinct;  // the group field of the key holds group \0 value
  std::vector<storage::DistinctValue> distinct_rows;
};

namespace {

constexpr std::size_t customer_cache_max = 200'000;

EventOutcome outcome(OutcomeKind kind, const PreparedEvent& event) {
  return EventOutcome{kind, event.index, event.event_id, "", "", ""};
}

EventOutcome rejected(const PreparedEvent& event, std::string type, std::string field,
                      std::string detail) {
  return EventOutcome{OutcomeKind::rejected, event.index,      event.event_id,
                      std::move(type),       std::move(field), std::move(detail)};
}

// The first meter whose numeric field the event carries in a form that is not a number.
std::optional<std::string> invalid_meter_field(const std::vector<storage::MeterRecord>& meters,
                                               const PreparedEvent& event) {
  for (const auto& meter : meters) {
    const auto result = domain::contribute(meter.definition, event.type, event.properties);
    if (result.error == domain::ContributionError::field_not_numeric) return meter.definition.field;
  }
  return std::nullopt;
}

void accumulate(TenantWrites& writes, const PreparedEvent& event, const std::string& customer_id) {
  for (const auto& meter : writes.meters) {
    const auto result = domain::contribute(meter.definition, event.type, event.properties);
    if (result.error != domain::ContributionError::none) continue;
    const std::int64_t hour = domain::usage_bucket_start(event.occurred_at);
    const DeltaKey key{meter.definition.id, customer_id, hour, result.contribution.group_key};
    domain::Contribution counted = result.contribution;
    counted.text.reset();  // distinct values live in usage_distinct, not in the delta row
    if (!writes.deltas[key].add(counted, event.occurred_at, event.event_id)) {
      throw storage::StorageError(storage::StorageError::Kind::other, "usage aggregate overflow");
    }
    if (result.contribution.text) {
      const DeltaKey distinct_key{meter.definition.id, customer_id, hour,
                                  result.contribution.group_key + '\0' + *result.contribution.text};
      if (writes.distinct.insert(distinct_key).second) {
        writes.distinct_rows.push_back(storage::DistinctValue{meter.definition.id, customer_id,
                                                              hour, result.contribution.group_key,
                                                              *result.contribution.text});
      }
    }
  }
}

}  // namespace

Pipeline::Pipeline(storage::Db& db, std::size_t events_per_commit_max)
    : db_(db), events_per_commit_max_(events_per_commit_max), writer_([this] { writer_loop(); }) {}

Pipeline::~Pipeline() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  writer_.join();
}

std::future<Result<Reply>> Pipeline::submit(std::unique_ptr<Job> job) {
  auto future = job->done.get_future();
  {
    std::lock_guard lock(mutex_);
    const std::string tenant = job->ctx.principal.tenant.str();
    in_flight_[tenant] += job->batch.size;
    queues_[tenant].push_back(std::move(job));
  }
  work_.notify_one();
  return future;
}

std::size_t Pipeline::in_flight(const TenantId& tenant) const {
  std::lock_guard lock(mutex_);
  const auto it = in_flight_.find(tenant.str());
  return it == in_flight_.end() ? 0 : it->second;
}

// Takes queued jobs round-robin across tenants, so a tenant at saturation gets one job per turn
// and never fills a commit alone while another tenant waits.
std::vector<std::unique_ptr<Pipeline::Job>> Pipeline::take_group() {
  std::unique_lock lock(mutex_);
  work_.wait(lock, [this] { return stopping_ || !queues_.empty(); });
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
  return group;
}

void Pipeline::writer_loop() {
  while (true) {
    auto group = take_group();
    if (group.empty()) return;  // stopping and drained
    std::vector<std::pair<std::string, std::size_t>> sizes;
    for (const auto& job : group)
      sizes.emplace_back(job->ctx.principal.tenant.str(), job->batch.size);
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
        } catch (const std::exception& again) {
          const bool unavailable = dynamic_cast<const storage::StorageError*>(&again) != nullptr &&
                                   static_cast<const storage::StorageError&>(again).kind() !=
                                       storage::StorageError::Kind::other;
          single.front()->done.set_value(Error::make(
              unavailable ? ErrorCode::unavailable : ErrorCode::internal,
              unavailable ? "The database is unavailable; nothing of this batch was stored. Retry."
                          : "The batch could not be stored; nothing of it was written."));
        }
      }
    }
    std::lock_guard lock(mutex_);
    for (const auto& [tenant, count] : sizes) in_flight_[tenant] -= count;
    for (auto it = in_flight_.begin(); it != in_flight_.end();)
      it = it->second == 0 ? in_flight_.erase(it) : ++it;
  }
}

// Gives every prepared event of a job its outcome and appends the new ones. Works in rounds: a
// round takes the first remaining copy of each event_id; a later copy of an id is then judged
// against what is stored for it (duplicate or conflict) — or, when no copy of it was stored (the
// earlier one was rejected), it competes in the next round on its own merits.
void Pipeline::process_events(storage::Tx& tx, const Job& job, TenantWrites& writes,
                              std::vector<EventOutcome>& outcomes, std::size_t& accepted,
                              std::size_t& duplicates) {
  const TenantId& tenant = job.ctx.principal.tenant;
  std::unordered_map<std::string, std::string> stored;  // event_id → content hash now stored
  const auto judge = [&](const PreparedEvent& event, const std::string& stored_hash) {
    const bool same = stored_hash == event.content_hash;
    outcomes.push_back(outcome(same ? OutcomeKind::duplicate : OutcomeKind::conflict, event));
    duplicates += same ? 1 : 0;
  };
  std::vector<const PreparedEvent*> remaining;
  for (const auto& event : job.batch.events) remaining.push_back(&event);
  while (!remaining.empty()) {
    std::vector<const PreparedEvent*> round;
    std::vector<const PreparedEvent*> later;
    std::set<std::string> taken;
    for (const auto* event : remaining) {
      (taken.insert(event->event_id).second ? round : later).push_back(event);
    }
    // Against what is stored, including earlier jobs and rounds of this transaction.
    std::vector<std::string> ids;
    for (const auto* event : round) {
      if (stored.count(event->event_id) == 0) ids.push_back(event->event_id);
    }
    for (auto& [id, hash] : storage::events::existing_hashes(tx, tenant, ids)) {
      stored.emplace(id, hash);
    }
    std::vector<storage::EventRecord> rows;
    std::vector<std::pair<const PreparedEvent*, std::string>> pending;  // event, customer id
    for (const auto* event : round) {
      if (const auto found = stored.find(event->event_id); found != stored.end()) {
        judge(*event, found->second);
        continue;
      }
      const auto customer_id = resolve_customer(tx, job, event->customer);
      if (!customer_id) {
        outcomes.push_back(
            rejected(*event, "unknown_customer", "customer",
                     job.settings.auto_create_customers
                         ? "\"" + event->customer + "\" cannot be created: external ids are " +
                               std::string(identifier_rule)
                         : "no customer with external_id \"" + event->customer + "\""));
        continue;
      }
      if (const auto field = invalid_meter_field(writes.meters, *event)) {
        outcomes.push_back(rejected(
            *event, "invalid_property", "properties." + *field,
            "properties." + *field +
                " must be a number (sum, max, latest meters) or a string, number or boolean "
                "(unique_count meters)"));
        continue;
      }
      rows.push_back(storage::EventRecord{
          event->event_id, *customer_id, event->type, event->occurred_at,
          event->canonical_properties, event->content_hash, domain::to_unix_micros(job.ctx.now)});
      pending.emplace_back(event, *customer_id);
    }
    // Append; a row another node inserted meanwhile is judged like a stored one.
    const auto inserted_ids = storage::events::insert(tx, tenant, rows);
    const std::set<std::string> inserted(inserted_ids.begin(), inserted_ids.end());
    std::vector<std::string> raced;
    for (const auto& [event, customer_id] : pending) {
      if (inserted.count(event->event_id) != 0) {
        outcomes.push_back(outcome(OutcomeKind::accepted, *event));
        ++accepted;
        stored.emplace(event->event_id, event->content_hash);
        accumulate(writes, *event, customer_id);
      } else {
        raced.push_back(event->event_id);
      }
    }
    if (!raced.empty()) {
      for (auto& [id, hash] : storage::events::existing_hashes(tx, tenant, raced)) {
        stored.emplace(id, hash);
      }
      for (const auto& [event, customer_id] : pending) {
        if (inserted.count(event->event_id) == 0) judge(*event, stored[event->event_id]);
      }
    }
    remaining.clear();
    for (const auto* event : later) {
      if (const auto found = stored.find(event->event_id); found != stored.end()) {
        judge(*event, found->second);
      } else {
        remaining.push_back(event);
      }
    }
  }
}

void Pipeline::write_group(std::vector<std::unique_ptr<Job>>& group) {
  created_customers_.clear();  // what a failed attempt created was rolled back
  auto tx = db_.begin(storage::TxMode::write);
  const std::string batch_id = crypto::random_token(16);
  std::map<std::string, TenantWrites> writes;
  std::vector<Reply> replies(group.size());
  for (std::size_t j = 0; j < group.size(); ++j) {
    Job& job = *group[j];
    const TenantId& tenant = job.ctx.principal.tenant;
    auto [it, fresh] = writes.try_emplace(tenant.str());
    if (fresh) {
      storage::tenants::lock_shared(*tx, tenant);
      it->second.meters = storage::meters::list(*tx, tenant);
    }
    TenantWrites& tenant_writes = it->second;
    std::vector<EventOutcome> outcomes = job.batch.rejected;
    std::size_t accepted = 0;
    std::size_t duplicates = 0;

    process_events(*tx, job, tenant_writes, outcomes, accepted, duplicates);
    std::sort(outcomes.begin(), outcomes.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    replies[j] = Reply{200, response_json(accepted, duplicates, outcomes)};
    if (job.claim) {
      storage::idempotency::complete(*tx, job.claim->scope, job.claim->key, 200,
                                     json::serialize(replies[j].body));
    }
  }

  // 4. Pre-aggregated usage, in the same transaction as the events it counts.
  for (auto& [tenant, tenant_writes] : writes) {
    std::vector<storage::UsageDelta> deltas;
    deltas.reserve(tenant_writes.deltas.size());
    for (auto& [key, aggregate] : tenant_writes.deltas) {
      deltas.push_back(storage::UsageDelta{std::get<0>(key), std::get<1>(key), std::get<2>(key),
                                           std::get<3>(key), std::move(aggregate)});
    }
    storage::usage::insert_deltas(*tx, TenantId(tenant), batch_id, deltas);
    storage::usage::insert_distinct(*tx, TenantId(tenant), tenant_writes.distinct_rows);
  }
  tx->commit();

  // 5. Only now, durable, do the callers hear back.
  {
    std::lock_guard lock(customers_mutex_);
    if (customer_ids_.size() + created_customers_.size() > customer_cache_max)
      customer_ids_.clear();
    for (auto& [key, id] : created_customers_) customer_ids_.emplace(key, std::move(id));
    created_customers_.clear();
  }
  for (std::size_t j = 0; j < group.size(); ++j) group[j]->done.set_value(std::move(replies[j]));
}

// Customers never disappear, so a stored one is cached at once; one created by this transaction
// is cached only after its commit.
std::optional<std::string> Pipeline::resolve_customer(storage::Tx& tx, const Job& job,
                                                      const std::string& external_id) {
  const TenantId& tenant = job.ctx.principal.tenant;
  std::string key = tenant.str();
  key.push_back('\0');
  key += external_id;
  {
    std::lock_guard lock(customers_mutex_);
    if (const auto it = customer_ids_.find(key); it != customer_ids_.end()) return it->second;
  }
  if (const auto it = created_customers_.find(key); it != created_customers_.end())
    return it->second;
  if (const auto customer = storage::customers::find_by_external_id(tx, tenant, external_id)) {
    std::lock_guard lock(customers_mutex_);
    if (customer_ids_.size() >= customer_cache_max) customer_ids_.clear();
    customer_ids_.emplace(key, customer->id.str());
    return customer->id.str();
  }
  // Auto-created customers obey the rules of POST /v1/customers.
  if (!job.settings.auto_create_customers ||
      !is_valid_identifier(external_id, limits::external_id_length_max)) {
    return std::nullopt;
  }
  const auto tenant_record = storage::tenants::find(tx, tenant);
  if (!tenant_record) return std::nullopt;
  storage::CustomerRecord customer{
      tenant,
      CustomerId(std::string(id_prefix::customer) + crypto::random_token(24)),
      external_id,
      external_id,
      tenant_record->currency,
      tenant_record->timezone,
      json::Value::object(),
      job.ctx.now};
  storage::customers::insert(tx, customer);
  json::Value after = json::Value::object();
  after.set("id", json::Value::string(customer.id.str()));
  after.set("external_id", json::Value::string(external_id));
  after.set("name", json::Value::string(customer.name));
  after.set("currency", json::Value::string(customer.currency));
  after.set("timezone", json::Value::string(customer.timezone));
  audit::append(
      tx, job.ctx, tenant,
      {"customer.created", customer.id.str(), std::nullopt, std::move(after), std::nullopt,
       std::string("created automatically by ingest (auto_create_customers)")});
  created_customers_.emplace(key, customer.id.str());
  return customer.id.str();
}

}  // namespace neruba::services::ingest
