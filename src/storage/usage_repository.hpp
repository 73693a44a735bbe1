#pragma once
// Events, meters and pre-aggregated usage. Same rules as repositories.hpp: tenant explicit in
// every call, SQL shared by both backends.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "domain/metering.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct EventRecord {
  std::string event_id;
  std::string customer_id;
  std::string event_type;
  std::int64_t occurred_at = 0;  // unix micros
  std::string properties;        // canonical JSON
  std::string content_hash;
  std::int64_t received_at = 0;
};

struct MeterRecord {
  domain::MeterDefinition definition;
  std::int64_t created_at = 0;
};

// One partial aggregate row: one meter, customer, hour and group, from one write transaction.
struct UsageDelta {
  std::string meter_id;
  std::string customer_id;
  std::int64_t bucket_start = 0;
  std::string group_key;
  domain::Aggregate aggregate;
};

struct DistinctValue {
  std::string meter_id;
  std::string customer_id;
  std::int64_t bucket_start = 0;
  std::string group_key;
  std::string value;
};

namespace events {
// content_hash of each given event_id that exists already.
std::vector<std::pair<std::string, std::string>> existing_hashes(
    Tx& tx, const TenantId& tenant, const std::vector<std::string>& event_ids);
// Inserts rows; an event_id that exists already (a concurrent writer got there first) is skipped.
// Returns the event_ids actually inserted.
std::vector<std::string> insert(Tx& tx, const TenantId& tenant,
                                const std::vector<EventRecord>& rows);
// Events of one customer and type with occurred_at in [from, to), in timestamp order.
std::vector<EventRecord> range(Tx& tx, const TenantId& tenant, const std::string& customer_id,
                               const std::string& event_type, std::int64_t from, std::int64_t to);
// Every event of a type, for backfilling a new meter; calls `visit` in pages.
void scan_type(Tx& tx, const TenantId& tenant, const std::string& event_type,
               const std::function<void(const EventRecord&)>& visit);
}  // namespace events

namespace meters {
bool insert(Tx& tx, const TenantId& tenant, const MeterRecord& meter);
std::vector<MeterRecord> list(Tx& tx, const TenantId& tenant);
// One page in code order, after `after_code`.
std::vector<MeterRecord> page(Tx& tx, const TenantId& tenant, const std::string& after_code,
                              std::size_t limit);
std::optional<MeterRecord> find_by_code(Tx& tx, const TenantId& tenant, const std::string& code);
}  // namespace meters

namespace usage {
void insert_deltas(Tx& tx, const TenantId& tenant, const std::string& batch_id,
                   const std::vector<UsageDelta>& rows);
void insert_distinct(Tx& tx, const TenantId& tenant, const std::vector<DistinctValue>& rows);
// Deltas of one meter and customer with bucket_start in [from, to).
std::vector<UsageDelta> deltas(Tx& tx, const TenantId& tenant, const std::string& meter_id,
                               const std::string& customer_id, std::int64_t from, std::int64_t to);
std::vector<DistinctValue> distinct(Tx& tx, const TenantId& tenant, const std::string& meter_id,
                                    const std::string& customer_id, std::int64_t from,
                                    std::int64_t to);
}  // namespace usage

}  // namespace neruba::storage
