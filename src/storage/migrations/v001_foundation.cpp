#include "storage/migrations/migrations.hpp"

namespace neruba::storage::migrations {

Migration v001_foundation() {
  return {1,
          "foundation: tenants, api keys, customers, idempotency, audit",
          {
              R"(CREATE TABLE tenants (
                tenant_id TEXT NOT NULL PRIMARY KEY,
                name TEXT NOT NULL,
                currency TEXT NOT NULL,
                timezone TEXT NOT NULL,
                settings TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                audit_seq BIGINT NOT NULL DEFAULT 0,
                audit_head TEXT NOT NULL DEFAULT ''))",
              R"(CREATE TABLE api_keys (
                tenant_id TEXT NOT NULL,
                key_id TEXT NOT NULL,
                name TEXT NOT NULL,
                scopes TEXT NOT NULL,
                key_hash TEXT NOT NULL,
                key_prefix TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT,
                PRIMARY KEY (tenant_id, key_id)))",
              "CREATE UNIQUE INDEX api_keys_by_hash ON api_keys (tenant_id, key_hash)",
              R"(CREATE TABLE customers (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                external_id TEXT NOT NULL,
                name TEXT NOT NULL,
                currency TEXT NOT NULL,
                timezone TEXT NOT NULL,
                metadata TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, customer_id)))",
              "CREATE UNIQUE INDEX customers_by_external_id ON customers (tenant_id, external_id)",
              R"(CREATE TABLE idempotency_keys (
                tenant_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                state TEXT NOT NULL,
                response_status BIGINT,
                response_body TEXT,
                created_at BIGINT NOT NULL,
                locked_until BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, idempotency_key)))",
              "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)",
              R"(CREATE TABLE audit_records (
                tenant_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                record_id TEXT NOT NULL,
                occurred_at BIGINT NOT NULL,
                actor_type TEXT NOT NULL,
                actor_id TEXT NOT NULL,
                actor_name TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                reason_code TEXT,
                justification TEXT,
                request_id TEXT NOT NULL,
                before_json TEXT,
                after_json TEXT,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                PRIMARY KEY (tenant_id, seq)))",
              "CREATE INDEX audit_records_by_time ON audit_records (tenant_id, occurred_at)",
          }};
}

}  // namespace neruba::storage::migrations
