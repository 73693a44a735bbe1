#pragma once
// Every lock class Neruba takes, named in one place. Transaction-scoped PostgreSQL advisory locks,
// keyed (class, hashtext(tenant id)) for per-tenant ones; on SQLite each is a no-op, its single
// writer connection already serializing every write transaction. Lock order, where a transaction
// takes several: meters (shared or exclusive) → the tenant row (audit chain head) → bucket merge.
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage::locks {

enum class LockClass : int {
  migration = 7262011,     // the whole database: one node migrates, the others wait
  bucket_merge = 7262012,  // a tenant's usage buckets, while a commit adds to them
  meters = 7262013,        // a tenant's meters against its ingest (see below)
  billing = 7262014,       // a tenant's billing runs, one at a time
};

// Waits for and takes the database-wide migration lock.
void migration(Tx& tx);

// A tenant's usage bucket merges: two nodes never add to the same bucket at once. Taken by the
// ingest writer before it adds a commit's sums.
void bucket_merge(Tx& tx, const TenantId& tenant);

// A tenant's meters against its ingest. An ingest transaction holds them shared from before it
// reads the meters until it commits; a meter's creation holds them exclusively from before it
// backfills. So a new meter's backfill sees every event committed before the meter, and every
// commit after it counts its events into the meter. Unlike a lock on the tenant row, these leave
// the row alone: other audited changes of the tenant do not wait for ingest commits, and two
// writers sharing them create no MultiXact. Take `meters_exclusive` before anything that locks
// the tenant row (audit append), as ingest takes `meters_shared` first.
// A tenant's billing runs: each transaction of a run holds it, so two runs (two requests, two
// nodes) bill the tenant's customers one after the other and the second finds the first's
// invoices. Transaction-scoped: a run whose process dies loses it with its connection. Taken
// before any customer row.
void billing(Tx& tx, const TenantId& tenant);

void meters_shared(Tx& tx, const TenantId& tenant);
void meters_exclusive(Tx& tx, const TenantId& tenant);

}  // namespace neruba::storage::locks
