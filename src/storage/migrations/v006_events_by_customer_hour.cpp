#include "storage/migrations/migrations.hpp"

namespace neruba::storage::migrations {

Migration v006_events_by_customer_hour() {
  return {6,
          "events_by_customer_hour: a customer's events by hour, in arrival order within it",
          {
              // Events arrive a little out of order (clients batch and retry), so keyed by
              // (customer_id, occurred_at) each new entry lands on its own page among the
              // customer's last minutes, and a commit rewrote about one index page per event. Keyed
              // by the hour only, a customer's entries within an hour sort by arrival (rowid on
              // SQLite, heap position on PostgreSQL): a commit appends them at the end of the
              // customer's current hour, one page or two per customer. Reads of a partial hour scan
              // the whole hour of the customer and filter on occurred_at. The expression is the one
              // events::range queries with (truncating division, the same in both dialects).
              "DROP INDEX events_by_customer_time",
              "CREATE INDEX events_by_customer_hour ON events (customer_id, (occurred_at / "
              "3600000000))",
          }};
}

}  // namespace neruba::storage::migrations
