#include "storage/migrations/migrations.hpp"

namespace neruba::storage::migrations {

Migration v015_usage_daily_rollups() {
  return {15,
          "usage_daily: closed UTC days rolled up from the hourly buckets, with stale days",
          {
              // Derived state, rebuilt from usage_buckets at any time (usage::rebuild_rollups).
              // The columns are usage_buckets' so that one set of statements writes and reads
              // both; bucket_start is the UTC day's start here.
              R"(CREATE TABLE usage_daily (
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
                group_value TEXT,
                PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key)))",
              // A day of one meter and customer whose hourly buckets changed after it was marked
              // for rolling up (a late event, a new meter's backfill), or whose rolled total
              // would not fit the decimal type: reads take its hours, the next roll-up redoes it.
              R"(CREATE TABLE usage_daily_stale (
                tenant_id TEXT NOT NULL,
                meter_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                day_start BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, meter_id, customer_id, day_start)))",
              // Per tenant: writes of hourly buckets before marked_until mark their day stale;
              // reads take the days before rolled_until (<= marked_until) from usage_daily.
              R"(CREATE TABLE usage_rollups (
                tenant_id TEXT NOT NULL PRIMARY KEY,
                marked_until BIGINT NOT NULL,
                rolled_until BIGINT NOT NULL))",
          },
          [](Tx& tx) {
            // Key columns compare bytewise on PostgreSQL, as v7 made the other tables' do.
            if (tx.dialect() != Dialect::postgres) return;
            tx.exec(
                "ALTER TABLE usage_daily ALTER COLUMN tenant_id TYPE TEXT COLLATE \"C\", ALTER "
                "COLUMN meter_id TYPE TEXT COLLATE \"C\", ALTER COLUMN customer_id TYPE TEXT "
                "COLLATE \"C\", ALTER COLUMN group_key TYPE TEXT COLLATE \"C\", ALTER COLUMN "
                "latest_event_id TYPE TEXT COLLATE \"C\"");
            tx.exec(
                "ALTER TABLE usage_daily_stale ALTER COLUMN tenant_id TYPE TEXT COLLATE \"C\", "
                "ALTER COLUMN meter_id TYPE TEXT COLLATE \"C\", ALTER COLUMN customer_id TYPE "
                "TEXT COLLATE \"C\"");
            tx.exec("ALTER TABLE usage_rollups ALTER COLUMN tenant_id TYPE TEXT COLLATE \"C\"");
          }};
}

}  // namespace neruba::storage::migrations
