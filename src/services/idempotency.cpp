#include "services/idempotency.hpp"

#include "common/limits.hpp"
#include "storage/repositories.hpp"

namespace neruba::services {
namespace {

using std::chrono::seconds;

Result<std::optional<Reply>> evaluate(const storage::IdempotencyRecord& record,
                                      const IdempotencyClaim& claim, storage::Tx& tx, Instant now,
                                      bool& took_over) {
  if (record.request_hash != claim.request_hash) {
    return Error::make(ErrorCode::idempotency_key_reused,
                       "This Idempotency-Key was already used with a different request.");
  }
  if (record.state == storage::IdempotencyState::done) {
    auto body = json::parse(record.response_body);
    if (!body)
      throw storage::StorageError(storage::StorageError::Kind::other, "stored response is corrupt");
    return std::optional<Reply>(Reply{record.response_status, std::move(body).value()});
  }
  if (record.locked_until > now) {
    return Error::make(
        ErrorCode::idempotency_in_flight,
        "A request with this Idempotency-Key is still being processed; retry later.");
  }
  // The first attempt died without finishing (its lease ran out): this attempt takes over.
  storage::idempotency::take_over(tx, claim.scope, claim.key,
                                  now + seconds(limits::idempotency_in_flight_lease_seconds));
  took_over = true;
  return std::optional<Reply>();
}

}  // namespace

void release_idempotency_key(storage::Db& db, const IdempotencyClaim& claim) {
  auto tx = db.begin(storage::TxMode::write);
  storage::idempotency::release(*tx, claim.scope, claim.key);
  tx->commit();
}

Result<std::optional<Reply>> claim_idempotency_key(storage::Db& db, const IdempotencyClaim& claim,
                                                   Instant now) {
  auto tx = db.begin(storage::TxMode::write);
  const Instant lease_end = now + seconds(limits::idempotency_in_flight_lease_seconds);
  if (storage::idempotency::insert_in_flight(*tx, claim.scope, claim.key, claim.request_hash, now,
                                             lease_end)) {
    tx->commit();
    return std::optional<Reply>();
  }
  const auto existing = storage::idempotency::find(*tx, claim.scope, claim.key);
  if (!existing) {
    // Released between our insert and read: the key is free again; claim it now.
    storage::idempotency::insert_in_flight(*tx, claim.scope, claim.key, claim.request_hash, now,
                                           lease_end);
    tx->commit();
    return std::optional<Reply>();
  }
  bool took_over = false;
  auto outcome = evaluate(*existing, claim, *tx, now, took_over);
  if (took_over) tx->commit();
  return outcome;
}

Result<Reply> execute_write(storage::Db& db, const std::optional<IdempotencyClaim>& claim,
                            const std::function<Result<Reply>(storage::Tx&)>& work) {
  std::optional<Result<Reply>> outcome;
  try {
    auto tx = db.begin(storage::TxMode::write);
    outcome.emplace(work(*tx));
    if (outcome->ok()) {
      if (claim) {
        const Reply& reply = outcome->value();
        storage::idempotency::complete(
            *tx, claim->scope, claim->key, reply.status,
            json::serialize(reply.replay_body ? *reply.replay_body : reply.body));
      }
      tx->commit();
      return std::move(*outcome);
    }
  } catch (...) {
    if (claim) release_idempotency_key(db, *claim);
    throw;
  }
  if (claim) release_idempotency_key(db, *claim);
  return std::move(*outcome);
}

Result<Reply> execute_read(storage::Db& db,
                           const std::function<Result<Reply>(storage::Tx&)>& work) {
  auto tx = db.begin(storage::TxMode::read);
  return work(*tx);
}

std::int64_t purge_idempotency_keys(storage::Db& db, Instant now) {
  auto tx = db.begin(storage::TxMode::write);
  const auto purged = storage::idempotency::purge_older_than(
      *tx, now - seconds(limits::idempotency_retention_seconds));
  tx->commit();
  return purged;
}

}  // namespace neruba::services
