#pragma once
// Plans and their versions (API.md "Catalog"). A version's definition is stored whole, as the
// canonical JSON the catalog service writes; a version never changes once stored.
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "domain/currency.hpp"
#include "json/json.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct PlanRecord {
  TenantId tenant;
  std::string code;
  std::string name;  // of its latest version
  domain::Currency currency;
  std::string interval;  // "month" | "year", fixed across versions
  Instant created_at;
};

struct PlanVersionRecord {
  TenantId tenant;
  std::string plan_code;
  std::int64_t version = 0;
  Instant effective_from;
  json::Value definition;  // the version as the API writes it (canonical JSON when stored)
  Instant created_at;
};

namespace plans {
// False when the code is taken.
[[nodiscard]] bool insert(Tx& tx, const PlanRecord& plan);
[[nodiscard]] std::optional<PlanRecord> find(Tx& tx, const TenantId& tenant,
                                             const std::string& code);
// find, locking the plan's row for the rest of the transaction (PostgreSQL FOR UPDATE; SQLite's
// writer holds the database): versions are numbered one after another under it.
[[nodiscard]] std::optional<PlanRecord> find_for_update(Tx& tx, const TenantId& tenant,
                                                        const std::string& code);
// find, holding the plan's row FOR KEY SHARE for the rest of the transaction (PostgreSQL; SQLite's
// writer holds the database): subscribing to a plan and adding a version to it take turns (a
// version is added under find_for_update), while subscriptions to one plan do not wait for each
// other.
[[nodiscard]] std::optional<PlanRecord> find_for_key_share(Tx& tx, const TenantId& tenant,
                                                           const std::string& code);
// One page in code order, after `after_code`.
std::vector<PlanRecord> page(Tx& tx, const TenantId& tenant, const std::string& after_code,
                             std::size_t limit);
// The plan's name follows its latest version. False when no such plan.
[[nodiscard]] bool rename(Tx& tx, const TenantId& tenant, const std::string& code,
                          const std::string& name);

// False when the plan has that version number, or a version taking effect at that instant.
[[nodiscard]] bool insert_version(Tx& tx, const PlanVersionRecord& version);
// Every version of the plan, oldest first.
std::vector<PlanVersionRecord> versions(Tx& tx, const TenantId& tenant, const std::string& code);
}  // namespace plans

}  // namespace neruba::storage
