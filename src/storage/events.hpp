#pragma once
// Usage events: one row per accepted event, forever; (tenant_id, event_id) is the dedupe key.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct EventRecord {
  std::string event_id;
  std::string customer_id;
  std::string event_type;
  Instant occurred_at;
  std::string properties;  // canonical JSON
  std::string content_hash;
  Instant received_at;
};

// An event to store: views of text the caller keeps alive for the call.
struct NewEvent {
  std::string_view event_id;
  std::string_view customer_id;
  std::string_view event_type;
  Instant occurred_at;
  std::string_view properties;  // canonical JSON
  std::string_view content_hash;
  Instant received_at;
};

namespace events {
// content_hash of each given event_id that exists already.
std::vector<std::pair<std::string, std::string>> existing_hashes(
    Tx& tx, const TenantId& tenant, const std::vector<std::string>& event_ids);
// Inserts rows (distinct event_ids); a row whose event_id is stored already (a resend, or a
// concurrent writer got there first) is skipped. Returns, by position, whether each row went in.
[[nodiscard]] std::vector<bool> insert(Tx& tx, const TenantId& tenant,
                                       std::span<const NewEvent> rows);
// Whether copy_all() can write on this engine (PostgreSQL's COPY; SQLite has none).
bool can_copy(const Tx& tx);
// PostgreSQL: inserts every row (distinct event_ids) by one binary COPY under a savepoint, or —
// when some event_id is stored already — none, and returns false. A COPY prepares per statement
// what it then reuses across rows, so one large COPY costs less per row than several small ones.
[[nodiscard]] bool copy_all(Tx& tx, const TenantId& tenant, std::span<const NewEvent> rows);
// PostgreSQL: the statement and binary COPY stream (tenant_id first, then NewEvent's fields in
// order) that insert() sends a large batch in; the ingest benchmark's ceiling sends the same.
inline constexpr std::string_view copy_sql =
    "COPY events (tenant_id, event_id, customer_id, event_type, occurred_at, properties, "
    "content_hash, received_at) FROM STDIN (FORMAT binary)";
std::string copy_data(const TenantId& tenant, std::span<const NewEvent> rows);
// Removes an event this transaction inserted but then had to reject (its usage would overflow).
// False when no such event was stored.
[[nodiscard]] bool erase(Tx& tx, const TenantId& tenant, const std::string& event_id);
// Events of one customer and type with occurred_at in [from, to), in timestamp order.
std::vector<EventRecord> range(Tx& tx, const TenantId& tenant, const std::string& customer_id,
                               const std::string& event_type, Instant from, Instant to);
// Events of one type for many customers, each within its own [from, to) (ranges of one customer
// must not overlap), by one statement over events_by_customer_hour; in no particular order.
struct CustomerRange {
  std::string_view customer_id;
  Instant from;
  Instant to;
};
std::vector<EventRecord> range_many(Tx& tx, const TenantId& tenant, const std::string& event_type,
                                    std::span<const CustomerRange> ranges);
// Every event of a type, for backfilling a new meter; calls `visit` in pages.
void scan_type(Tx& tx, const TenantId& tenant, const std::string& event_type,
               const std::function<void(const EventRecord&)>& visit);
}  // namespace events

}  // namespace neruba::storage
