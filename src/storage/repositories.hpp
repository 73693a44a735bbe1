#pragma once
// Repositories: the one place that knows table layouts. Written once against the SQL seam and
// shared by both backends. Every function takes the tenant explicitly; no query spans tenants.
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "json/json.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct TenantRecord {
  TenantId id;
  std::string name;
  std::string currency;
  std::string timezone;
  json::Value settings;  // an object; see services/settings.hpp
  Instant created_at;
};

struct ApiKeyRecord {
  TenantId tenant;
  ApiKeyId id;
  std::string name;
  std::vector<std::string> scopes;
  std::string key_hash;    // SHA-256 hex of the whole secret key
  std::string key_prefix;  // first characters of the key, to recognise it in listings
  Instant created_at;
  std::optional<Instant> revoked_at;
};

struct CustomerRecord {
  TenantId tenant;
  CustomerId id;
  std::string external_id;
  std::string name;
  std::string currency;
  std::string timezone;
  json::Value metadata;  // an object of string values
  Instant created_at;
};

struct AuditRecord {
  TenantId tenant;
  std::int64_t seq = 0;
  AuditRecordId id;
  Instant time;
  std::string actor_type;  // api_key | admin | member
  std::string actor_id;
  std::string actor_name;
  std::string action;
  std::string target;
  std::optional<std::string> reason_code;
  std::optional<std::string> justification;
  std::string request_id;
  std::optional<json::Value> before;
  std::optional<json::Value> after;
  std::string prev_hash;
  std::string hash;
};

struct AuditHead {
  std::int64_t seq = 0;
  std::string hash;  // empty before the first record
};

struct AuditFilter {
  std::optional<Instant> from;  // inclusive
  std::optional<Instant> to;    // exclusive
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<std::string> target;
  std::int64_t after_seq = 0;  // cursor
  std::size_t limit = 100;
};

enum class IdempotencyState { in_flight, done };

struct IdempotencyRecord {
  std::string request_hash;
  IdempotencyState state = IdempotencyState::in_flight;
  int response_status = 0;
  std::string response_body;
  Instant created_at;
  Instant locked_until;
};

namespace tenants {
bool insert(Tx& tx, const TenantRecord& tenant);
std::optional<TenantRecord> find(Tx& tx, const TenantId& id);
std::vector<TenantRecord> list(Tx& tx, const std::string& after_id, std::size_t limit);
void update(Tx& tx, const TenantRecord& tenant);
// Locks the tenant row for the rest of the transaction (PostgreSQL FOR UPDATE; SQLite already
// serializes writers) and returns the audit chain head. nullopt when the tenant does not exist.
std::optional<AuditHead> lock_audit_head(Tx& tx, const TenantId& id);
AuditHead audit_head(Tx& tx, const TenantId& id);
void set_audit_head(Tx& tx, const TenantId& id, const AuditHead& head);
}  // namespace tenants

namespace api_keys {
void insert(Tx& tx, const ApiKeyRecord& key);
std::optional<ApiKeyRecord> find_by_hash(Tx& tx, const TenantId& tenant,
                                         const std::string& key_hash);
std::optional<ApiKeyRecord> find(Tx& tx, const TenantId& tenant, const ApiKeyId& id);
std::vector<ApiKeyRecord> list(Tx& tx, const TenantId& tenant, const std::string& after_id,
                               std::size_t limit);
void revoke(Tx& tx, const TenantId& tenant, const ApiKeyId& id, Instant at);
}  // namespace api_keys

namespace customers {
// False when the external id is taken.
bool insert(Tx& tx, const CustomerRecord& customer);
std::optional<CustomerRecord> find_by_external_id(Tx& tx, const TenantId& tenant,
                                                  const std::string& external_id);
std::vector<CustomerRecord> list(Tx& tx, const TenantId& tenant,
                                 const std::string& after_external_id, std::size_t limit);
}  // namespace customers

namespace audit {
void insert(Tx& tx, const AuditRecord& record);
std::vector<AuditRecord> list(Tx& tx, const TenantId& tenant, const AuditFilter& filter);
// Records in seq order starting after `after_seq`, for verification in pages.
std::vector<AuditRecord> page(Tx& tx, const TenantId& tenant, std::int64_t after_seq,
                              std::size_t limit);
}  // namespace audit

namespace idempotency {
std::optional<IdempotencyRecord> find(Tx& tx, const TenantId& scope, const std::string& key);
// False when a row for the key exists already.
bool insert_in_flight(Tx& tx, const TenantId& scope, const std::string& key,
                      const std::string& request_hash, Instant now, Instant locked_until);
void take_over(Tx& tx, const TenantId& scope, const std::string& key, Instant locked_until);
void complete(Tx& tx, const TenantId& scope, const std::string& key, int status,
              const std::string& body);
void release(Tx& tx, const TenantId& scope, const std::string& key);
std::int64_t purge_older_than(Tx& tx, Instant cutoff);
}  // namespace idempotency

}  // namespace neruba::storage
