#pragma once
// The SQL seam shared by both backends. Repositories (one per aggregate: storage/tenants.hpp, …)
// are written once against this interface with `$1`-style placeholders, which PostgreSQL and
// SQLite both accept; where the dialects disagree, a repository asks `dialect()`.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace neruba::storage {

enum class Dialect { sqlite, postgres };

// Text bound without a copy: the caller keeps it alive until the statement has run.
struct TextRef {
  std::string_view text;
};

// A bound parameter: NULL, an integer or text (owned, or referenced for hot paths).
using Param = std::variant<std::monostate, std::int64_t, std::string, TextRef>;

// One result row; columns in select order, NULL as nullopt. Integers come back as decimal text.
class Row {
 public:
  explicit Row(std::vector<std::optional<std::string>> columns) : columns_(std::move(columns)) {}
  bool is_null(std::size_t i) const { return !columns_.at(i).has_value(); }
  const std::string& text(std::size_t i) const;  // throws StorageError on NULL
  std::optional<std::string> optional_text(std::size_t i) const { return columns_.at(i); }
  std::int64_t integer(std::size_t i) const;
  std::size_t size() const { return columns_.size(); }

 private:
  std::vector<std::optional<std::string>> columns_;
};

using Rows = std::vector<Row>;

// Storage failures that are not a caller's mistake (I/O, lost connection, constraint bugs):
// exceptional by design, mapped to 500/503 at the edge. Both backends report the same kinds for
// the same failures; callers that recover from one ask kind(), never the message.
class StorageError : public std::runtime_error {
 public:
  enum class Kind {
    other,
    unavailable,       // the database cannot be reached or is shutting down: retry later
    serialization,     // a deadlock or serialization failure: the transaction may be retried
    unique_violation,  // a row with the same unique key exists
    check_violation,   // a row breaks a CHECK constraint (a ledger account's balance rule, …)
    decimal_overflow,  // an exact decimal SQL function's result does not fit the Decimal type
  };
  StorageError(Kind kind, const std::string& message, std::string sqlstate = {})
      : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)) {}
  Kind kind() const { return kind_; }
  // PostgreSQL's SQLSTATE of the failed command ("23505": unique violation), empty otherwise.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  Kind kind_;
  std::string sqlstate_;
};

// PostgreSQL's binary COPY format (COPY … FROM STDIN (FORMAT binary)), written row by row: the
// cheapest way to hand the server many rows — no statement per row, no text to parse, no
// escaping. Text goes as its bytes, BIGINT as 8 big-endian bytes.
class BinaryCopy {
 public:
  BinaryCopy();  // writes the header
  // Sizes for reserve(): the header and trailer of a stream, a row's field count and the lengths
  // of its fields, and a bigint's value. A text field adds its bytes.
  static constexpr std::size_t framing_bytes = 19 + 2;
  static constexpr std::size_t row_bytes(std::size_t fields) { return 2 + 4 * fields; }
  static constexpr std::size_t bigint_bytes = 8;
  void reserve(std::size_t bytes) { out_.reserve(bytes); }
  void row(std::int16_t fields);
  void text(std::string_view value);  // throws StorageError on a NUL byte, as a bound text does
  void bigint(std::int64_t value);
  void null();
  template <typename T>
  void optional_text(const std::optional<T>& value) {
    value ? text(*value) : null();
  }
  void optional_bigint(const std::optional<std::int64_t>& value) {
    value ? bigint(*value) : null();
  }
  // The whole stream, trailer included; the builder is spent.
  std::string finish() &&;

 private:
  void length(std::int32_t value);
  std::string out_;
};

enum class TxMode { read, write };

// A transaction on one connection. Destroying an uncommitted Tx rolls it back.
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Dialect dialect() const = 0;
  virtual Rows query(std::string_view sql, std::span<const Param> params = {}) = 0;
  // Returns the number of rows changed.
  virtual std::int64_t exec(std::string_view sql, std::span<const Param> params = {}) = 0;
  // PostgreSQL only: runs `copy_sql` (COPY … FROM STDIN (FORMAT binary)) with `data`, the stream
  // of a BinaryCopy; returns the number of rows copied. SQLite has no COPY: callers ask dialect().
  virtual std::int64_t copy_in(std::string_view copy_sql, std::string_view data) = 0;
  // Durable when it returns (SQLite synchronous=FULL; PostgreSQL synchronous_commit on).
  virtual void commit() = 0;

  Rows query(std::string_view sql, std::initializer_list<Param> params) {
    return query(sql, std::span<const Param>(params.begin(), params.size()));
  }
  std::int64_t exec(std::string_view sql, std::initializer_list<Param> params) {
    return exec(sql, std::span<const Param>(params.begin(), params.size()));
  }
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  // SQLite serializes all write transactions on its single writer connection; PostgreSQL runs them
  // side by side under READ COMMITTED and explicit locks (storage/locks.hpp, FOR UPDATE).
  virtual std::unique_ptr<Tx> begin(TxMode mode) = 0;
  // True when the database answers a trivial query (readiness).
  virtual bool ping() = 0;
  // A short label for logs: "sqlite:/path" or "postgresql://host:port/db" without the password.
  virtual std::string describe() const = 0;
};

// "sqlite:PATH", "postgresql://…" / "postgres://…" (libpq URI). Applies pending migrations.
std::unique_ptr<Db> open_database(const std::string& url);

// Backends, for tests that want one explicitly.
std::unique_ptr<Db> open_sqlite(const std::string& path);
std::unique_ptr<Db> open_postgres(const std::string& conninfo);

// Applies every migration newer than the recorded schema version — up to `up_to` when given (tests
// of a migration start from the version before it); returns how many it applied.
int migrate(Db& db, std::optional<int> up_to = std::nullopt);

// Refreshes the query planner's statistics before a heavy set-based read (a billing run): SQLite
// keeps none on its own, and without them plans a chunk's reads by guesses that cost it minutes
// at 10,000 customers; its ANALYZE samples about a thousand rows per index, so it takes
// milliseconds at any size. PostgreSQL's autovacuum keeps them: nothing to do there.
void refresh_statistics(Db& db);

}  // namespace neruba::storage
