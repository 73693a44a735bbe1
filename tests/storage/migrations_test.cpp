// Migrations that move data: each starts from a database at the version before it, on every
// backend, and checks the moved rows against hand-computed values.
#include <gtest/gtest.h>

#include "common/crypto.hpp"
#include "storage/columns.hpp"
#include "storage/customers.hpp"
#include "storage/db.hpp"
#include "storage/usage.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace {

using test::Backend;
using test::TestDatabase;

class DataMigrations : public ::testing::TestWithParam<Backend> {};

// v3 folds the append-only usage_deltas (one row per key and write transaction) into one
// usage_buckets row per (tenant, meter, customer, hour, group).
TEST_P(DataMigrations, V3FoldsUsageDeltasIntoOneBucketPerKey) {
  TestDatabase database(GetParam(), 2);
  database.raw_exec(
      "INSERT INTO usage_deltas (tenant_id, meter_id, customer_id, bucket_start, group_key, "
      "batch_id, event_count, sum_value, max_value, latest_at, latest_event_id, latest_value) "
      "VALUES "
      // Two deltas of one bucket: counts add, sums add exactly (1.50 + 0.7 = 2.20), the max is
      // 1.25, and of two latest values at the same instant the greater event_id (e9) wins.
      "('ten_a', 'mtr_1', 'cus_1', 3600000000, '[\"eu\"]', 'b1', 2, '1.50', '1.25', 3600000001, "
      "'e1', '1.25'), "
      "('ten_a', 'mtr_1', 'cus_1', 3600000000, '[\"eu\"]', 'b2', 3, '0.7', '0.7', 3600000001, "
      "'e9', '0.7'), "
      // Another hour, another group, another tenant: buckets of their own.
      "('ten_a', 'mtr_1', 'cus_1', 7200000000, '[\"eu\"]', 'b1', 1, '5', '5', 7200000005, 'e3', "
      "'5'), "
      "('ten_a', 'mtr_1', 'cus_1', 3600000000, '[\"us\"]', 'b1', 1, '2', '2', 3600000002, 'e4', "
      "'2'), "
      "('ten_b', 'mtr_1', 'cus_1', 3600000000, '[\"eu\"]', 'b1', 4, NULL, NULL, NULL, NULL, NULL)");

  EXPECT_GE(migrate(database.db()), 1);

  auto tx = database.db().begin(TxMode::read);
  const auto rows = tx->query(
      "SELECT tenant_id, bucket_start, group_key, event_count, sum_value, max_value, latest_at, "
      "latest_event_id, latest_value FROM usage_buckets ORDER BY tenant_id, bucket_start, "
      "group_key");
  ASSERT_EQ(rows.size(), 4u);
  const auto expect_row =
      [&](std::size_t i, const std::string& tenant, std::int64_t bucket, const std::string& group,
          std::int64_t events, std::optional<std::string> sum, std::optional<std::string> max,
          std::optional<std::int64_t> latest_at, std::optional<std::string> latest_id,
          std::optional<std::string> latest) {
        SCOPED_TRACE("row " + std::to_string(i));
        const Row& row = rows[i];
        EXPECT_EQ(row.text(0), tenant);
        EXPECT_EQ(row.integer(1), bucket);
        EXPECT_EQ(row.text(2), group);
        EXPECT_EQ(row.integer(3), events);
        EXPECT_EQ(row.optional_text(4), sum);
        EXPECT_EQ(row.optional_text(5), max);
        EXPECT_EQ(row.is_null(6) ? std::nullopt : std::optional(row.integer(6)), latest_at);
        EXPECT_EQ(row.optional_text(7), latest_id);
        EXPECT_EQ(row.optional_text(8), latest);
      };
  expect_row(0, "ten_a", 3600000000, "[\"eu\"]", 5, "2.20", "1.25", 3600000001, "e9", "0.7");
  expect_row(1, "ten_a", 3600000000, "[\"us\"]", 1, "2", "2", 3600000002, "e4", "2");
  expect_row(2, "ten_a", 7200000000, "[\"eu\"]", 1, "5", "5", 7200000005, "e3", "5");
  expect_row(3, "ten_b", 3600000000, "[\"eu\"]", 4, std::nullopt, std::nullopt, std::nullopt,
             std::nullopt, std::nullopt);
  EXPECT_THROW(tx->query("SELECT COUNT(*) FROM usage_deltas"), StorageError);
}

// v7: identifier columns order bytewise on both backends — on PostgreSQL whatever the database's
// default collation, because the key columns themselves say COLLATE "C".
TEST_P(DataMigrations, V7IdentifiersCompareBytewise) {
  TestDatabase database(GetParam());
  database.raw_exec(
      "INSERT INTO customers (tenant_id, customer_id, external_id, name, currency, timezone, "
      "metadata, created_at) VALUES ('ten_a', 'cus_1', 'b', 'n', 'EUR', 'UTC', '{}', 0), "
      "('ten_a', 'cus_2', 'B', 'n', 'EUR', 'UTC', '{}', 0), ('ten_a', 'cus_3', 'a', 'n', 'EUR', "
      "'UTC', '{}', 0), ('ten_a', 'cus_4', '_', 'n', 'EUR', 'UTC', '{}', 0)");
  auto tx = database.db().begin(TxMode::read);
  const auto rows =
      tx->query("SELECT external_id FROM customers WHERE tenant_id = 'ten_a' ORDER BY external_id");
  ASSERT_EQ(rows.size(), 4U);
  // Byte values: 'B' 0x42 < '_' 0x5F < 'a' 0x61 < 'b' 0x62 (a linguistic collation would give
  // _, a, b, B).
  EXPECT_EQ(rows[0].text(0), "B");
  EXPECT_EQ(rows[1].text(0), "_");
  EXPECT_EQ(rows[2].text(0), "a");
  EXPECT_EQ(rows[3].text(0), "b");
  if (GetParam() != Backend::postgres) return;
  const auto collations = tx->query(
      "SELECT table_name, column_name, COALESCE(collation_name, '') FROM "
      "information_schema.columns WHERE table_schema = current_schema() AND column_name IN "
      "('tenant_id', 'event_id', 'customer_id', 'meter_id', 'group_key', 'external_id', "
      "'latest_event_id') ORDER BY "
      "table_name, column_name");
  ASSERT_GE(collations.size(), 15U);
  for (const auto& row : collations) {
    EXPECT_EQ(row.text(2), "C") << row.text(0) << "." << row.text(1);
  }
}

// v10: stored usage in forms every index takes — long group keys move to group_value and their
// digest becomes the key; long unique_count values become their distinct key; max and latest
// meters lose the sum they never report; a key within the limit stays as it is.
TEST_P(DataMigrations, V10StoresUsageKeysEveryIndexTakes) {
  TestDatabase database(GetParam(), 9);
  // A group key of 300 bytes is storable before v10 on both backends (PostgreSQL refuses ~2.7 KB).
  const std::string long_group = R"({"g":")" + std::string(292, 'x') + R"("})";
  ASSERT_EQ(long_group.size(), 300u);
  const std::string long_value(100, 'v');
  database.raw_exec(
      "INSERT INTO meters (tenant_id, meter_id, code, event_type, aggregation, field, filters, "
      "group_by, created_at) VALUES ('ten_a', 'mtr_sum', 's', 'use', 'sum', 'n', '{}', '[]', 0), "
      "('ten_a', 'mtr_max', 'm', 'use', 'max', 'n', '{}', '[]', 0), ('ten_a', 'mtr_u', 'u', "
      "'use', 'unique_count', 'user', '{}', '[]', 0)");
  database.raw_exec(
      "INSERT INTO usage_buckets (tenant_id, meter_id, customer_id, bucket_start, group_key, "
      "event_count, sum_value, max_value, latest_at, latest_event_id, latest_value) VALUES "
      "('ten_a', 'mtr_sum', 'cus_1', 0, '" +
      long_group +
      "', 2, '3', '2', 5, 'e2', '2'), "
      "('ten_a', 'mtr_sum', 'cus_1', 0, '{}', 1, '7', '7', 1, 'e1', '7'), "
      "('ten_a', 'mtr_max', 'cus_1', 0, '{}', 2, '9', '5', 5, 'e2', '4')");
  database.raw_exec(
      "INSERT INTO usage_distinct (tenant_id, meter_id, customer_id, bucket_start, group_key, "
      "value) VALUES ('ten_a', 'mtr_u', 'cus_1', 0, '{}', 'ann'), ('ten_a', 'mtr_u', 'cus_1', 0, "
      "'{}', '" +
      long_value + "')");

  EXPECT_EQ(migrate(database.db(), 10), 1);

  auto tx = database.db().begin(TxMode::read);
  const auto digest = columns::group_key_digest(long_group);
  const auto moved = tx->query(
      "SELECT group_key, group_value, sum_value FROM usage_buckets WHERE meter_id = 'mtr_sum' "
      "ORDER BY event_count");
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(moved[0].text(0), "{}");  // within the limit: as it was
  EXPECT_TRUE(moved[0].is_null(1));
  EXPECT_EQ(moved[1].text(0), digest);
  EXPECT_EQ(moved[1].optional_text(1), long_group);
  EXPECT_EQ(moved[1].optional_text(2), "3");  // a sum meter keeps its sum
  const auto max_row =
      tx->query("SELECT sum_value, max_value FROM usage_buckets WHERE meter_id = 'mtr_max'");
  ASSERT_EQ(max_row.size(), 1u);
  EXPECT_TRUE(max_row[0].is_null(0));
  EXPECT_EQ(max_row[0].optional_text(1), "5");
  const auto values =
      tx->query("SELECT value FROM usage_distinct WHERE meter_id = 'mtr_u' ORDER BY value");
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].text(0), "#" + crypto::sha256_hex(long_value));
  EXPECT_EQ(values[1].text(0), "ann");
  // The reads see the long key in full: the bucket is found by the key callers know.
  const auto buckets = usage::buckets(*tx, TenantId("ten_a"), MeterId("mtr_sum"), "cus_1",
                                      Instant{}, Instant{} + std::chrono::hours(1));
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_TRUE(buckets[0].group_key == long_group || buckets[1].group_key == long_group);
}

// v14: a tenant created before it gains the invoice grace period's default (0 days) beside the
// settings it had; one that somehow has the setting keeps its value.
TEST_P(DataMigrations, V14GivesEarlierTenantsTheInvoiceGracePeriod) {
  TestDatabase database(GetParam(), 13);
  database.raw_exec(
      "INSERT INTO tenants (tenant_id, name, currency, timezone, settings, created_at) VALUES "
      "('ten_old', 'Old', 'USD', 'UTC', '{\"late_event_window_days\":90,"
      "\"auto_create_customers\":true}', 0), ('ten_set', 'Set', 'USD', 'UTC', "
      "'{\"invoice_grace_period_days\":3}', 0)");

  EXPECT_EQ(migrate(database.db(), 14), 1);

  auto tx = database.db().begin(TxMode::read);
  const auto rows = tx->query(
      "SELECT tenant_id, settings FROM tenants WHERE tenant_id IN ('ten_old', 'ten_set') ORDER BY "
      "tenant_id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text(1), R"({"late_event_window_days":90,"auto_create_customers":true,)"
                             R"("invoice_grace_period_days":0})");
  EXPECT_EQ(rows[1].text(1), R"({"invoice_grace_period_days":3})");
}

// v16: customers created before it have no grace period of their own (NULL): the tenant's
// applies to them, as it did.
TEST_P(DataMigrations, V16LeavesEarlierCustomersOnTheTenantsGracePeriod) {
  TestDatabase database(GetParam(), 15);
  database.raw_exec(
      "INSERT INTO customers (tenant_id, customer_id, external_id, name, currency, timezone, "
      "metadata, created_at) VALUES ('ten_a', 'cus_1', 'acme', 'Acme', 'USD', 'UTC', '{}', 0)");

  EXPECT_EQ(migrate(database.db(), 16), 1);

  auto tx = database.db().begin(TxMode::read);
  const auto customer = customers::find(*tx, TenantId("ten_a"), CustomerId("cus_1"));
  ASSERT_TRUE(customer.has_value());
  EXPECT_EQ(customer->external_id, "acme");
  EXPECT_EQ(customer->invoice_grace_period_days, std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Backends, DataMigrations, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);

}  // namespace
}  // namespace neruba::storage
