#pragma once
// Forcing an interleaving on PostgreSQL: a test holds a transaction open and waits until the
// request it races waits for it, before it lets go.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <thread>

#include "storage/db.hpp"

namespace neruba::test {

// Returns once `count` lock requests wait for `tx` to end (a row it locked or inserted: they wait
// on its transaction id), with the number then waiting; fails the test after 10 s. PostgreSQL only.
inline std::int64_t wait_for_transaction_waiters(storage::Tx& tx, std::int64_t count) {
  std::int64_t waiting = 0;
  for (int i = 0; i < 1000; ++i) {
    waiting = tx.query(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = "
                    "'transactionid' AND transactionid = xid(pg_current_xact_id())")
                  .at(0)
                  .integer(0);
    if (waiting >= count) return waiting;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << waiting << " lock requests wait, expected " << count;
  return waiting;
}

}  // namespace neruba::test
