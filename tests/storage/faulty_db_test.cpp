// The fault-injecting Db of the tests (support/faulty_db.hpp), on every backend: it counts what
// runs through it, fails the chosen operation (once, after some that ran, or always), fails a
// commit after it happened, and holds a thread at a chosen operation until the test opens the gate.
#include "support/faulty_db.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>

#include "support/test_db.hpp"

namespace neruba::test {
namespace {

using namespace std::chrono_literals;
using storage::StorageError;
using storage::TxMode;

// A scratch table in a fresh database of `backend`, behind a FaultyDb.
class FaultyDbFixture {
 protected:
  explicit FaultyDbFixture(Backend backend) : database_(backend), faulty_(database_.db()) {
    database_.raw_exec("CREATE TABLE scratch (id BIGINT NOT NULL PRIMARY KEY, n BIGINT, s TEXT)");
  }

  // Inserts one row through the faulty Db, in a transaction of its own.
  void insert(std::int64_t id, const std::string& s = "") {
    auto tx = faulty_.begin(TxMode::write);
    tx->exec("INSERT INTO scratch (id, n, s) VALUES ($1, $2, $3)", {id, std::int64_t{0}, s});
    tx->commit();
  }

  // The kind of the StorageError `insert(id, s)` throws; nullopt when it throws none.
  std::optional<StorageError::Kind> insert_fails(std::int64_t id, const std::string& s = "") {
    try {
      insert(id, s);
    } catch (const StorageError& error) {
      return error.kind();
    }
    return std::nullopt;
  }

  // The ids stored, read past the faulty Db, in order.
  std::string stored_ids() {
    auto tx = database_.db().begin(TxMode::read);
    std::string out;
    for (const auto& row : tx->query("SELECT id FROM scratch ORDER BY id")) {
      out += (out.empty() ? "" : ",") + row.text(0);
    }
    return out;
  }

  // Waits until `condition` holds (it must within 10 s).
  template <typename Condition>
  static bool eventually(Condition condition) {
    for (int i = 0; i < 1000; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return condition();
  }

  TestDatabase database_;
  FaultyDb faulty_;
};

class FaultyDbTest : public FaultyDbFixture, public ::testing::TestWithParam<Backend> {
 protected:
  FaultyDbTest() : FaultyDbFixture(GetParam()) {}
};

// What only one backend has: PostgreSQL's COPY, SQLite's one writer. Not parameterized, so a run
// lists them once, under the backend they are about.
std::vector<Backend> postgres_only() {
  auto backends = test_backends();
  std::erase(backends, Backend::sqlite);
  return backends;
}

class FaultyDbPostgresTest : public FaultyDbTest {};

class FaultyDbSqliteTest : public FaultyDbFixture, public ::testing::Test {
 protected:
  FaultyDbSqliteTest() : FaultyDbFixture(Backend::sqlite) {}
};

TEST_P(FaultyDbTest, CountsWhatRunsThroughIt) {
  {
    auto tx = faulty_.begin(TxMode::write);
    tx->exec("INSERT INTO scratch (id) VALUES ($1)", {std::int64_t{1}});
    EXPECT_EQ(tx->query("SELECT id FROM scratch").size(), 1u);
    tx->commit();
  }
  { auto tx = faulty_.begin(TxMode::read); }
  EXPECT_EQ(faulty_.count(Operation::begin_write), 1u);
  EXPECT_EQ(faulty_.count(Operation::begin_read), 1u);
  EXPECT_EQ(faulty_.count(Operation::statement), 2u);
  EXPECT_EQ(faulty_.count(Operation::commit), 1u);
  EXPECT_EQ(faulty_.count(Operation::copy), 0u);
  EXPECT_EQ(faulty_.faults_injected(), 0u);
  EXPECT_EQ(faulty_.describe(), "faulty " + database_.db().describe());
  EXPECT_EQ(faulty_.dialect(), database_.db().dialect());
}

// fail_once(…, skip = 2): the third matching statement throws, instead of running; the statements
// before and after it run.
TEST_P(FaultyDbTest, FailOnceFailsTheNthMatchingStatementOnly) {
  faulty_.fail_once(statement_containing("INSERT INTO scratch"), 2,
                    StorageError::Kind::unavailable);
  EXPECT_EQ(insert_fails(1), std::nullopt);
  EXPECT_EQ(insert_fails(2), std::nullopt);
  EXPECT_EQ(insert_fails(3), StorageError::Kind::unavailable);
  EXPECT_EQ(insert_fails(4), std::nullopt);
  EXPECT_EQ(stored_ids(), "1,2,4");
  EXPECT_EQ(faulty_.faults_injected(), 1u);
  // Failed statements count as statements; the failed transaction never committed.
  EXPECT_EQ(faulty_.count(Operation::statement), 4u);
  EXPECT_EQ(faulty_.count(Operation::commit), 3u);
}

// fail_always(statement_with(…)): every statement carrying the value fails, others run, until
// clear().
TEST_P(FaultyDbTest, FailAlwaysFailsEveryStatementWithTheValueUntilCleared) {
  faulty_.fail_always(statement_with("INSERT INTO scratch", "refused"));
  EXPECT_EQ(insert_fails(1, "refused"), StorageError::Kind::other);
  EXPECT_EQ(insert_fails(2, "kept"), std::nullopt);
  EXPECT_EQ(insert_fails(3, "refused"), StorageError::Kind::other);
  // A parameter must equal the value, not merely contain it.
  EXPECT_EQ(insert_fails(4, "not refused"), std::nullopt);
  EXPECT_EQ(faulty_.faults_injected(), 2u);
  faulty_.clear();
  EXPECT_EQ(insert_fails(5, "refused"), std::nullopt);
  EXPECT_EQ(stored_ids(), "2,4,5");
}

// A COPY (PostgreSQL) matches statement_with when its stream contains the value.
TEST_P(FaultyDbPostgresTest, FailAlwaysFailsACopyWhoseStreamHoldsTheValue) {
  faulty_.fail_always(statement_with("COPY scratch", "refused"));
  const auto copy = [&](std::int64_t id,
                        const std::string& s) -> std::optional<StorageError::Kind> {
    storage::BinaryCopy stream;
    stream.row(3);
    stream.bigint(id);
    stream.null();
    stream.text(s);
    try {
      auto tx = faulty_.begin(TxMode::write);
      tx->copy_in("COPY scratch (id, n, s) FROM STDIN (FORMAT binary)", std::move(stream).finish());
      tx->commit();
    } catch (const StorageError& error) {
      return error.kind();
    }
    return std::nullopt;
  };
  EXPECT_EQ(copy(1, "refused"), StorageError::Kind::other);
  EXPECT_EQ(copy(2, "kept"), std::nullopt);
  EXPECT_EQ(stored_ids(), "2");
  EXPECT_EQ(faulty_.count(Operation::copy), 2u);
}

// When::after on a commit: the commit happens, then throws — an acknowledgement lost on the way.
TEST_P(FaultyDbTest, ACommitFailedAfterItRanIsDoneButThrows) {
  faulty_.fail_once(is(Operation::commit), 0, StorageError::Kind::unavailable,
                    FaultyDb::When::after);
  EXPECT_EQ(insert_fails(1), StorageError::Kind::unavailable);
  EXPECT_EQ(stored_ids(), "1");
  EXPECT_EQ(faulty_.faults_injected(), 1u);
  EXPECT_EQ(insert_fails(2), std::nullopt);  // once
  EXPECT_EQ(stored_ids(), "1,2");
}

// When::before on a commit: it throws instead of committing, and the transaction rolls back.
TEST_P(FaultyDbTest, ACommitFailedBeforeItRanLeavesNothing) {
  faulty_.fail_once(is(Operation::commit));
  EXPECT_EQ(insert_fails(1), StorageError::Kind::other);
  EXPECT_EQ(stored_ids(), "");
  EXPECT_EQ(insert_fails(2), std::nullopt);
  EXPECT_EQ(stored_ids(), "2");
}

// pause_once holds the thread at the operation, before it runs, until the gate opens.
TEST_P(FaultyDbTest, PauseOnceHoldsAThreadUntilTheGateOpens) {
  insert(1);
  const auto gate = faulty_.pause_once(statement_containing("INSERT INTO scratch"));
  std::atomic<bool> inserted = false;
  auto writer = std::async(std::launch::async, [&] {
    insert(2);
    inserted = true;
  });
  ASSERT_TRUE(gate->wait_until_reached());
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(stored_ids(), "1");
  EXPECT_EQ(faulty_.count(Operation::statement), 2u);  // counted when it arrived
  gate->open();
  writer.get();
  EXPECT_TRUE(inserted);
  EXPECT_EQ(stored_ids(), "1,2");
  EXPECT_EQ(insert_fails(3), std::nullopt);  // once: the next one runs through
}

// Rules count an operation each for itself: a pause does not hide it from a failure rule, and an
// operation another rule failed did not run, so no rule's `skip` counts it.
// Regression (was a bug, fixed): the first rule that matched ended the look at the others, so an
// operation paused by one rule was not counted by the next.
TEST_P(FaultyDbTest, EveryRuleCountsTheOperationsThatRan) {
  const auto gate = faulty_.pause_once(statement_containing("INSERT INTO scratch"));
  faulty_.fail_once(statement_containing("INSERT INTO scratch"), 1);
  auto writer = std::async(std::launch::async, [&] { return insert_fails(1); });
  ASSERT_TRUE(gate->wait_until_reached());
  gate->open();
  EXPECT_EQ(writer.get(), std::nullopt);                  // paused, then ran: skipped
  EXPECT_EQ(insert_fails(2), StorageError::Kind::other);  // the second that runs fails
  EXPECT_EQ(insert_fails(3), std::nullopt);

  // fail_once(skip = 1) stated first: the insert the second rule fails did not run, so the first
  // rule skips the next one instead.
  faulty_.clear();
  faulty_.fail_once(statement_containing("INSERT INTO scratch"), 1,
                    StorageError::Kind::unavailable);
  faulty_.fail_once(statement_containing("INSERT INTO scratch"));
  EXPECT_EQ(insert_fails(4), StorageError::Kind::other);
  EXPECT_EQ(insert_fails(5), std::nullopt);
  EXPECT_EQ(insert_fails(6), StorageError::Kind::unavailable);
  EXPECT_EQ(stored_ids(), "1,3,5");
  EXPECT_EQ(faulty_.faults_injected(), 3u);
}

// A pause and a failure due at the same operation: it is held, then fails when let go.
TEST_P(FaultyDbTest, APausedOperationMayThenFail) {
  const auto gate = faulty_.pause_once(is(Operation::commit));
  faulty_.fail_once(is(Operation::commit), 0, StorageError::Kind::serialization);
  auto writer = std::async(std::launch::async, [&] { return insert_fails(1); });
  ASSERT_TRUE(gate->wait_until_reached());
  gate->open();
  EXPECT_EQ(writer.get(), StorageError::Kind::serialization);
  EXPECT_EQ(stored_ids(), "");
}

// A thread paused at begin(write) is a writer waiting; clear() lets it go.
TEST_P(FaultyDbTest, ClearLetsAPausedWriterGo) {
  const auto gate = faulty_.pause_once(is(Operation::begin_write));
  EXPECT_EQ(faulty_.writers_waiting(), 0u);
  auto writer = std::async(std::launch::async, [&] { insert(1); });
  ASSERT_TRUE(gate->wait_until_reached());
  EXPECT_EQ(faulty_.writers_waiting(), 1u);
  faulty_.clear();
  writer.get();
  EXPECT_EQ(faulty_.writers_waiting(), 0u);
  EXPECT_EQ(stored_ids(), "1");
}

// SQLite has one writer: a second begin(write) waits inside the wrapped Db while a write
// transaction is open, and counts as waiting until it gets it.
TEST_F(FaultyDbSqliteTest, AWriterWaitingForSqlitesWriterIsCounted) {
  auto held = faulty_.begin(TxMode::write);
  auto writer = std::async(std::launch::async, [&] { insert(1); });
  EXPECT_TRUE(eventually([&] { return faulty_.writers_waiting() == 1; }));
  EXPECT_EQ(writer.wait_for(100ms), std::future_status::timeout);  // it waits for `held`
  held->commit();
  writer.get();
  EXPECT_EQ(faulty_.writers_waiting(), 0u);
  EXPECT_EQ(stored_ids(), "1");
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultyDbTest, ::testing::ValuesIn(test_backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Postgres, FaultyDbPostgresTest, ::testing::ValuesIn(postgres_only()),
                         backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FaultyDbPostgresTest);

// The predicates of the common cases match only their operations.
TEST(FaultyDbPredicates, MatchOnlyTheirOperations) {
  EXPECT_TRUE(is(Operation::commit)({Operation::commit, {}, {}}));
  EXPECT_FALSE(is(Operation::commit)({Operation::statement, "COMMIT", {}}));
  EXPECT_TRUE(statement_containing("FROM t")({Operation::statement, "SELECT 1 FROM t", {}}));
  EXPECT_TRUE(statement_containing("FROM t")({Operation::copy, "COPY x FROM t", {}}));
  EXPECT_FALSE(statement_containing("FROM t")({Operation::commit, {}, {}}));
  const storage::Param params[] = {std::int64_t{7}, std::string("ten_1"),
                                   storage::TextRef{"ten_2"}};
  EXPECT_TRUE(statement_with("events", "ten_1")({Operation::statement, "events", params}));
  EXPECT_TRUE(statement_with("events", "ten_2")({Operation::statement, "events", params}));
  EXPECT_FALSE(statement_with("events", "ten_")({Operation::statement, "events", params}));
  EXPECT_FALSE(statement_with("buckets", "ten_1")({Operation::statement, "events", params}));
  const storage::Param stream[] = {storage::TextRef{"\x01rows of ten_1\x02"}};
  EXPECT_TRUE(statement_with("events", "ten_1")({Operation::copy, "events", stream}));
}

}  // namespace
}  // namespace neruba::test
