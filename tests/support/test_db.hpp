#pragma once
// Fresh, fully migrated databases for tests, on every backend the run has: SQLite always,
// PostgreSQL when NERUBA_TEST_PG_URL names a server (scripts/with-postgres sets it).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db.hpp"

namespace neruba::test {

enum class Backend { sqlite, postgres };

// "sqlite" / "postgres".
std::string to_string(Backend backend);
// Lets gtest print a Backend parameter by name.
void PrintTo(Backend backend, std::ostream* out);

// The backends to run against: sqlite always; postgres when NERUBA_TEST_PG_URL is set. With
// NERUBA_REQUIRE_POSTGRES=1 and no NERUBA_TEST_PG_URL it aborts the process, so a CI run cannot
// silently skip PostgreSQL.
std::vector<Backend> test_backends();

// True when NERUBA_TEST_PG_URL is set.
bool postgres_available();

// For INSTANTIATE_TEST_SUITE_P(..., ::testing::ValuesIn(test_backends()), backend_name).
std::string backend_name(const ::testing::TestParamInfo<Backend>& info);

// One private, fully migrated database: SQLite → a file in a fresh temporary directory;
// PostgreSQL → a fresh schema t_<random> on the NERUBA_TEST_PG_URL server, selected for every
// pooled connection through search_path. Both are deleted by the destructor.
class TestDatabase {
 public:
  explicit TestDatabase(Backend backend);
  // Migrated only up to `schema_version` (for tests of a later migration).
  TestDatabase(Backend backend, int schema_version);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  Backend backend() const { return backend_; }
  storage::Db& db() { return *db_; }
  // A URL storage::open_database accepts and that reaches this same database ("sqlite:/path" or
  // "postgresql://…?options=-csearch_path%3Dt_…"), e.g. for a server started by an HTTP test.
  const std::string& url() const { return url_; }
  // PostgreSQL: the schema name; SQLite: empty.
  const std::string& schema() const { return schema_; }
  // Runs one statement in its own committed write transaction (for tests that tamper with
  // rows); returns the number of rows changed.
  std::int64_t raw_exec(std::string_view sql);
  // Closes and reopens db() (same data), e.g. to drop cached connections or statements.
  void reopen();

 private:
  void open();

  std::optional<int> schema_version_;  // nullopt: every migration
  Backend backend_;
  std::filesystem::path directory_;     // sqlite
  std::string schema_;                  // postgres
  std::unique_ptr<storage::Db> admin_;  // postgres: connection outside the schema, for cleanup
  std::string url_;
  std::unique_ptr<storage::Db> db_;
};

}  // namespace neruba::test
