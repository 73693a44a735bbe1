// SQLite backend: one writer connection (SQLite allows one writer at a time; queueing on a mutex
// is cheaper than spinning on SQLITE_BUSY) and a pool of reader connections that WAL lets run
// beside it. synchronous=FULL makes a returned commit durable.
#include <sqlite3.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "storage/db.hpp"

namespace neruba::storage {
namespace {

constexpr std::size_t reader_pool_size = 8;
constexpr int busy_timeout_ms = 10'000;

class Connection {
 public:
  explicit Connection(const std::string& path) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw StorageError(StorageError::Kind::unavailable, "cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, busy_timeout_ms);
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

  void run(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      throw error(std::string(sql) + ": " + text);
    }
  }

  StorageError error(const std::string& context) const {
    const int code = sqlite3_errcode(db_);
    const auto kind = (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
                       code == SQLITE_FULL || code == SQLITE_CANTOPEN)
                          ? StorageError::Kind::unavailable
                          : StorageError::Kind::other;
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
    auto it = statements_.find(std::string(sql));
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
        rc = sqlite3_bind_text(statement, index, text->data(), static_cast<int>(text->size()),
                               SQLITE_TRANSIENT);
      } else {
        rc = sqlite3_bind_null(statement, index);
      }
      if (rc != SQLITE_OK) throw error("bind failed");
    }
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, Prepared> statements_;
};

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
  explicit SqliteDb(std::string path) : path_(std::move(path)) {
    const auto parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    writer_ = std::make_unique<Connection>(path_);
  }

  Dialect dialect() const override { return Dialect::sqlite; }
  std::string describe() const override { return "sqlite:" + path_; }

  std::unique_ptr<Tx> begin(TxMode mode) override {
    if (mode == TxMode::write) {
      std::unique_lock lock(mutex_);
      writer_available_.wait(lock, [&] { return writer_ != nullptr; });
      return std::make_unique<SqliteTx>(*this, std::move(writer_), mode);
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
    if (readers_.empty() && readers_created_ < reader_pool_size) {
      ++readers_created_;
      lock.unlock();
      return std::make_unique<Connection>(path_);
    }
    reader_available_.wait(lock, [&] { return !readers_.empty(); });
    auto connection = std::move(readers_.back());
    readers_.pop_back();
    return connection;
  }

  const std::string path_;
  std::mutex mutex_;
  std::condition_variable writer_available_;
  std::condition_variable reader_available_;
  std::unique_ptr<Connection> writer_;                // GUARDED_BY(mutex_), null while lent out
  std::vector<std::unique_ptr<Connection>> readers_;  // GUARDED_BY(mutex_)
  std::size_t readers_created_ = 0;                   // GUARDED_BY(mutex_)
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

std::unique_ptr<Db> open_sqlite(const std::string& path) {
  return std::make_unique<SqliteDb>(path);
}

}  // namespace neruba::storage
