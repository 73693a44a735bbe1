#pragma once
// Idempotency-Key handling (Stripe-style), scoped per tenant. A key is claimed in its own committed
// transaction so concurrent nodes see it in flight; the response is stored in the same transaction
// as the change it reports, so a crash can never leave a change without its replayable response.
//
// A claim belongs to the one request that took it: its token is in every change to the claim, so
// a request releases or completes only its own claim — never one another request took meanwhile
// (after a release, or after a lease ran out).
#include <functional>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "services/context.hpp"
#include "storage/db.hpp"

namespace neruba::services {

struct IdempotencyClaim {
  TenantId scope;  // the tenant; the platform scope (empty id) for admin requests
  std::string key;
  std::string request_hash;  // of method, path and body
  std::string token;         // set once claimed: this request's claim
};

// What a replay answers: the first response, byte for byte.
struct StoredResponse {
  int status = 0;
  std::string body;
};

// Claims the key for this request (sets claim.token) → nullopt: go ahead. A StoredResponse:
// replay it. An Error: 409 (in flight, or the key was used with another request).
Result<std::optional<StoredResponse>> claim_idempotency_key(storage::Db& db,
                                                            IdempotencyClaim& claim, Instant now,
                                                            IdGenerator& ids);

// Stores the response under this request's claim, inside the transaction of the change it
// reports. An idempotency_in_flight error when the request no longer holds the claim (its lease
// ran out and another request took over): the caller must then not commit.
Status complete_idempotency_key(storage::Tx& tx, const IdempotencyClaim& claim,
                                const StoredResponse& response);

// Frees this request's claim so a corrected retry may use the key; never another request's. The
// owner of a claim calls it exactly once, when its request fails.
void release_idempotency_key(storage::Db& db, const IdempotencyClaim& claim);

// Runs `work` in one write transaction. On success stores `response_of(value)` under the claimed
// key (if any) and commits. On failure rolls back; the claim stays with its owner, who releases it.
template <typename T>
Result<T> execute_write(storage::Db& db, const std::optional<IdempotencyClaim>& claim,
                        const std::function<Result<T>(storage::Tx&)>& work,
                        const std::function<StoredResponse(const T&)>& response_of) {
  auto tx = db.begin(storage::TxMode::write);
  Result<T> outcome = work(*tx);
  if (!outcome.ok()) return outcome;
  if (claim) {
    if (auto completed = complete_idempotency_key(*tx, *claim, response_of(outcome.value()));
        !completed) {
      return completed.take_error();
    }
  }
  tx->commit();
  return outcome;
}

// Runs `work` in one read transaction.
template <typename T>
Result<T> execute_read(storage::Db& db, const std::function<Result<T>(storage::Tx&)>& work) {
  auto tx = db.begin(storage::TxMode::read);
  return work(*tx);
}

// Deletes completed keys older than the retention (at least 24 h).
std::int64_t purge_idempotency_keys(storage::Db& db, Instant now);

}  // namespace neruba::services
