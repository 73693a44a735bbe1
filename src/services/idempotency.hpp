#pragma once
// Idempotency-Key handling (Stripe-style), scoped per tenant. A key is claimed in its own committed
// transaction so concurrent nodes see it in flight; the response is stored in the same transaction
// as the change it reports, so a crash can never leave a change without its replayable response.
#include <functional>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "services/context.hpp"
#include "storage/db.hpp"

namespace neruba::services {

struct IdempotencyClaim {
  TenantId scope;  // the tenant; the platform scope (empty id) for admin requests
  std::string key;
  std::string request_hash;  // of method, path and body
};

// nullopt: go ahead (the key is now in flight). A Reply: replay it. An Error: 409.
Result<std::optional<Reply>> claim_idempotency_key(storage::Db& db, const IdempotencyClaim& claim,
                                                   Instant now);

// Runs `work` in one write transaction. On success stores the reply under the claimed key (if any)
// and commits; on failure rolls back and releases the key so the client may retry corrected input.
Result<Reply> execute_write(storage::Db& db, const std::optional<IdempotencyClaim>& claim,
                            const std::function<Result<Reply>(storage::Tx&)>& work);

// Runs `work` in one read transaction.
Result<Reply> execute_read(storage::Db& db, const std::function<Result<Reply>(storage::Tx&)>& work);

// Frees a key still in flight (a no-op for a completed one), so a corrected retry can use it.
void release_idempotency_key(storage::Db& db, const IdempotencyClaim& claim);

// Deletes completed keys older than the retention (at least 24 h).
std::int64_t purge_idempotency_keys(storage::Db& db, Instant now);

}  // namespace neruba::services
