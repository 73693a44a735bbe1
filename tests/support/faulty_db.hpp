#pragma once
// A Db that fails or pauses chosen operations of the Db it wraps: LevelDB's fault-injection Env,
// for the SQL seam. Tests use it to fail a chosen statement or commit (and see that what was
// acknowledged survives and nothing is written twice), and to hold a thread at a chosen point so
// that an interleaving is forced rather than hoped for.
//
// Operations are counted as they run, so a test can first count the statements of a use case and
// then fail each of them in turn. Works the same on every backend.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db.hpp"

namespace neruba::test {

enum class Operation { begin_read, begin_write, statement, copy, commit };

// What is about to run.
struct OperationInfo {
  Operation operation = Operation::statement;
  std::string_view sql;                      // statement and copy; empty otherwise
  std::span<const storage::Param> params{};  // statement; copy: the stream as one TextRef
};

using OperationPredicate = std::function<bool(const OperationInfo&)>;

// Predicates for the common cases.
OperationPredicate is(Operation operation);
// A statement (or copy) whose SQL contains `text`.
OperationPredicate statement_containing(std::string text);
// A statement (or copy) whose SQL contains `text` and one of whose text parameters equals `value`
// (a copy stream: contains it).
OperationPredicate statement_with(std::string text, std::string value);

// A point where one thread is held until the test lets it go.
class Gate {
 public:
  // Blocks the arriving thread until open() (called by FaultyDb).
  void arrive_and_wait();
  // Waits until a thread has arrived; false when none did within the timeout.
  bool wait_until_reached(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void open();
  bool reached() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool reached_ = false;  // GUARDED_BY(mutex_)
  bool open_ = false;     // GUARDED_BY(mutex_)
};

class FaultyDb final : public storage::Db {
 public:
  explicit FaultyDb(storage::Db& inner) : inner_(inner) {}
  ~FaultyDb() override;

  storage::Dialect dialect() const override { return inner_.dialect(); }
  std::unique_ptr<storage::Tx> begin(storage::TxMode mode) override;
  bool ping() override { return inner_.ping(); }
  std::string describe() const override { return "faulty " + inner_.describe(); }

  enum class When { before, after };  // a commit that fails after it happened: the ack was lost

  // The first operation matching `predicate`, after `skip` matching ones ran (an operation another
  // rule failed did not run), throws a StorageError of `kind` instead of running (When::after:
  // runs, then throws). Once.
  void fail_once(OperationPredicate predicate, std::size_t skip = 0,
                 storage::StorageError::Kind kind = storage::StorageError::Kind::other,
                 When when = When::before);
  // Every operation matching `predicate` throws, until clear().
  void fail_always(OperationPredicate predicate,
                   storage::StorageError::Kind kind = storage::StorageError::Kind::other);
  // The first operation matching `predicate`, after `skip` matching ones ran, waits at the
  // returned gate before it runs (begin_write: before it asks the wrapped Db for a transaction) —
  // or fails, when a failure rule is due at it too.
  std::shared_ptr<Gate> pause_once(OperationPredicate predicate, std::size_t skip = 0);
  // Drops every rule; paused threads are let go.
  void clear();

  // Operations of this kind that ran (or were failed) since construction.
  std::size_t count(Operation operation) const;
  // Threads inside begin(write) right now: waiting for SQLite's one writer, or paused.
  std::size_t writers_waiting() const;
  // How many rules fired.
  std::size_t faults_injected() const;

  // Called by the wrapped transactions before (and after) each operation.
  void before(const OperationInfo& info);
  void after(const OperationInfo& info);

 private:
  struct Rule {
    OperationPredicate predicate;
    std::size_t skip = 0;
    bool once = true;
    bool fired = false;
    storage::StorageError::Kind kind = storage::StorageError::Kind::other;
    When when = When::before;
    std::shared_ptr<Gate> gate;  // a pause rather than a failure
  };

  storage::Db& inner_;
  mutable std::mutex mutex_;
  std::vector<Rule> rules_;                  // GUARDED_BY(mutex_)
  std::size_t counts_[5] = {0, 0, 0, 0, 0};  // GUARDED_BY(mutex_)
  std::size_t writers_waiting_ = 0;          // GUARDED_BY(mutex_)
  std::size_t faults_injected_ = 0;          // GUARDED_BY(mutex_)
};

}  // namespace neruba::test
