// PostgreSQL backend: a pool of libpq connections, text-format parameters, statements prepared once
// per connection and cached by SQL text.
#include "storage/postgres/postgres_db.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace neruba::storage {
namespace {

using Kind = StorageError::Kind;
using Clock = std::chrono::steady_clock;

// How long begin() waits for a free pooled connection before giving up with Kind::unavailable.
constexpr auto kAcquireTimeout = std::chrono::seconds(30);
// How long ping() waits for a free pooled connection.
constexpr auto kPingAcquireTimeout = std::chrono::seconds(2);
// Prepared statements kept per connection; statements beyond this run unprepared.
constexpr std::size_t kMaxPreparedStatements = 1024;
// Applied unless the conninfo sets its own connect_timeout (seconds).
constexpr const char* kDefaultConnectTimeout = "10";
// How much of a statement an error message quotes.
constexpr std::size_t kSqlExcerptLength = 120;

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string trim(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return std::string(text);
}

std::string sql_excerpt(std::string_view sql) {
  std::string out;
  out.reserve(std::min(sql.size(), kSqlExcerptLength) + 3);
  bool space = false;
  for (char c : sql) {
    if (out.size() >= kSqlExcerptLength) {
      out += "...";
      break;
    }
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool connection_lost_state(std::string_view sqlstate) {
  // Class 08: connection exception, except 08P01 (protocol violation), which the server also
  // reports for a caller's mistake such as binding more parameters than the statement has.
  // 57P01..57P03: the server is shutting down or starting up.
  return (sqlstate.starts_with("08") && sqlstate != "08P01") || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
}

// Builds the StorageError for a failed command. The message carries the SQLSTATE and the server's
// primary message; never the DETAIL (which may quote row values) nor the parameters.
StorageError result_error(PGconn* conn, const PGresult* result, std::string_view sql) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string text = primary != nullptr ? std::string(primary) : trim(PQerrorMessage(conn));
  if (text.empty() && result != nullptr) {
    text = std::string("unexpected result status ") + PQresStatus(PQresultStatus(result));
  }

  Kind kind = Kind::other;
  if (PQstatus(conn) != CONNECTION_OK || connection_lost_state(sqlstate)) {
    kind = Kind::unavailable;
  } else if (sqlstate == "40001" || sqlstate == "40P01") {
    kind = Kind::serialization;
  } else if (sqlstate == "23505") {
    kind = Kind::unique_violation;
  } else if (sqlstate == "23514") {
    kind = Kind::check_violation;
  } else if (sqlstate == "22003") {  // numeric_value_out_of_range: neruba_decimal_sum (v10)
    kind = Kind::decimal_overflow;
  }
  std::string message = "postgres: ";
  if (!sqlstate.empty()) message += "SQLSTATE " + sqlstate + ": ";
  message += text;
  if (!sql.empty()) message += " [sql: " + sql_excerpt(sql) + "]";
  return StorageError(kind, message, sqlstate);
}

// One libpq connection plus its cache of prepared statements.
class Connection {
 public:
  explicit Connection(const std::string& conninfo) {
    // expand_dbname: `conninfo` (URI or key=value) overrides the defaults listed before it.
    const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
    const char* values[] = {kDefaultConnectTimeout, "neruba", conninfo.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (conn_ == nullptr) throw StorageError(Kind::unavailable, "postgres: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string message = "postgres: cannot connect: " + trim(PQerrorMessage(conn_));
      PQfinish(conn_);
      conn_ = nullptr;
      throw StorageError(Kind::unavailable, message);
    }
    try {
      configure_session();
    } catch (...) {
      PQfinish(conn_);
      conn_ = nullptr;
      throw;
    }
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
  }

  PGconn* get() const { return conn_; }
  bool healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
  bool idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }

  // Re-establishes a broken connection (same parameters); the server forgot our prepared
  // statements and session settings, so both are redone. Throws StorageError on failure.
  void reset() {
    statements_.clear();
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
      throw StorageError(Kind::unavailable,
                         "postgres: cannot reconnect: " + trim(PQerrorMessage(conn_)));
    }
    configure_session();
  }

  // Runs a command string with the simple query protocol (may hold several statements).
  Result exec_simple(std::string_view sql) {
    return Result(PQexec(conn_, std::string(sql).c_str()));
  }

  // Runs one parameterized statement, preparing it on first use on this connection.
  Result exec_params(std::string_view sql, const std::vector<const char*>& values) {
    const int count = static_cast<int>(values.size());
    const std::string* name = prepared_name(sql);
    if (name == nullptr) {
      return Result(PQexecParams(conn_, std::string(sql).c_str(), count, nullptr, values.data(),
                                 nullptr, nullptr, 0));
    }
    Result result(PQexecPrepared(conn_, name->c_str(), count, values.data(), nullptr, nullptr, 0));
    if (result != nullptr && PQresultStatus(result.get()) == PGRES_FATAL_ERROR) {
      const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
      // 0A000 "cached plan must not change result type" (the table changed shape) or 26000 (the
      // statement is gone): forget it; the next use prepares it afresh under a new name.
      if (state != nullptr &&
          (std::string_view(state) == "0A000" || std::string_view(state) == "26000")) {
        statements_.erase(std::string(sql));
      }
    }
    return result;
  }

 private:
  void configure_session() {
    Result result(PQexec(conn_, "SET client_min_messages = warning; SET TIME ZONE 'UTC'"));
    if (result == nullptr || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      throw result_error(conn_, result.get(), "SET client_min_messages/TIME ZONE");
    }
  }

  // The server-side name of `sql`'s prepared statement, preparing it if needed; nullptr when the
  // cache is full (the caller runs the statement unprepared). Throws when preparation fails.
  const std::string* prepared_name(std::string_view sql) {
    std::string key(sql);
    if (auto it = statements_.find(key); it != statements_.end()) return &it->second;
    if (statements_.size() >= kMaxPreparedStatements) return nullptr;
    std::string name = "neruba_" + std::to_string(++statement_counter_);
    Result result(PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr));
    if (result == nullptr || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      throw result_error(conn_, result.get(), sql);
    }
    auto [it, inserted] = statements_.emplace(std::move(key), std::move(name));
    return &it->second;
  }

  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> statements_;
  std::uint64_t statement_counter_ = 0;
};

// A bounded set of connections; callers wait while all are lent out.
class Pool {
 public:
  Pool(std::string conninfo, std::size_t max_size)
      : conninfo_(std::move(conninfo)), max_size_(max_size == 0 ? 1 : max_size) {
    auto first = std::make_unique<Connection>(conninfo_);
    describe_ = describe_connection(first->get());
    idle_.push_back(std::move(first));
    total_ = 1;
  }

  const std::string& describe() const { return describe_; }

  // Lends a connection that is healthy as far as libpq knows (a broken one is reset first).
  std::unique_ptr<Connection> acquire(Clock::duration timeout) {
    std::unique_lock lock(mutex_);
    const bool ready =
        available_.wait_for(lock, timeout, [&] { return !idle_.empty() || total_ < max_size_; });
    if (!ready) {
      throw StorageError(Kind::unavailable,
                         "postgres: no pooled connection became free in time (pool size " +
                             std::to_string(max_size_) + ")");
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (connection->healthy()) return connection;
      try {
        connection->reset();
        return connection;
      } catch (...) {
        discard();
        throw;
      }
    }
    ++total_;
    lock.unlock();
    try {
      return std::make_unique<Connection>(conninfo_);
    } catch (...) {
      discard();
      throw;
    }
  }

  // Takes a connection back. One that is broken or still inside a transaction it cannot leave is
  // closed, and a fresh one is opened on demand later.
  void release(std::unique_ptr<Connection> connection) {
    if (connection != nullptr && connection->healthy() && !connection->idle()) {
      connection->exec_simple("ROLLBACK");
    }
    if (connection == nullptr || !connection->healthy() || !connection->idle()) {
      connection.reset();
      discard();
      return;
    }
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(connection));
    }
    available_.notify_one();
  }

 private:
  void discard() {
    {
      std::lock_guard lock(mutex_);
      --total_;
    }
    available_.notify_one();
  }

  static std::string describe_connection(PGconn* conn) {
    const char* host = PQhost(conn);
    const char* port = PQport(conn);
    const char* db = PQdb(conn);
    return std::string("postgresql://") + (host != nullptr ? host : "") + ":" +
           (port != nullptr ? port : "") + "/" + (db != nullptr ? db : "");
  }

  const std::string conninfo_;
  const std::size_t max_size_;
  std::string describe_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;  // LIFO: the most recently used stays warm
  std::size_t total_ = 0;                          // idle + lent out + being opened
};

class PostgresTx final : public Tx {
 public:
  PostgresTx(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> connection)
      : pool_(std::move(pool)), connection_(std::move(connection)) {}
  PostgresTx(const PostgresTx&) = delete;
  PostgresTx& operator=(const PostgresTx&) = delete;

  ~PostgresTx() override {
    if (connection_ == nullptr) return;  // committed: already back in the pool
    if (connection_->healthy()) connection_->exec_simple("ROLLBACK");
    pool_->release(std::move(connection_));
  }

  Dialect dialect() const override { return Dialect::postgres; }

  Rows query(std::string_view sql, std::span<const Param> params) override {
    Result result = run(sql, params);
    Rows rows;
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return rows;
    const int row_count = PQntuples(result.get());
    const int column_count = PQnfields(result.get());
    rows.reserve(static_cast<std::size_t>(row_count));
    for (int r = 0; r < row_count; ++r) {
      std::vector<std::optional<std::string>> columns;
      columns.reserve(static_cast<std::size_t>(column_count));
      for (int c = 0; c < column_count; ++c) {
        if (PQgetisnull(result.get(), r, c)) {
          columns.emplace_back(std::nullopt);
        } else {
          columns.emplace_back(std::in_place, PQgetvalue(result.get(), r, c),
                               static_cast<std::size_t>(PQgetlength(result.get(), r, c)));
        }
      }
      rows.emplace_back(std::move(columns));
    }
    return rows;
  }

  std::int64_t exec(std::string_view sql, std::span<const Param> params) override {
    Result result = run(sql, params);
    const std::string_view tuples = PQcmdTuples(result.get());
    std::int64_t changed = 0;
    std::from_chars(tuples.data(), tuples.data() + tuples.size(), changed);
    return changed;
  }

  std::int64_t copy_in(std::string_view copy_sql, std::string_view data) override {
    ensure_open();
    PGconn* conn = connection_->get();
    Result started = connection_->exec_simple(copy_sql);
    if (started == nullptr || PQresultStatus(started.get()) != PGRES_COPY_IN) {
      throw result_error(conn, started.get(), copy_sql);
    }
    // PQputCopyData takes at most INT_MAX bytes a call; libpq buffers and sends them.
    constexpr std::size_t piece = 1 << 20;
    bool sent = true;
    for (std::size_t at = 0; sent && at < data.size(); at += piece) {
      const std::size_t size = std::min(piece, data.size() - at);
      sent = PQputCopyData(conn, data.data() + at, static_cast<int>(size)) == 1;
    }
    if (PQputCopyEnd(conn, sent ? nullptr : "neruba: sending COPY data failed") != 1) sent = false;
    // Every result of the command is read, so the connection is ready for the next one.
    std::optional<StorageError> error;
    std::int64_t copied = 0;
    for (Result result(PQgetResult(conn)); result != nullptr; result = Result(PQgetResult(conn))) {
      if (PQresultStatus(result.get()) == PGRES_COMMAND_OK) {
        const std::string_view tuples = PQcmdTuples(result.get());
        std::from_chars(tuples.data(), tuples.data() + tuples.size(), copied);
      } else if (!error) {
        error = result_error(conn, result.get(), copy_sql);
      }
    }
    if (error) throw *error;
    if (!sent) throw result_error(conn, nullptr, copy_sql);
    return copied;
  }

  // Ends the transaction and hands the connection back to the pool at once (not only when the Tx
  // is destroyed), whether COMMIT succeeds or not.
  void commit() override {
    ensure_open();
    Result result = connection_->exec_simple("COMMIT");
    std::optional<StorageError> error;
    if (result == nullptr || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      error = result_error(connection_->get(), result.get(), "COMMIT");
    }
    pool_->release(std::move(connection_));
    if (error) throw *error;
    // COMMIT of a transaction that an earlier error aborted "succeeds" as a rollback.
    if (std::string_view(PQcmdStatus(result.get())) == "ROLLBACK") {
      throw StorageError(Kind::other,
                         "postgres: transaction was aborted by an earlier error; COMMIT rolled "
                         "it back");
    }
  }

 private:
  void ensure_open() const {
    if (connection_ == nullptr) {
      throw StorageError(Kind::other, "postgres: transaction already committed");
    }
  }

  static StorageError nul_byte(std::size_t index, std::string_view sql) {
    return StorageError(Kind::other, "postgres: text parameter $" + std::to_string(index + 1) +
                                         " contains a NUL byte [sql: " + sql_excerpt(sql) + "]");
  }

  Result run(std::string_view sql, std::span<const Param> params) {
    ensure_open();
    Result result;
    if (params.empty()) {
      result = connection_->exec_simple(sql);
    } else {
      std::vector<std::string> texts(params.size());
      std::vector<const char*> values(params.size(), nullptr);
      for (std::size_t i = 0; i < params.size(); ++i) {
        if (const auto* number = std::get_if<std::int64_t>(&params[i])) {
          texts[i] = std::to_string(*number);
          values[i] = texts[i].c_str();
        } else if (const auto* text = std::get_if<std::string>(&params[i])) {
          if (text->find('\0') != std::string::npos) throw nul_byte(i, sql);
          values[i] = text->c_str();
        } else if (const auto* ref = std::get_if<TextRef>(&params[i])) {
          if (ref->text.find('\0') != std::string_view::npos) throw nul_byte(i, sql);
          texts[i] = ref->text;  // libpq wants NUL-terminated text
          values[i] = texts[i].c_str();
        }
      }
      result = connection_->exec_params(sql, values);
    }
    const ExecStatusType status =
        result != nullptr ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw result_error(connection_->get(), result.get(), sql);
    }
    return result;
  }

  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Connection> connection_;  // null once committed
};

class PostgresDb final : public Db {
 public:
  PostgresDb(const std::string& conninfo, std::size_t pool_size)
      : pool_(std::make_shared<Pool>(conninfo, pool_size)) {}

  Dialect dialect() const override { return Dialect::postgres; }

  std::unique_ptr<Tx> begin(TxMode mode) override {
    // Reads see one snapshot across statements; writes use READ COMMITTED plus explicit row locks.
    const char* sql =
        mode == TxMode::read ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
    std::unique_ptr<Connection> connection = pool_->acquire(kAcquireTimeout);
    for (int attempt = 0;; ++attempt) {
      Result result = connection->exec_simple(sql);
      if (result != nullptr && PQresultStatus(result.get()) == PGRES_COMMAND_OK) break;
      StorageError error = result_error(connection->get(), result.get(), sql);
      // An idle pooled connection the server dropped only shows as broken once used: nothing has
      // happened yet, so reconnect and try once more.
      bool retry = attempt == 0 && !connection->healthy();
      if (retry) {
        try {
          connection->reset();
        } catch (...) {
          retry = false;
        }
      }
      if (!retry) {
        pool_->release(std::move(connection));
        throw error;
      }
    }
    return std::make_unique<PostgresTx>(pool_, std::move(connection));
  }

  bool ping() override {
    try {
      std::unique_ptr<Connection> connection = pool_->acquire(kPingAcquireTimeout);
      bool ok = false;
      for (int attempt = 0; attempt < 2 && !ok; ++attempt) {
        Result result = connection->exec_simple("SELECT 1");
        ok = result != nullptr && PQresultStatus(result.get()) == PGRES_TUPLES_OK;
        if (!ok && !connection->healthy() && attempt == 0) {
          try {
            connection->reset();
          } catch (const StorageError&) {
            break;
          }
        }
      }
      pool_->release(std::move(connection));
      return ok;
    } catch (const std::exception&) {
      return false;
    }
  }

  std::string describe() const override { return pool_->describe(); }

 private:
  std::shared_ptr<Pool> pool_;
};

}  // namespace

std::size_t postgres_pool_size_from_env() {
  const char* value = std::getenv("NERUBA_PG_POOL_SIZE");
  if (value == nullptr || *value == '\0') return kDefaultPostgresPoolSize;
  const std::string_view text(value);
  std::size_t size = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), size);
  if (error != std::errc() || end != text.data() + text.size() || size == 0 || size > 10000) {
    throw StorageError(Kind::other, "NERUBA_PG_POOL_SIZE must be a positive integer, got \"" +
                                        std::string(text) + "\"");
  }
  return size;
}

std::unique_ptr<Db> open_postgres(const std::string& conninfo, std::size_t pool_size) {
  return std::make_unique<PostgresDb>(conninfo, pool_size);
}

std::unique_ptr<Db> open_postgres(const std::string& conninfo) {
  return open_postgres(conninfo, postgres_pool_size_from_env());
}

}  // namespace neruba::storage
