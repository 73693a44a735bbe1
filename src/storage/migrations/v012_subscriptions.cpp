#include "storage/migrations/migrations.hpp"

#include <string>

namespace neruba::storage::migrations {

Migration v012_subscriptions() {
  return {
      12, "subscriptions and their phases", {}, [](Tx& tx) {
        const std::string key = tx.dialect() == Dialect::postgres ? "TEXT COLLATE \"C\"" : "TEXT";
        tx.exec("CREATE TABLE subscriptions (tenant_id " + key + " NOT NULL, subscription_id " +
                key + " NOT NULL, customer_id " + key +
                " NOT NULL, start_at BIGINT NOT NULL, trial_end BIGINT, ends_at BIGINT, "
                "created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, subscription_id))");
        tx.exec("CREATE INDEX subscriptions_by_customer ON subscriptions (tenant_id, customer_id)");
        // A subscription's timeline: from each phase's instant on, this plan, these seats and
        // this billing anchor, until the next phase (or the subscription's end). A change
        // appends a phase; phases are never edited.
        tx.exec("CREATE TABLE subscription_phases (tenant_id " + key +
                " NOT NULL, subscription_id " + key +
                " NOT NULL, effective_from BIGINT NOT NULL, plan_code " + key +
                " NOT NULL, seats BIGINT NOT NULL, billing_anchor BIGINT NOT NULL, proration "
                "TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, "
                "subscription_id, effective_from))");
      }};
}

}  // namespace neruba::storage::migrations
