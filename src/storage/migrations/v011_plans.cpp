#include "storage/migrations/migrations.hpp"

#include <string>

namespace neruba::storage::migrations {

Migration v011_plans() {
  return {11, "catalog: plans and their versions", {}, [](Tx& tx) {
            // Key columns compare bytewise on PostgreSQL, as every table's since v7.
            const std::string key =
                tx.dialect() == Dialect::postgres ? "TEXT COLLATE \"C\"" : "TEXT";
            tx.exec("CREATE TABLE plans (tenant_id " + key + " NOT NULL, plan_code " + key +
                    " NOT NULL, name TEXT NOT NULL, currency TEXT NOT NULL, billing_interval TEXT "
                    "NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, plan_code))");
            // A version's definition (its charges, as the API writes them, canonical JSON) is
            // stored whole: a version never changes once made, and the pricing engine reads it
            // back into a domain::pricing::PlanVersion.
            tx.exec("CREATE TABLE plan_versions (tenant_id " + key + " NOT NULL, plan_code " + key +
                    " NOT NULL, version BIGINT NOT NULL, effective_from BIGINT NOT NULL, "
                    "definition TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, "
                    "plan_code, version))");
            // Two versions of a plan never take effect at the same instant.
            tx.exec(
                "CREATE UNIQUE INDEX plan_versions_by_effective_from ON plan_versions (tenant_id, "
                "plan_code, effective_from)");
          }};
}

}  // namespace neruba::storage::migrations
