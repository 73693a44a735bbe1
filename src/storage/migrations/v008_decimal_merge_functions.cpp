#include "storage/migrations/migrations.hpp"

#include "storage/columns.hpp"

namespace neruba::storage::migrations {

Migration v008_decimal_merge_functions() {
  return {
      8, "PostgreSQL: exact decimal merge functions for usage buckets", {}, [](Tx& tx) {
        // usage::add_to_buckets merges a commit's sums into the stored totals inside the upsert,
        // as SQLite does with the functions it registers on each connection (sqlite_db.cpp).
        // Both follow domain::Decimal: a sum keeps the larger scale and fails past 36 significant
        // digits with columns::decimal_sum_overflow; of two equal maxima the one with more
        // decimal places wins. latest_event_id ties break bytewise, as in C++.
        if (tx.dialect() != Dialect::postgres) return;
        tx.exec(std::string(R"(CREATE FUNCTION neruba_decimal_sum(a TEXT, b TEXT) RETURNS TEXT
             LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $body$
             DECLARE total TEXT;
             BEGIN
               IF a IS NULL THEN RETURN b; END IF;
               IF b IS NULL THEN RETURN a; END IF;
               total := (CAST(a AS NUMERIC) + CAST(b AS NUMERIC))::TEXT;
               IF length(ltrim(translate(total, '-.', ''), '0')) > 36 THEN
                 RAISE EXCEPTION ')") +
                std::string(columns::decimal_sum_overflow) + R"(';
               END IF;
               RETURN total;
             END $body$)");
        tx.exec(R"(CREATE FUNCTION neruba_decimal_max(a TEXT, b TEXT) RETURNS TEXT
             LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $body$
             SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a
               WHEN CAST(b AS NUMERIC) > CAST(a AS NUMERIC) OR (CAST(b AS NUMERIC) =
                 CAST(a AS NUMERIC) AND scale(CAST(b AS NUMERIC)) > scale(CAST(a AS NUMERIC)))
               THEN b ELSE a END $body$)");
        tx.exec("ALTER TABLE usage_buckets ALTER COLUMN latest_event_id TYPE TEXT COLLATE \"C\"");
      }};
}

}  // namespace neruba::storage::migrations
