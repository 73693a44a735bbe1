#include "services/idempotency.hpp"

#include "common/assert.hpp"
#include "common/limits.hpp"
#include "common/log.hpp"
#include "storage/idempotency.hpp"

namespace neruba::services {
namespace {

using std::chrono::seconds;

constexpr std::string_view claim_token_prefix = id_prefix::idempotency_claim;
// Each attempt either claims, or finds a row; a row can vanish between the two only when its owner
// released it, and that can happen again. Beyond this many rounds the key is busy: say so.
constexpr int claim_attempts_max = 5;

Error in_flight() {
  return Error::make(ErrorCode::idempotency_in_flight,
                     "A request with this Idempotency-Key is still being processed; retry later.");
}

}  // namespace

Result<std::optional<StoredResponse>> claim_idempotency_key(storage::Db& db,
                                                            IdempotencyClaim& claim, Instant now,
                                                            IdGenerator& ids) {
  const std::string token = ids.next(claim_token_prefix);
  const Instant lease_end = now + seconds(limits::idempotency_in_flight_lease_seconds);
  for (int attempt = 0; attempt < claim_attempts_max; ++attempt) {
    auto tx = db.begin(storage::TxMode::write);
    if (storage::idempotency::insert_in_flight(*tx, claim.scope, claim.key, claim.request_hash,
                                               token, now, lease_end)) {
      tx->commit();
      claim.token = token;
      return std::optional<StoredResponse>();
    }
    const auto existing = storage::idempotency::find(*tx, claim.scope, claim.key);
    if (!existing) continue;  // released between the insert and the read: try again
    if (existing->request_hash != claim.request_hash) {
      return Error::make(ErrorCode::idempotency_key_reused,
                         "This Idempotency-Key was already used with a different request.");
    }
    if (existing->state == storage::IdempotencyState::done) {
      return std::optional<StoredResponse>(
          StoredResponse{existing->response_status, existing->response_body});
    }
    if (existing->locked_until > now) return in_flight();
    // The request holding the claim died without finishing (its lease ran out): this one takes
    // over — unless another got there first.
    if (!storage::idempotency::take_over(*tx, claim.scope, claim.key, existing->claim_token, token,
                                         lease_end)) {
      return in_flight();
    }
    tx->commit();
    claim.token = token;
    return std::optional<StoredResponse>();
  }
  return in_flight();
}

Status complete_idempotency_key(storage::Tx& tx, const IdempotencyClaim& claim,
                                const StoredResponse& response) {
  NERUBA_ASSERT_MSG(!claim.token.empty(), "completing a claim this request never took");
  if (!storage::idempotency::complete(tx, claim.scope, claim.key, claim.token, response.status,
                                      response.body)) {
    return Error::make(ErrorCode::idempotency_in_flight,
                       "This request took longer than its Idempotency-Key lease and another "
                       "request with the key took over; nothing of this one was kept.");
  }
  return ok_status();
}

void release_idempotency_key(storage::Db& db, const IdempotencyClaim& claim) {
  NERUBA_ASSERT_MSG(!claim.token.empty(), "releasing a claim this request never took");
  auto tx = db.begin(storage::TxMode::write);
  // False when the claim is no longer this request's (taken over after its lease ran out): nothing
  // to free then, and nothing of another request's is touched — worth a line in the log, as a
  // request that outlived its lease is.
  const bool released = storage::idempotency::release(*tx, claim.scope, claim.key, claim.token);
  tx->commit();
  if (!released) {
    log::warn("idempotency claim was no longer this request's when it failed",
              {{"tenant", claim.scope.str()}, {"idempotency_key", claim.key}});
  }
}

std::int64_t purge_idempotency_keys(storage::Db& db, Instant now) {
  auto tx = db.begin(storage::TxMode::write);
  const auto purged = storage::idempotency::purge_older_than(
      *tx, now - seconds(limits::idempotency_retention_seconds));
  tx->commit();
  return purged;
}

}  // namespace neruba::services
