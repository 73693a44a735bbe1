#pragma once
// Meters (API.md "Usage"): what a tenant bills by.
#include <string>

#include "common/error.hpp"
#include "services/context.hpp"
#include "services/page.hpp"
#include "storage/db.hpp"
#include "storage/meters.hpp"

namespace neruba::services::meters {

// A POST /v1/meters body, every problem reported; the meter's id comes from the context.
Result<domain::MeterDefinition> parse_new_meter(const RequestContext& ctx, const json::Value& body);

// Creates the meter and counts into it the events of its type stored before it (backfill, in the
// same transaction), so a meter created late still sees all usage.
Result<storage::MeterRecord> create(storage::Tx& tx, const RequestContext& ctx,
                                    const domain::MeterDefinition& meter);
Page<storage::MeterRecord> list(storage::Tx& tx, const RequestContext& ctx,
                                const std::string& cursor, std::size_t limit);
Result<storage::MeterRecord> get(storage::Tx& tx, const RequestContext& ctx,
                                 const std::string& code);

// The document the audit trail records for a meter (and GET /v1/meters/{code} shows).
json::Value meter_document(const storage::MeterRecord& meter);

}  // namespace neruba::services::meters
