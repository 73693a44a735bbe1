#include "storage/idempotency.hpp"

#include "domain/time.hpp"

namespace neruba::storage::idempotency {

using domain::from_unix_micros;
using domain::to_unix_micros;

std::optional<IdempotencyRecord> find(Tx& tx, const TenantId& scope, const std::string& key) {
  const char* statement =
      tx.dialect() == Dialect::postgres
          ? "SELECT request_hash, state, claim_token, response_status, response_body, created_at, "
            "locked_until FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 FOR "
            "UPDATE"
          : "SELECT request_hash, state, claim_token, response_status, response_body, created_at, "
            "locked_until FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2";
  const auto rows = tx.query(statement, {scope.str(), key});
  if (rows.empty()) return std::nullopt;
  const Row& row = rows.front();
  IdempotencyRecord record;
  record.request_hash = row.text(0);
  record.state = row.text(1) == "done" ? IdempotencyState::done : IdempotencyState::in_flight;
  record.claim_token = row.text(2);
  if (!row.is_null(3)) record.response_status = static_cast<int>(row.integer(3));
  record.response_body = row.optional_text(4).value_or("");
  record.created_at = from_unix_micros(row.integer(5));
  record.locked_until = from_unix_micros(row.integer(6));
  return record;
}

bool insert_in_flight(Tx& tx, const TenantId& scope, const std::string& key,
                      const std::string& request_hash, const std::string& claim_token, Instant now,
                      Instant locked_until) {
  return tx.exec(
             "INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_hash, state, "
             "claim_token, created_at, locked_until) VALUES ($1, $2, $3, 'in_flight', $4, $5, $6) "
             "ON CONFLICT DO NOTHING",
             {scope.str(), key, request_hash, claim_token, to_unix_micros(now),
              to_unix_micros(locked_until)}) == 1;
}

bool take_over(Tx& tx, const TenantId& scope, const std::string& key,
               const std::string& expired_token, const std::string& claim_token,
               Instant locked_until) {
  return tx.exec(
             "UPDATE idempotency_keys SET claim_token = $4, locked_until = $5 WHERE tenant_id = $1 "
             "AND idempotency_key = $2 AND state = 'in_flight' AND claim_token = $3",
             {scope.str(), key, expired_token, claim_token, to_unix_micros(locked_until)}) == 1;
}

bool complete(Tx& tx, const TenantId& scope, const std::string& key, const std::string& claim_token,
              int status, const std::string& body) {
  return tx.exec(
             "UPDATE idempotency_keys SET state = 'done', response_status = $4, response_body = $5 "
             "WHERE tenant_id = $1 AND idempotency_key = $2 AND state = 'in_flight' AND "
             "claim_token = $3",
             {scope.str(), key, claim_token, std::int64_t{status}, body}) == 1;
}

bool release(Tx& tx, const TenantId& scope, const std::string& key,
             const std::string& claim_token) {
  return tx.exec(
             "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 AND "
             "state = 'in_flight' AND claim_token = $3",
             {scope.str(), key, claim_token}) == 1;
}

std::int64_t purge_older_than(Tx& tx, Instant cutoff) {
  return tx.exec("DELETE FROM idempotency_keys WHERE created_at < $1 AND state = 'done'",
                 {to_unix_micros(cutoff)});
}

}  // namespace neruba::storage::idempotency
