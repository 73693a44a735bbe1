#pragma once
// Meters: which events a tenant bills by, and how they aggregate.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "domain/metering.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct MeterRecord {
  domain::MeterDefinition definition;
  Instant created_at;
};

namespace meters {
// False when the code (or the id) is taken.
[[nodiscard]] bool insert(Tx& tx, const TenantId& tenant, const MeterRecord& meter);
std::vector<MeterRecord> list(Tx& tx, const TenantId& tenant);
// One page in code order, after `after_code`.
std::vector<MeterRecord> page(Tx& tx, const TenantId& tenant, const std::string& after_code,
                              std::size_t limit);
std::optional<MeterRecord> find_by_code(Tx& tx, const TenantId& tenant, const std::string& code);
}  // namespace meters

}  // namespace neruba::storage
