#include "test_db.hpp"

#include <stdlib.h>  // mkdtemp

#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <system_error>

#include "storage/postgres/postgres_db.hpp"

namespace neruba::test {
namespace {

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

std::string random_suffix() {
  std::random_device device;
  std::uint64_t bits = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i, bits >>= 4) out += kHex[bits & 0xf];
  return out;
}

std::filesystem::path make_temp_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "neruba-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  return pattern;
}

// NERUBA_TEST_PG_URL plus a libpq URI parameter selecting `schema` on every connection.
std::string url_with_search_path(const std::string& base, const std::string& schema) {
  if (!base.starts_with("postgresql://") && !base.starts_with("postgres://")) {
    throw std::invalid_argument("NERUBA_TEST_PG_URL must be a postgresql:// URI, got \"" + base +
                                "\"");
  }
  // `=` inside a URI query value must be percent-encoded; the schema name is [a-z0-9_].
  const char separator = base.find('?') == std::string::npos ? '?' : '&';
  return base + separator + "options=-csearch_path%3D" + schema;
}

}  // namespace

std::string to_string(Backend backend) {
  return backend == Backend::sqlite ? "sqlite" : "postgres";
}

void PrintTo(Backend backend, std::ostream* out) { *out << to_string(backend); }

bool postgres_available() { return env("NERUBA_TEST_PG_URL") != nullptr; }

std::vector<Backend> test_backends() {
  std::vector<Backend> backends{Backend::sqlite};
  if (postgres_available()) {
    backends.push_back(Backend::postgres);
  } else if (const char* required = env("NERUBA_REQUIRE_POSTGRES");
             required != nullptr && std::string_view(required) == "1") {
    std::fprintf(
        stderr,
        "NERUBA_REQUIRE_POSTGRES=1 but NERUBA_TEST_PG_URL is not set: refusing to skip "
        "the PostgreSQL backend. Run the tests under scripts/with-postgres -- ctest ...\n");
    std::fflush(stderr);
    std::abort();
  }
  return backends;
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return to_string(info.param);
}

TestDatabase::TestDatabase(Backend backend, int schema_version)
    : schema_version_(schema_version), backend_(backend) {
  open();
}

TestDatabase::TestDatabase(Backend backend) : backend_(backend) { open(); }

void TestDatabase::open() {
  const Backend backend = backend_;
  if (backend == Backend::sqlite) {
    directory_ = make_temp_directory();
    url_ = "sqlite:" + (directory_ / "neruba.db").string();
    try {
      db_ = storage::open_sqlite((directory_ / "neruba.db").string());
      storage::migrate(*db_, schema_version_);
    } catch (...) {
      db_.reset();
      std::error_code ignored;
      std::filesystem::remove_all(directory_, ignored);
      throw;
    }
    return;
  }

  const char* base = env("NERUBA_TEST_PG_URL");
  if (base == nullptr) {
    throw std::runtime_error(
        "TestDatabase(postgres) needs NERUBA_TEST_PG_URL (scripts/with-postgres)");
  }
  schema_ = "t_" + random_suffix();
  url_ = url_with_search_path(base, schema_);
  admin_ = storage::open_postgres(base, 1);
  {
    auto tx = admin_->begin(storage::TxMode::write);
    tx->exec("CREATE SCHEMA " + schema_);
    tx->commit();
  }
  try {
    db_ = storage::open_postgres(url_);
    storage::migrate(*db_, schema_version_);
  } catch (...) {
    db_.reset();
    auto tx = admin_->begin(storage::TxMode::write);
    tx->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    tx->commit();
    throw;
  }
}

TestDatabase::~TestDatabase() {
  db_.reset();
  try {
    if (backend_ == Backend::sqlite) {
      std::filesystem::remove_all(directory_);
    } else {
      auto tx = admin_->begin(storage::TxMode::write);
      // Something still holding locks in the schema must not hang the test run.
      tx->exec("SET LOCAL lock_timeout = '10s'");
      tx->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
      tx->commit();
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "warning: cannot remove test database %s: %s\n", url_.c_str(),
                 error.what());
  }
}

std::int64_t TestDatabase::raw_exec(std::string_view sql) {
  auto tx = db_->begin(storage::TxMode::write);
  const std::int64_t changed = tx->exec(sql);
  tx->commit();
  return changed;
}

void TestDatabase::reopen() {
  db_.reset();
  db_ = backend_ == Backend::sqlite ? storage::open_sqlite((directory_ / "neruba.db").string())
                                    : storage::open_postgres(url_);
}

}  // namespace neruba::test
