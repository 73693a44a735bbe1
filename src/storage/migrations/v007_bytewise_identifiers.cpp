#include "storage/migrations/migrations.hpp"

#include <utility>

namespace neruba::storage::migrations {

Migration v007_bytewise_identifiers() {
  return {7, "PostgreSQL: identifier columns compare bytewise (COLLATE \"C\")", {}, [](Tx& tx) {
            // Keys are ASCII identifiers, hashes and group keys, never prose. Under the database's
            // default collation (en_US.UTF-8, C.UTF-8, ...) every index comparison of them went
            // through strcoll; bytewise they cost a memcmp, and PostgreSQL orders them as SQLite
            // does (BINARY). A table added later declares its key columns COLLATE "C" on
            // PostgreSQL the same way.
            if (tx.dialect() != Dialect::postgres) return;
            const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> keys = {
                {"tenants", {"tenant_id"}},
                {"api_keys", {"tenant_id", "key_id", "key_hash"}},
                {"customers", {"tenant_id", "customer_id", "external_id"}},
                {"idempotency_keys", {"tenant_id", "idempotency_key"}},
                {"audit_records", {"tenant_id"}},
                {"events", {"tenant_id", "event_id", "customer_id", "event_type"}},
                {"meters", {"tenant_id", "meter_id", "code", "event_type"}},
                {"usage_buckets", {"tenant_id", "meter_id", "customer_id", "group_key"}},
                {"usage_distinct", {"tenant_id", "meter_id", "customer_id", "group_key", "value"}},
            };
            for (const auto& [table, columns] : keys) {
              std::string sql = "ALTER TABLE " + std::string(table);
              for (std::size_t i = 0; i < columns.size(); ++i) {
                sql += (i == 0 ? " " : ", ") + std::string("ALTER COLUMN ") +
                       std::string(columns[i]) + " TYPE TEXT COLLATE \"C\"";
              }
              tx.exec(sql);
            }
          }};
}

}  // namespace neruba::storage::migrations
