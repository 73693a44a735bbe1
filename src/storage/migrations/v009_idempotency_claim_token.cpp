#include "storage/migrations/migrations.hpp"

namespace neruba::storage::migrations {

Migration v009_idempotency_claim_token() {
  return {9,
          "idempotency keys: the claim token of the request holding the key",
          {
              // A request releases or completes only the claim it holds: every change names its
              // token. Claims taken before this migration have none ('') and complete as before
              // only if nobody took them over.
              "ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT NOT NULL DEFAULT ''",
          }};
}

}  // namespace neruba::storage::migrations
