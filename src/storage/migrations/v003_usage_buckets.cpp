#include "storage/migrations/migrations.hpp"

#include <map>
#include <optional>
#include <tuple>

#include <string>

#include "domain/decimal.hpp"
#include "storage/columns.hpp"

namespace neruba::storage::migrations {

namespace {

using columns::decimal_text;
using columns::optional_text;
using columns::stored_decimal;

// A bucket's totals as v3 merges them, written out here so this migration never changes with the
// domain's aggregate: sums add, the larger maximum wins (of equal ones the longer scale), the
// latest value is the one with the greatest (timestamp, event_id).
struct FoldedBucket {
  std::int64_t events = 0;
  std::optional<domain::Decimal> sum;
  std::optional<domain::Decimal> max;
  std::optional<std::int64_t> latest_at;
  std::string latest_event_id;
  std::optional<domain::Decimal> latest_value;

  bool merge(std::int64_t delta_events, const std::optional<domain::Decimal>& delta_sum,
             const std::optional<domain::Decimal>& delta_max,
             const std::optional<std::int64_t>& delta_at, const std::string& delta_event_id,
             const std::optional<domain::Decimal>& delta_value) {
    if (delta_sum) {
      if (sum) {
        const auto total = sum->add(*delta_sum);
        if (!total) return false;
        sum = *total;
      } else {
        sum = delta_sum;
      }
    }
    events += delta_events;
    if (delta_max &&
        (!max || *delta_max > *max || (*delta_max == *max && delta_max->scale() > max->scale()))) {
      max = delta_max;
    }
    if (delta_at && (!latest_at || *delta_at > *latest_at ||
                     (*delta_at == *latest_at && delta_event_id > latest_event_id))) {
      latest_at = delta_at;
      latest_event_id = delta_event_id;
      latest_value = delta_value;
    }
    return true;
  }
};

// v3: the append-only usage_deltas rows (one per key and write transaction) folded into one
// usage_buckets row per (tenant, meter, customer, hour, group).
void fold_usage_deltas(Tx& tx) {
  using Key = std::tuple<std::string, std::string, std::string, std::int64_t, std::string>;
  std::map<Key, FoldedBucket> buckets;
  const auto rows = tx.query(
      "SELECT tenant_id, meter_id, customer_id, bucket_start, group_key, event_count, sum_value, "
      "max_value, latest_at, latest_event_id, latest_value FROM usage_deltas");
  for (const auto& row : rows) {
    std::optional<std::int64_t> latest_at;
    if (!row.is_null(8)) latest_at = row.integer(8);
    auto& bucket = buckets[Key{row.text(0), row.text(1), row.text(2), row.integer(3), row.text(4)}];
    if (!bucket.merge(row.integer(5), stored_decimal(row.optional_text(6)),
                      stored_decimal(row.optional_text(7)), latest_at,
                      latest_at ? row.text(9) : std::string(),
                      stored_decimal(row.optional_text(10)))) {
      throw StorageError(StorageError::Kind::other,
                         "usage_deltas of meter " + row.text(1) + " overflow 36 digits");
    }
  }
  for (const auto& [key, a] : buckets) {
    const auto& [tenant, meter, customer, bucket_start, group_key] = key;
    tx.exec(
        "INSERT INTO usage_buckets (tenant_id, meter_id, customer_id, bucket_start, group_key, "
        "event_count, sum_value, max_value, latest_at, latest_event_id, latest_value) VALUES ($1, "
        "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        {tenant, meter, customer, bucket_start, group_key, a.events,
         optional_text(decimal_text(a.sum)), optional_text(decimal_text(a.max)),
         a.latest_at ? Param{*a.latest_at} : Param{},
         a.latest_at ? Param{a.latest_event_id} : Param{},
         optional_text(decimal_text(a.latest_value))});
  }
  tx.exec("DROP TABLE usage_deltas");
}

}  // namespace

Migration v003_usage_buckets() {
  return {3,
          "usage buckets: one row per meter, customer, hour and group, merged in place",
          {
              // The ingest writer reads, merges (exact decimals) and rewrites each touched bucket
              // once per group commit. A commit then dirties only the pages of the buckets it
              // touches — the current hours — where append-only per-commit delta rows scattered new
              // entries over the whole key range and rewrote most of its pages at every commit.
              R"(CREATE TABLE usage_buckets (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                bucket_start BIGINT NOT NULL,
                group_key TEXT NOT NULL,
                event_count BIGINT NOT NULL,
                sum_value TEXT,
                max_value TEXT,
                latest_at BIGINT,
                latest_event_id TEXT,
                latest_value TEXT,
                PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key)))",
          },
          fold_usage_deltas};
}

}  // namespace neruba::storage::migrations
