#include "storage/migrations/migrations.hpp"

#include <string>
#include <vector>

#include "common/crypto.hpp"
#include "storage/columns.hpp"

namespace neruba::storage::migrations {
namespace {

// Bytes, not characters: SQLite's length() of TEXT counts characters.
std::string byte_length(const Tx& tx, std::string_view column) {
  return tx.dialect() == Dialect::postgres ? "octet_length(" + std::string(column) + ")"
                                           : "length(CAST(" + std::string(column) + " AS BLOB))";
}

// The usage_distinct value as domain::distinct_key keeps it, written out here so this migration
// never changes: the text itself up to 64 bytes without a NUL byte, else "#" and its SHA-256.
std::string distinct_key_v10(const std::string& value) {
  if (value.size() <= 64 && value.find('\0') == std::string::npos) return value;
  return "#" + crypto::sha256_hex(value);
}

void move_long_group_keys(Tx& tx, std::string_view table) {
  const auto rows = tx.query("SELECT DISTINCT group_key FROM " + std::string(table) + " WHERE " +
                             byte_length(tx, "group_key") + " > " +
                             std::to_string(columns::group_key_length_max));
  for (const auto& row : rows) {
    const std::string& key = row.text(0);
    tx.exec("UPDATE " + std::string(table) +
                " SET group_value = group_key, group_key = $2 WHERE group_key = $1",
            {key, "#" + crypto::sha256_hex(key)});
  }
}

void encode_distinct_values(Tx& tx) {
  // NUL bytes can only be stored by SQLite (PostgreSQL refused them); instr() finds them there.
  const std::string has_nul =
      tx.dialect() == Dialect::postgres ? "FALSE" : "instr(CAST(value AS BLOB), X'00') > 0";
  const auto rows = tx.query(
      "SELECT tenant_id, meter_id, customer_id, bucket_start, group_key, value FROM "
      "usage_distinct WHERE " +
      byte_length(tx, "value") + " > 64 OR " + has_nul);
  for (const auto& row : rows) {
    const std::string encoded = distinct_key_v10(row.text(5));
    // A value whose encoded form is stored already for the same bucket was counted once: keep one.
    tx.exec(
        "DELETE FROM usage_distinct WHERE tenant_id = $1 AND meter_id = $2 AND customer_id = $3 "
        "AND bucket_start = $4 AND group_key = $5 AND value = $6",
        {row.text(0), row.text(1), row.text(2), row.integer(3), row.text(4), row.text(5)});
    tx.exec(
        "INSERT INTO usage_distinct (tenant_id, meter_id, customer_id, bucket_start, group_key, "
        "value) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        {row.text(0), row.text(1), row.text(2), row.integer(3), row.text(4), encoded});
  }
}

}  // namespace

Migration v010_usage_keys_every_index_takes() {
  return {10,
          "usage: keys every index takes, sums only where reported, overflow by its SQLSTATE",
          {
              // A group key longer than columns::group_key_length_max bytes is kept here in full,
              // its digest in group_key (PostgreSQL's B-tree refuses entries over ~2.7 KB).
              "ALTER TABLE usage_buckets ADD COLUMN group_value TEXT",
              "ALTER TABLE usage_distinct ADD COLUMN group_value TEXT",
              // max and latest meters report no sum, and keep none from now on.
              "UPDATE usage_buckets SET sum_value = NULL WHERE sum_value IS NOT NULL AND meter_id "
              "IN (SELECT meter_id FROM meters WHERE meters.tenant_id = usage_buckets.tenant_id "
              "AND aggregation IN ('max', 'latest'))",
          },
          [](Tx& tx) {
            // Values stored before: long or NUL-holding unique_count values become their distinct
            // key, long group keys move to group_value (SQLite could store them; PostgreSQL only
            // up to its index limit).
            encode_distinct_values(tx);
            move_long_group_keys(tx, "usage_buckets");
            move_long_group_keys(tx, "usage_distinct");
            if (tx.dialect() != Dialect::postgres) return;
            // A total beyond the exact decimal type raises SQLSTATE 22003 (numeric value out of
            // range), which the backend reports as StorageError::Kind::decimal_overflow; SQLite's
            // function flags its connection instead.
            tx.exec(std::string(R"(CREATE OR REPLACE FUNCTION neruba_decimal_sum(a TEXT, b TEXT)
                RETURNS TEXT LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $body$
                DECLARE total TEXT;
                BEGIN
                  IF a IS NULL THEN RETURN b; END IF;
                  IF b IS NULL THEN RETURN a; END IF;
                  total := (CAST(a AS NUMERIC) + CAST(b AS NUMERIC))::TEXT;
                  IF length(ltrim(translate(total, '-.', ''), '0')) > 36 THEN
                    RAISE EXCEPTION USING ERRCODE = '22003', MESSAGE = ')") +
                    std::string(columns::decimal_sum_overflow) + R"(';
                  END IF;
                  RETURN total;
                END $body$)");
          }};
}

}  // namespace neruba::storage::migrations
