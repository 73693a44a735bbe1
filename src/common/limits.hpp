#pragma once
// Every bound of the system, named in one place, enforced at the edge and asserted in the core.
#include <cstddef>
#include <cstdint>

namespace neruba::limits {

inline constexpr std::size_t body_bytes_max = 10 * 1024 * 1024;  // API.md: 10 MiB a batch
inline constexpr std::size_t header_bytes_max = 16 * 1024;
inline constexpr std::size_t json_depth_max = 64;
inline constexpr std::size_t events_per_batch_max = 10'000;
inline constexpr std::size_t page_size_default = 100;
inline constexpr std::size_t page_size_max = 1000;
inline constexpr std::size_t name_length_max = 200;
inline constexpr std::size_t external_id_length_max = 255;
inline constexpr std::size_t plan_code_length_max = 64;
inline constexpr std::size_t idempotency_key_length_max = 255;
inline constexpr std::size_t justification_length_max = 2000;
inline constexpr std::size_t request_id_length_max = 128;
inline constexpr std::int64_t idempotency_retention_seconds = 24 * 3600;
inline constexpr std::int64_t idempotency_in_flight_lease_seconds = 120;
// A new connection's request header must arrive within header_timeout_seconds; a kept-alive one
// may wait idle_timeout_seconds for its next request (and a response may take that long to write).
// A body has no overall deadline (10 MiB at a slow link's pace takes minutes): it times out only
// when no byte of it arrives for body_inactivity_timeout_seconds (`neruba serve
// --body-inactivity-timeout` sets another). Timed-out bodies and half-sent headers get a 408.
inline constexpr int header_timeout_seconds = 10;
inline constexpr int idle_timeout_seconds = 60;
inline constexpr int body_inactivity_timeout_seconds = 30;
// `neruba serve --billing-interval SECONDS`: the billing scheduler's pause between passes, at most
// a year (0, the default, turns it off).
inline constexpr int billing_interval_seconds_max = 366 * 24 * 3600;
// Lingering close (as nginx's): after a refusal sent before the request was read (413, 408, 400),
// the rest of the request is read and discarded until the client closes — at most this many bytes,
// for this long in all, and while bytes keep coming — so that a client still sending its body
// reads the answer instead of a connection reset.
inline constexpr std::size_t lingering_close_bytes_max = 32 * 1024 * 1024;
inline constexpr int lingering_close_seconds = 30;
inline constexpr int lingering_close_inactivity_seconds = 5;
inline constexpr int drain_timeout_seconds = 20;
inline constexpr std::size_t ingest_in_flight_events_max = 50'000;  // per tenant, queued or writing
// Group commit. SQLite has one writer: the larger its commits, the more events share the pages a
// commit rewrites. PostgreSQL has two writers, so that while one waits on the database the other
// works; smaller commits let both have one.
inline constexpr std::size_t ingest_sqlite_events_per_commit_max = 40'000;
inline constexpr std::size_t ingest_postgres_events_per_commit_max = 20'000;
inline constexpr std::size_t ingest_postgres_writers = 2;
// PostgreSQL writes events by COPY, each COPY under a savepoint, from this many events (a
// commit's batches of one tenant together, else a batch alone). A COPY that stays writes at least
// this many of the commit's events (an undone one leaves no subtransaction behind); the bucket
// sums of every tenant of the commit share one more savepoint (usage::add_to_buckets). So a
// commit, however many tenants it serves, stays within the 64 subtransactions PostgreSQL tracks
// per transaction without spilling.
inline constexpr std::size_t ingest_postgres_copy_events_min = 500;
static_assert((ingest_postgres_events_per_commit_max + events_per_batch_max) /
                          ingest_postgres_copy_events_min +
                      1 <
                  64,
              "a PostgreSQL commit must hold fewer than 64 savepoints");
// `neruba ledger verify` reads a tenant's ledger this many transactions (with their entries), then
// accounts (with their entries' sums), at a time.
inline constexpr std::size_t ledger_verify_page_size = 500;
inline constexpr int late_event_window_days_default = 35;
inline constexpr int late_event_window_days_max = 3650;
inline constexpr int future_event_skew_seconds_default = 300;
inline constexpr int future_event_skew_seconds_max = 86400;

// Usage reads and daily rollups (services/usage.cpp). A set-based read sends this many customer
// windows per statement; a roll-up rolls this many customers per transaction and re-rolls at most
// this many stale days per call; a UTC day is rolled up once it ended this long ago (late events
// after that mark the day stale rather than being missed).
inline constexpr std::size_t usage_read_windows_per_chunk = 500;
inline constexpr std::size_t usage_rollup_customers_per_transaction = 1000;
inline constexpr std::size_t usage_rollup_stale_days_per_call = 10'000;
inline constexpr int usage_rollup_lag_minutes = 60;

// Pricing (domain/pricing/validation.cpp). Unit prices keep up to 12 fraction digits (DESIGN.md
// principle 2; Stripe's unit_amount_decimal allows the same). A plan's tiers are bounded so that
// pricing one line stays cheap whatever a tenant configures.
inline constexpr int unit_price_scale_max = 12;
inline constexpr std::size_t tiers_max = 100;
inline constexpr std::size_t plan_charges_max = 50;  // charges of one plan version

}  // namespace neruba::limits
