// SQLite backend: one writer connection (SQLite allows one writer at a time; queueing on a mutex
// is cheaper than spinning on SQLITE_BUSY) and a pool of reader connections that WAL lets run
// beside it. synchronous=FULL makes a returned commit durable. Checkpoints (copying committed WAL
// pages back into the database file) run on a thread of their own, not inside the writer's commit.
#include "storage/sqlite/sqlite_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/log.hpp"
#include "domain/decimal.hpp"
#include "storage/columns.hpp"

namespace neruba::storage {
namespace {

constexpr int busy_timeout_ms = 10'000;
// The WAL (4 KiB pages): the checkpointer thread copies committed pages back into the database
// file whenever the writer's commits have added `checkpoint_pages` since its last pass; once the
// WAL holds `restart_pages`, the writer itself checkpoints the small remainder before its next
// transaction, so that transaction starts the WAL again from its beginning. The file keeps its
// size (its blocks stay allocated: rewriting them costs less than growing the file again).
constexpr int checkpoint_pages = 4'000;
constexpr int restart_pages = 64'000;
// …and waits for a running pass only past this size (the WAL must not grow without bound).
constexpr int wal_pages_max = 160'000;
constexpr const char* journal_size_limit = "PRAGMA journal_size_limit=536870912";
// Exact decimal arithmetic in SQL, for usage::add_to_buckets: the stored totals are decimal text,
// and these add and compare them with the same code (domain::Decimal) as the rest of Neruba, so
// a bucket merged in place holds what a merge in C++ would have written. A sum beyond the type's
// 36 digits is an error that names itself (columns::decimal_sum_overflow).
std::optional<domain::Decimal> decimal_argument(sqlite3_value* value) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
  const auto parsed = domain::Decimal::parse(
      std::string_view(text, static_cast<std::size_t>(sqlite3_value_bytes(value))));
  if (!parsed) return std::nullopt;
  return *parsed;
}

// The two decimal operands, or nothing when the function has answered already: a NULL operand
// counts as nothing (the result is the other one), text that is no decimal is an error.
std::optional<std::pair<domain::Decimal, domain::Decimal>> operands(sqlite3_context* context,
                                                                    sqlite3_value** argv) {
  for (const int i : {0, 1}) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      sqlite3_result_value(context, argv[1 - i]);
      return std::nullopt;
    }
  }
  auto a = decimal_argument(argv[0]);
  auto b = decimal_argument(argv[1]);
  if (!a || !b) {
    sqlite3_result_error(context, "neruba decimal function: an operand is not a decimal", -1);
    return std::nullopt;
  }
  return std::pair(std::move(*a), std::move(*b));
}

// Set by neruba_decimal_sum on its connection's flag (the function's user data) when a total does
// not fit, so that the statement's error is reported as Kind::decimal_overflow.
using OverflowFlag = bool;

// neruba_decimal_sum(a, b): a + b.
void decimal_sum(sqlite3_context* context, int, sqlite3_value** argv) {
  const auto both = operands(context, argv);
  if (!both) return;
  const auto total = both->first.add(both->second);
  if (!total) {
    *static_cast<OverflowFlag*>(sqlite3_user_data(context)) = true;
    return sqlite3_result_error(context, std::string(columns::decimal_sum_overflow).c_str(), -1);
  }
  const std::string text = total->to_string();
  sqlite3_result_text(context, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

// neruba_decimal_max(a, b): the larger; of equal values the one with more decimal places, as
// domain::Aggregate::merge decides (so the text never depends on merge order).
void decimal_max(sqlite3_context* context, int, sqlite3_value** argv) {
  const auto both = operands(context, argv);
  if (!both) return;
  const auto& [a, b] = *both;
  const bool b_wins = b > a || (b == a && b.scale() > a.scale());
  sqlite3_result_value(context, argv[b_wins ? 1 : 0]);
}

void register_functions(sqlite3* db, OverflowFlag* overflow) {
  const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  if (sqlite3_create_function(db, "neruba_decimal_sum", 2, flags, overflow, decimal_sum, nullptr,
                              nullptr) != SQLITE_OK ||
      sqlite3_create_function(db, "neruba_decimal_max", 2, flags, nullptr, decimal_max, nullptr,
                              nullptr) != SQLITE_OK) {
    throw StorageError(StorageError::Kind::other,
                       std::string("cannot register SQL functions: ") + sqlite3_errmsg(db));
  }
}

class Connection {
 public:
  // `vfs`: the name of a registered VFS, empty for SQLite's default.
  Connection(const std::string& path, const std::string& vfs) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, vfs.empty() ? nullptr : vfs.c_str()) !=
        SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw StorageError(StorageError::Kind::unavailable, "cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    sqlite3_extended_result_codes(db_, 1);
    register_functions(db_, &decimal_overflow_);
    run("PRAGMA journal_mode=WAL");
    run("PRAGMA synchronous=FULL");
    run("PRAGMA foreign_keys=ON");
    // 64 MiB of page cache: a large ingest commit must not spill pages to disk mid-transaction.
    run("PRAGMA cache_size=-65536");
  }
  ~Connection() {
    for (auto& [sql, prepared] : statements_) sqlite3_finalize(prepared.statement);
    sqlite3_close(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const { return db_; }

  void run(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      throw error(std::string(sql) + ": " + text);
    }
  }

  StorageError error(const std::string& context) {
    const int extended = sqlite3_extended_errcode(db_);
    const int code = extended & 0xff;
    auto kind = StorageError::Kind::other;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
        code == SQLITE_FULL || code == SQLITE_CANTOPEN) {
      kind = StorageError::Kind::unavailable;
    } else if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
      kind = StorageError::Kind::unique_violation;
    } else if (extended == SQLITE_CONSTRAINT_CHECK) {
      kind = StorageError::Kind::check_violation;
    } else if (decimal_overflow_) {
      kind = StorageError::Kind::decimal_overflow;
    }
    decimal_overflow_ = false;
    return StorageError(kind, "sqlite: " + context + " (" + sqlite3_errmsg(db_) + ")");
  }

  // A prepared statement and, for each `$n`, its SQLite parameter index (0 when unused): SQLite
  // finds a named parameter by scanning, so the mapping is made once, not per bind.
  struct Prepared {
    sqlite3_stmt* statement = nullptr;
    std::vector<int> index_of;
  };

  // Prepared statements are cached per connection, keyed by their SQL text.
  const Prepared& prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    Prepared prepared;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &prepared.statement, nullptr) != SQLITE_OK) {
      throw error("prepare failed");
    }
    const int count = sqlite3_bind_parameter_count(prepared.statement);
    for (int index = 1; index <= count; ++index) {
      const char* name = sqlite3_bind_parameter_name(prepared.statement, index);
      if (name == nullptr || name[0] != '$') continue;
      const int number = std::atoi(name + 1);
      if (number <= 0) continue;
      if (prepared.index_of.size() < static_cast<std::size_t>(number))
        prepared.index_of.resize(number, 0);
      prepared.index_of[number - 1] = index;
    }
    return statements_.emplace(std::string(sql), std::move(prepared)).first->second;
  }

  // Runs one statement; collects rows when `rows` is non-null.
  std::int64_t step_all(std::string_view sql, std::span<const Param> params, Rows* rows) {
    const Prepared& prepared = prepare(sql);
    sqlite3_stmt* statement = prepared.statement;
    // sqlite3_changes() keeps the count of the last DML statement across DDL; the difference of
    // totals counts only what this statement changed.
    const sqlite3_int64 changes_before = sqlite3_total_changes64(db_);
    bind(prepared, params);
    const int columns = sqlite3_column_count(statement);
    while (true) {
      const int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        sqlite3_reset(statement);
        throw error("step failed");
      }
      if (rows == nullptr) continue;
      std::vector<std::optional<std::string>> values;
      values.reserve(static_cast<std::size_t>(columns));
      for (int i = 0; i < columns; ++i) {
        if (sqlite3_column_type(statement, i) == SQLITE_NULL) {
          values.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, i));
          values.emplace_back(
              std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement, i))));
        }
      }
      rows->emplace_back(std::move(values));
    }
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
    return sqlite3_total_changes64(db_) - changes_before;
  }

 private:
  // `$N` placeholders are named parameters to SQLite; bind by name so `$1` may appear twice.
  void bind(const Prepared& prepared, std::span<const Param> params) {
    sqlite3_stmt* statement = prepared.statement;
    for (std::size_t i = 0; i < params.size() && i < prepared.index_of.size(); ++i) {
      const int index = prepared.index_of[i];
      if (index == 0) continue;  // parameter not used by this statement
      int rc = SQLITE_OK;
      if (const auto* integer = std::get_if<std::int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(statement, index, *integer);
      } else if (const auto* text = std::get_if<std::string>(&params[i])) {
        // The parameters outlive the statement's run (bindings are cleared after it).
        rc = sqlite3_bind_text(statement, index, text->data(), static_cast<int>(text->size()),
                               SQLITE_STATIC);
      } else if (const auto* ref = std::get_if<TextRef>(&params[i])) {
        rc = sqlite3_bind_text(statement, index, ref->text.data(),
                               static_cast<int>(ref->text.size()), SQLITE_STATIC);
      } else {
        rc = sqlite3_bind_null(statement, index);
      }
      if (rc != SQLITE_OK) throw error("bind failed");
    }
  }

  sqlite3* db_ = nullptr;
  OverflowFlag decimal_overflow_ = false;  // set by neruba_decimal_sum, read by error()
  // Looked up by string_view: the hot path (a statement per ingested event) allocates nothing.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const {
      return std::hash<std::string_view>{}(sql);
    }
  };
  std::unordered_map<std::string, Prepared, SqlHash, std::equal_to<>> statements_;
};

// Runs PASSIVE checkpoints on its own connection and thread, so the writer's commits cost only
// their own WAL append and fsync; a passive checkpoint never blocks the writer or the readers.
// SQLite restarts the WAL only when every frame in it is checkpointed as a write transaction
// begins, which a checkpointer running beside a busy writer never sees: the writer finishes the
// job (`before_write`).
class Checkpointer {
 public:
  Checkpointer(const std::string& path, const std::string& vfs)
      : connection_(path, vfs), thread_([this] { loop(); }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the WAL hook on the writer (replacing SQLite's automatic checkpoint there): called
  // after each commit with the WAL's size in pages.
  void attach(Connection& writer) {
    sqlite3_wal_hook(
        writer.handle(),
        [](void* self, sqlite3*, const char*, int pages) {
          static_cast<Checkpointer*>(self)->committed(pages);
          return SQLITE_OK;
        },
        this);
  }

  // On the writer's thread, before it begins a write transaction.
  void before_write(Connection& writer) {
    const int pages = wal_pages_.load();
    if (pages < restart_pages) return;
    std::unique_lock lock(mutex_);
    if (running_ && pages < wal_pages_max) return;  // the next transaction will try again
    idle_.wait(lock, [&] { return !running_; });
    checkpoint(writer);  // under the lock: the checkpointer thread does not start a pass meanwhile
    checkpointed_at_ = 0;
    wal_pages_ = 0;
  }

 private:
  void committed(int pages) {
    wal_pages_ = pages;
    {
      std::lock_guard lock(mutex_);
      if (pages - checkpointed_at_ < checkpoint_pages) return;
      checkpointed_at_ = pages;
      requested_ = true;
    }
    wake_.notify_one();
  }

  static void checkpoint(Connection& connection) {
    int wal_pages = 0;
    int copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(connection.handle(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      log::warn("sqlite checkpoint failed", {{"error", sqlite3_errmsg(connection.handle())}});
    }
  }

  void loop() {
    while (true) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return requested_ || stopping_; });
        if (stopping_) return;
        requested_ = false;
        running_ = true;
      }
      checkpoint(connection_);
      {
        std::lock_guard lock(mutex_);
        running_ = false;
      }
      idle_.notify_all();
    }
  }

  Connection connection_;
  std::atomic<int> wal_pages_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  int checkpointed_at_ = 0;  // GUARDED_BY(mutex_): WAL size when the last pass was asked for
  bool requested_ = false;   // GUARDED_BY(mutex_)
  bool running_ = false;     // GUARDED_BY(mutex_)
  bool stopping_ = false;    // GUARDED_BY(mutex_)
  std::thread thread_;
};

// The database holds customers, events, the audit trail and key hashes: only its owner may read
// it. Directories it creates are 0700; the database file is created 0600, and SQLite gives its
// -wal and -shm files the database file's mode. Files of an older version that other users could
// read lose those permissions.
void keep_private(const std::string& path) {
  const std::filesystem::path file(path);
  const auto parent = file.parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent)) {
    std::filesystem::create_directories(parent);
    std::filesystem::permissions(parent, std::filesystem::perms::owner_all);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::filesystem::path existing = path + suffix;
    std::error_code ignored;
    const auto status = std::filesystem::status(existing, ignored);
    if (ignored || !std::filesystem::is_regular_file(status)) continue;
    std::filesystem::permissions(
        existing, std::filesystem::perms::group_all | std::filesystem::perms::others_all,
        std::filesystem::perm_options::remove, ignored);
  }
}

class SqliteDb;

class SqliteTx final : public Tx {
 public:
  SqliteTx(SqliteDb& owner, std::unique_ptr<Connection> connection, TxMode mode);
  ~SqliteTx() override;

  Dialect dialect() const override { return Dialect::sqlite; }
  Rows query(std::string_view sql, std::span<const Param> params) override {
    require_open();
    Rows rows;
    connection_->step_all(sql, params, &rows);
    return rows;
  }
  std::int64_t exec(std::string_view sql, std::span<const Param> params) override {
    require_open();
    return connection_->step_all(sql, params, nullptr);
  }
  std::int64_t copy_in(std::string_view, std::string_view) override {
    throw StorageError(StorageError::Kind::other, "COPY is PostgreSQL's; SQLite has no COPY");
  }
  // Hands the connection back at once, so a committed Tx never blocks the next writer.
  void commit() override;

 private:
  void require_open() const {
    if (!connection_)
      throw StorageError(StorageError::Kind::other, "transaction already committed");
  }

  SqliteDb& owner_;
  std::unique_ptr<Connection> connection_;
  TxMode mode_;
  bool committed_ = false;
};

class SqliteDb final : public Db {
 public:
  SqliteDb(std::string path, std::string vfs) : path_(std::move(path)), vfs_(std::move(vfs)) {
    keep_private(path_);
    writer_ = std::make_unique<Connection>(path_, vfs_);
    writer_->run(journal_size_limit);
    checkpointer_ = std::make_unique<Checkpointer>(path_, vfs_);
    checkpointer_->attach(*writer_);
  }
  ~SqliteDb() override {
    checkpointer_.reset();  // before the writer closes (closing the last connection checkpoints)
  }

  Dialect dialect() const override { return Dialect::sqlite; }
  std::string describe() const override { return "sqlite:" + path_; }

  std::unique_ptr<Tx> begin(TxMode mode) override {
    if (mode == TxMode::write) {
      std::unique_lock lock(mutex_);
      writer_available_.wait(lock, [&] { return writer_ != nullptr; });
      auto writer = std::move(writer_);
      lock.unlock();
      try {
        checkpointer_->before_write(*writer);
      } catch (...) {
        give_back(std::move(writer), mode);  // the one writer connection must never be lost
        throw;
      }
      return std::make_unique<SqliteTx>(*this, std::move(writer), mode);
    }
    return std::make_unique<SqliteTx>(*this, take_reader(), mode);
  }

  bool ping() override {
    try {
      auto tx = begin(TxMode::read);
      tx->query("SELECT 1");
      return true;
    } catch (const StorageError&) {
      return false;
    }
  }

  void give_back(std::unique_ptr<Connection> connection, TxMode mode) {
    std::lock_guard lock(mutex_);
    if (mode == TxMode::write) {
      writer_ = std::move(connection);
      writer_available_.notify_one();
    } else {
      readers_.push_back(std::move(connection));
      reader_available_.notify_one();
    }
  }

 private:
  std::unique_ptr<Connection> take_reader() {
    std::unique_lock lock(mutex_);
    if (readers_.empty() && readers_created_ < kSqliteReaderPoolSize) {
      ++readers_created_;
      lock.unlock();
      return std::make_unique<Connection>(path_, vfs_);
    }
    reader_available_.wait(lock, [&] { return !readers_.empty(); });
    auto connection = std::move(readers_.back());
    readers_.pop_back();
    return connection;
  }

  const std::string path_;
  const std::string vfs_;  // empty: SQLite's default VFS
  std::mutex mutex_;
  std::condition_variable writer_available_;
  std::condition_variable reader_available_;
  std::unique_ptr<Connection> writer_;                // GUARDED_BY(mutex_), null while lent out
  std::vector<std::unique_ptr<Connection>> readers_;  // GUARDED_BY(mutex_)
  std::size_t readers_created_ = 0;                   // GUARDED_BY(mutex_)
  std::unique_ptr<Checkpointer> checkpointer_;
};

SqliteTx::SqliteTx(SqliteDb& owner, std::unique_ptr<Connection> connection, TxMode mode)
    : owner_(owner), connection_(std::move(connection)), mode_(mode) {
  try {
    // IMMEDIATE takes the write lock up front, so a write never fails half-way on an upgrade.
    connection_->run(mode == TxMode::write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  } catch (...) {
    owner_.give_back(std::move(connection_), mode_);
    throw;
  }
}

void SqliteTx::commit() {
  require_open();
  connection_->run("COMMIT");
  committed_ = true;
  owner_.give_back(std::move(connection_), mode_);
}

SqliteTx::~SqliteTx() {
  if (!connection_) return;  // committed: already handed back
  if (!committed_) {
    try {
      connection_->run("ROLLBACK");
    } catch (const StorageError&) {
      // Nothing to undo when BEGIN itself failed or the transaction already ended.
    }
  }
  owner_.give_back(std::move(connection_), mode_);
}

}  // namespace

std::unique_ptr<Db> open_sqlite(const std::string& path) { return open_sqlite(path, ""); }

std::unique_ptr<Db> open_sqlite(const std::string& path, const std::string& vfs) {
  return std::make_unique<SqliteDb>(path, vfs);
}

}  // namespace neruba::storage
