#pragma once
// Events, meters and pre-aggregated usage. Same rules as repositories.hpp: tenant explicit in
// every call, SQL shared by both backends.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

// An event to store: views of text the caller keeps alive for the call.
struct NewEvent {
  std::string_view event_id;
  std::string_view customer_id;
  std::string_view event_type;
  std::int64_t occurred_at = 0;  // unix micros
  std::string_view properties;   // canonical JSON
  std::string_view content_hash;
  std::int64_t received_at = 0;
};

struct MeterRecord {
  domain::MeterDefinition definition;
  std::int64_t created_at = 0;
};

// One usage bucket: the aggregate of one meter, customer, hour and group.
struct UsageBucket {
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
// Inserts rows (distinct event_ids); a row whose event_id is stored already (a resend, or a
// concurrent writer got there first) is skipped. Returns, by position, whether each row went in.
std::vector<bool> insert(Tx& tx, const TenantId& tenant, std::span<const NewEvent> rows);
// Whether copy_all() can write on this engine (PostgreSQL's COPY; SQLite has none).
bool can_copy(const Tx& tx);
// PostgreSQL: inserts every row (distinct event_ids) by one binary COPY under a savepoint, or —
// when some event_id is stored already — none, and returns false. A COPY prepares per statement
// what it then reuses across rows, so one large COPY costs less per row than several small ones.
bool copy_all(Tx& tx, const TenantId& tenant, std::span<const NewEvent> rows);
// PostgreSQL: the statement and binary COPY stream (tenant_id first, then NewEvent's fields in
// order) that insert() sends a large batch in; the ingest benchmark's ceiling sends the same.
inline constexpr std::string_view copy_sql =
    "COPY events (tenant_id, event_id, customer_id, event_type, occurred_at, properties, "
    "content_hash, received_at) FROM STDIN (FORMAT binary)";
std::string copy_data(const TenantId& tenant, std::span<const NewEvent> rows);
// Removes an event this transaction inserted but then had to reject (its usage would overflow).
void erase(Tx& tx, const TenantId& tenant, const std::string& event_id);
// Events of one customer and type with occurred_at in [from, to), in timestamp order.
std::vector<EventRecord> range(Tx& tx, const TenantId& tenant, const std::string& customer_id,
                               const std::string& event_type, std::int64_t from, std::int64_t to);
// Every event of a type, for backfilling a new meter; calls `visit` in pages.
void scan_type(Tx& tx, const TenantId& tenant, const std::string& event_type,
               const std::function<void(const EventRecord&)>& visit);
}  // namespace events

namespace meters {
// A tenant's meters against its ingest (PostgreSQL transaction-scoped advisory locks; on SQLite
// the single writer already serializes the transactions, and both are no-ops). An ingest
// transaction holds its tenant's meters shared from before it reads them until it commits; a
// meter's creation holds them exclusively from before it backfills. So a new meter's backfill
// sees every event committed before the meter, and every commit after it counts its events into
// the meter. Unlike a lock on the tenant row, these leave the row alone: other audited changes of
// the tenant do not wait for ingest commits, and two writers sharing them create no MultiXact.
// Take `lock` before anything that locks the tenant row (audit::append), as ingest takes
// `lock_shared` first.
void lock_shared(Tx& tx, const TenantId& tenant);
void lock(Tx& tx, const TenantId& tenant);
bool insert(Tx& tx, const TenantId& tenant, const MeterRecord& meter);
std::vector<MeterRecord> list(Tx& tx, const TenantId& tenant);
// One page in code order, after `after_code`.
std::vector<MeterRecord> page(Tx& tx, const TenantId& tenant, const std::string& after_code,
                              std::size_t limit);
std::optional<MeterRecord> find_by_code(Tx& tx, const TenantId& tenant, const std::string& code);
}  // namespace meters

namespace usage {

// Usage buckets are merged read-modify-write: the writer reads a bucket, adds its events in C++
// (exact decimals) and writes the total back. lock_for_merge serialises the transactions that do
// so for one tenant — on PostgreSQL a transaction-scoped advisory lock, so that two nodes never
// merge into the same bucket at once and overwrite each other; on SQLite the single writer
// already holds the database. Take it before load_stored.
void lock_for_merge(Tx& tx, const TenantId& tenant);
// Sets each bucket's aggregate (found by its meter, customer, bucket and group) to the stored
// total, or leaves it as it is when none is stored.
void load_stored(Tx& tx, const TenantId& tenant, std::span<UsageBucket* const> buckets);
// store_buckets' conflict clause: a bucket's new total replaces the stored one.
inline constexpr std::string_view set_bucket_totals =
    "ON CONFLICT (tenant_id, meter_id, customer_id, bucket_start, group_key) DO UPDATE SET "
    "event_count = excluded.event_count, sum_value = excluded.sum_value, max_value = "
    "excluded.max_value, latest_at = excluded.latest_at, latest_event_id = "
    "excluded.latest_event_id, latest_value = excluded.latest_value";
// A tenant's partial aggregates of newly stored events (distinct keys), to add to its buckets.
struct TenantDeltas {
  const TenantId* tenant = nullptr;
  const std::vector<UsageBucket>* deltas = nullptr;
};
// Adds each tenant's deltas to their stored buckets, creating the buckets not stored yet — all or
// nothing over every tenant, under one savepoint however many there are: false, and nothing
// written, when a total would no longer fit the exact decimal type. Both backends merge in the
// upsert itself (exact decimal SQL functions: registered on each SQLite connection, created by
// migration v8 on PostgreSQL), so no bucket is read first. Take lock_for_merge for each tenant
// first.
bool add_to_buckets(Tx& tx, std::span<const TenantDeltas> tenants);
// Writes each bucket's aggregate as its new total (insert or replace). Keys must be distinct.
void store_buckets(Tx& tx, const TenantId& tenant, const std::vector<UsageBucket>& buckets);
void insert_distinct(Tx& tx, const TenantId& tenant, const std::vector<DistinctValue>& rows);
// Buckets of one meter and customer with bucket_start in [from, to).
std::vector<UsageBucket> buckets(Tx& tx, const TenantId& tenant, const std::string& meter_id,
                                 const std::string& customer_id, std::int64_t from,
                                 std::int64_t to);
std::vector<DistinctValue> distinct(Tx& tx, const TenantId& tenant, const std::string& meter_id,
                                    const std::string& customer_id, std::int64_t from,
                                    std::int64_t to);

}  // namespace usage

}  // namespace neruba::storage
