#include "storage/migrations/migrations.hpp"

namespace neruba::storage::migrations {

Migration v002_usage_events_meters() {
  return {
      2,
      "usage: events, meters, pre-aggregated usage deltas",
      {
          // One row per accepted event, forever: (tenant_id, event_id) is the dedupe key.
          R"(CREATE TABLE events (
                tenant_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                occurred_at BIGINT NOT NULL,
                properties TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, event_id)))",
          "CREATE INDEX events_by_customer_time ON events (tenant_id, customer_id, event_type, "
          "occurred_at)",
          R"(CREATE TABLE meters (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                code TEXT NOT NULL,
                event_type TEXT NOT NULL,
                aggregation TEXT NOT NULL,
                field TEXT,
                filters TEXT NOT NULL,
                group_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, meter_id)))",
          "CREATE UNIQUE INDEX meters_by_code ON meters (tenant_id, code)",
          "CREATE INDEX meters_by_event_type ON meters (tenant_id, event_type)",
          // Append-only partial aggregates, one row per (meter, customer, hour, group) per write
          // transaction: ingest never reads-modifies-writes a hot row; reads merge the deltas.
          R"(CREATE TABLE usage_deltas (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                bucket_start BIGINT NOT NULL,
                group_key TEXT NOT NULL,
                batch_id TEXT NOT NULL,
                event_count BIGINT NOT NULL,
                sum_value TEXT,
                max_value TEXT,
                latest_at BIGINT,
                latest_event_id TEXT,
                latest_value TEXT,
                PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key, batch_id)))",
          // Distinct values per hour for unique_count meters.
          R"(CREATE TABLE usage_distinct (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                bucket_start BIGINT NOT NULL,
                group_key TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key, value)))",
      }};
}

}  // namespace neruba::storage::migrations
