#include "storage/locks.hpp"
#include "storage/migrations/migrations.hpp"

namespace neruba::storage {

const std::vector<migrations::Migration>& migrations::all() {
  static const std::vector<Migration> every = {v001_foundation(),
                                               v002_usage_events_meters(),
                                               v003_usage_buckets(),
                                               v004_events_by_customer_time(),
                                               v005_usage_buckets_fillfactor(),
                                               v006_events_by_customer_hour(),
                                               v007_bytewise_identifiers(),
                                               v008_decimal_merge_functions(),
                                               v009_idempotency_claim_token(),
                                               v010_usage_keys_every_index_takes(),
                                               v011_plans(),
                                               v012_subscriptions(),
                                               v013_ledger(),
                                               v014_billing(),
                                               v015_usage_daily_rollups(),
                                               v016_customer_grace_period()};
  return every;
}

int migrate(Db& db, std::optional<int> up_to) {
  auto tx = db.begin(TxMode::write);
  // Several nodes may start at once against one database: one migrates, the others wait.
  locks::migration(*tx);
  tx->exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, "
      "name TEXT NOT NULL)");
  const auto rows = tx->query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  const std::int64_t current = rows.at(0).integer(0);
  int applied = 0;
  for (const auto& migration : migrations::all()) {
    if (migration.version <= current) continue;
    if (up_to && migration.version > *up_to) break;
    for (const auto statement : migration.statements) tx->exec(statement);
    if (migration.data) migration.data(*tx);
    tx->exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
             {std::int64_t{migration.version}, std::string(migration.name)});
    ++applied;
  }
  tx->commit();
  return applied;
}

}  // namespace neruba::storage
