#pragma once
// Idempotency-Key rows: a key claimed in flight by one request (its claim token), then done with
// the response to replay. Every change to a claim names the token of the request that holds it,
// so a request can only ever release or complete its own claim — never one another request took
// since.
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

enum class IdempotencyState { in_flight, done };

struct IdempotencyRecord {
  std::string request_hash;
  IdempotencyState state = IdempotencyState::in_flight;
  std::string claim_token;  // of the request that holds (or completed) the claim
  int response_status = 0;
  std::string response_body;
  Instant created_at;
  Instant locked_until;
};

namespace idempotency {
// The key's row (PostgreSQL: locked FOR UPDATE for the rest of the transaction).
std::optional<IdempotencyRecord> find(Tx& tx, const TenantId& scope, const std::string& key);
// Claims the key for the request holding `claim_token`. False when a row for the key exists.
[[nodiscard]] bool insert_in_flight(Tx& tx, const TenantId& scope, const std::string& key,
                                    const std::string& request_hash, const std::string& claim_token,
                                    Instant now, Instant locked_until);
// Moves an in-flight claim whose lease ran out from `expired_token` to `claim_token`. False when
// the claim is no longer `expired_token`'s (another request took it over first, or it ended).
[[nodiscard]] bool take_over(Tx& tx, const TenantId& scope, const std::string& key,
                             const std::string& expired_token, const std::string& claim_token,
                             Instant locked_until);
// Stores the response of the request holding `claim_token`. False when that request no longer
// holds the claim (its lease ran out and another took it over): its work must not commit.
[[nodiscard]] bool complete(Tx& tx, const TenantId& scope, const std::string& key,
                            const std::string& claim_token, int status, const std::string& body);
// Frees the key, if `claim_token` still holds it in flight. False when it does not (completed, or
// taken over): then nothing is deleted.
[[nodiscard]] bool release(Tx& tx, const TenantId& scope, const std::string& key,
                           const std::string& claim_token);
std::int64_t purge_older_than(Tx& tx, Instant cutoff);
}  // namespace idempotency

}  // namespace neruba::storage
