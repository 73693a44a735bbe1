#pragma once
// Customers: the tenant's end customers (API.md Catalog).
#include "common/error.hpp"
#include "services/context.hpp"
#include "storage/db.hpp"

namespace neruba::services::customers {

Result<Reply> create(storage::Tx& tx, const RequestContext& ctx, const json::Value& body,
                     CustomerId id);
Result<Reply> get(storage::Tx& tx, const RequestContext& ctx, const std::string& external_id);
Result<Reply> list(storage::Tx& tx, const RequestContext& ctx, const std::string& cursor,
                   std::size_t limit);

}  // namespace neruba::services::customers
