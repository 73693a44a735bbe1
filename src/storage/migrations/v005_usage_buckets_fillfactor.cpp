#include "storage/migrations/migrations.hpp"

namespace neruba::storage::migrations {

Migration v005_usage_buckets_fillfactor() {
  return {5, "PostgreSQL: room on usage_buckets pages for in-place updates", {}, [](Tx& tx) {
            // Every ingest commit rewrites the buckets it touches. With free room on the page,
            // PostgreSQL writes the new row version beside the old one without a new index entry
            // (a HOT update); on full pages every update also inserts into the primary key index.
            if (tx.dialect() == Dialect::postgres) {
              tx.exec("ALTER TABLE usage_buckets SET (fillfactor = 70)");
            }
          }};
}

}  // namespace neruba::storage::migrations
