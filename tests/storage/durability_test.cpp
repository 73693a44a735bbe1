// Durability of every connection a backend opens (issue 15): a returned commit must survive a power
// loss (db.hpp, Tx::commit). SQLite: synchronous=FULL and WAL on the writer, on every pooled reader
// and, through what it does, on the checkpointer's connection; a committed write fsyncs the WAL
// and a read fsyncs nothing, counted by a VFS wrapped around SQLite's default one. PostgreSQL:
// synchronous_commit and fsync on for every pooled connection.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>  // mkdtemp

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/db.hpp"
#include "storage/postgres/postgres_db.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace {

using test::Backend;
using test::TestDatabase;
using namespace std::chrono_literals;

// ------------------------------------------------------------------------------------------------
// A VFS that forwards everything to SQLite's default VFS and records each xSync: which file (the
// database, its -wal or another) and on which thread.

enum class FileKind { main_db, wal, other };

struct SyncEvent {
  FileKind kind;
  std::thread::id thread;
};

class SyncLog {
 public:
  void add(FileKind kind) {
    std::lock_guard lock(mutex_);
    events_.push_back({kind, std::this_thread::get_id()});
  }
  // Every event so far; `since` the size of an earlier snapshot.
  std::vector<SyncEvent> events(std::size_t since = 0) {
    std::lock_guard lock(mutex_);
    return {events_.begin() + static_cast<std::ptrdiff_t>(since), events_.end()};
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return events_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<SyncEvent> events_;
};

SyncLog& sync_log() {
  static SyncLog log;
  return log;
}

std::size_t count(const std::vector<SyncEvent>& events, FileKind kind) {
  std::size_t n = 0;
  for (const auto& event : events) n += event.kind == kind ? 1 : 0;
  return n;
}

// The shim's file: its own header, then the default VFS's file in the same allocation.
struct ShimFile {
  sqlite3_file base;
  FileKind kind;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

sqlite3_file* real(sqlite3_file* file) { return reinterpret_cast<ShimFile*>(file)->real(); }
const sqlite3_io_methods& real_methods(sqlite3_file* file) { return *real(file)->pMethods; }

int shim_close(sqlite3_file* f) { return real_methods(f).xClose(real(f)); }
int shim_read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
  return real_methods(f).xRead(real(f), buffer, amount, offset);
}
int shim_write(sqlite3_file* f, const void* buffer, int amount, sqlite3_int64 offset) {
  return real_methods(f).xWrite(real(f), buffer, amount, offset);
}
int shim_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real_methods(f).xTruncate(real(f), size);
}
int shim_sync(sqlite3_file* f, int flags) {
  sync_log().add(reinterpret_cast<ShimFile*>(f)->kind);
  return real_methods(f).xSync(real(f), flags);
}
int shim_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real_methods(f).xFileSize(real(f), size);
}
int shim_lock(sqlite3_file* f, int lock) { return real_methods(f).xLock(real(f), lock); }
int shim_unlock(sqlite3_file* f, int lock) { return real_methods(f).xUnlock(real(f), lock); }
int shim_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_methods(f).xCheckReservedLock(real(f), out);
}
int shim_file_control(sqlite3_file* f, int op, void* arg) {
  return real_methods(f).xFileControl(real(f), op, arg);
}
int shim_sector_size(sqlite3_file* f) { return real_methods(f).xSectorSize(real(f)); }
int shim_device_characteristics(sqlite3_file* f) {
  return real_methods(f).xDeviceCharacteristics(real(f));
}
int shim_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real_methods(f).xShmMap(real(f), region, size, extend, out);
}
int shim_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_methods(f).xShmLock(real(f), offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* f) { real_methods(f).xShmBarrier(real(f)); }
int shim_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real_methods(f).xShmUnmap(real(f), delete_flag);
}
int shim_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return real_methods(f).xFetch(real(f), offset, amount, out);
}
int shim_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  return real_methods(f).xUnfetch(real(f), offset, page);
}

const sqlite3_io_methods shim_methods = {
    3,
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_file_size,
    shim_lock,
    shim_unlock,
    shim_check_reserved_lock,
    shim_file_control,
    shim_sector_size,
    shim_device_characteristics,
    shim_shm_map,
    shim_shm_lock,
    shim_shm_barrier,
    shim_shm_unmap,
    shim_fetch,
    shim_unfetch,
};

sqlite3_vfs* default_vfs = nullptr;

int shim_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* shim = reinterpret_cast<ShimFile*>(file);
  shim->kind = (flags & SQLITE_OPEN_MAIN_DB) != 0 ? FileKind::main_db
               : (flags & SQLITE_OPEN_WAL) != 0   ? FileKind::wal
                                                  : FileKind::other;
  const int rc = default_vfs->xOpen(default_vfs, name, shim->real(), flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed xOpen.
  shim->base.pMethods = shim->real()->pMethods != nullptr ? &shim_methods : nullptr;
  return rc;
}

constexpr const char* kSyncCountingVfs = "neruba-sync-counting";

// Registers the shim (once) and returns its name for open_sqlite(path, vfs).
std::string sync_counting_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    default_vfs = sqlite3_vfs_find(nullptr);
    // The default VFS's methods serve as they are: they do not depend on their sqlite3_vfs.
    static sqlite3_vfs shim = *default_vfs;
    shim.zName = kSyncCountingVfs;
    shim.szOsFile = static_cast<int>(sizeof(ShimFile)) + default_vfs->szOsFile;
    shim.pNext = nullptr;
    shim.xOpen = shim_open;
    if (sqlite3_vfs_register(&shim, 0) != SQLITE_OK) std::abort();
  });
  return kSyncCountingVfs;
}

// A SQLite database in a fresh temporary directory, opened through the sync-counting VFS.
class CountedSqlite {
 public:
  CountedSqlite() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "neruba-durability-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    directory_ = pattern;
    db_ = open_sqlite((directory_ / "neruba.db").string(), sync_counting_vfs());
    migrate(*db_);
  }
  ~CountedSqlite() {
    db_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  Db& db() { return *db_; }

 private:
  std::filesystem::path directory_;
  std::unique_ptr<Db> db_;
};

std::string single(Tx& tx, std::string_view sql) {
  const Rows rows = tx.query(sql);
  EXPECT_EQ(rows.size(), 1u) << sql;
  return rows.empty() ? "" : rows.at(0).text(0);
}

// ------------------------------------------------------------------------------------------------

class Durability : public ::testing::TestWithParam<Backend> {
 protected:
  Durability() : database_(GetParam()) {}
  Db& db() { return database_.db(); }

  // The durability settings one transaction's connection runs with.
  void expect_durable(Tx& tx, const std::string& which) {
    if (GetParam() == Backend::sqlite) {
      EXPECT_EQ(single(tx, "PRAGMA synchronous"), "2") << which << ": synchronous must be FULL";
      EXPECT_EQ(single(tx, "PRAGMA journal_mode"), "wal") << which;
    } else {
      EXPECT_EQ(single(tx, "SHOW synchronous_commit"), "on") << which;
      EXPECT_EQ(single(tx, "SHOW fsync"), "on") << which;
    }
  }

  TestDatabase database_;
};

TEST_P(Durability, EveryPooledConnectionCommitsDurably) {
  if (GetParam() == Backend::sqlite) {
    // The one writer…
    {
      auto writer = db().begin(TxMode::write);
      expect_durable(*writer, "the writer");
    }
    // …and every reader: the pool's readers, all lent out at once, are as many connections.
    std::vector<std::unique_ptr<Tx>> readers;
    for (std::size_t i = 0; i < kSqliteReaderPoolSize; ++i) {
      readers.push_back(db().begin(TxMode::read));
      expect_durable(*readers.back(), "reader " + std::to_string(i));
    }
    return;
  }
  // Every connection of the pool, all lent out at once, to write transactions and then to read
  // transactions (a BEGIN of either kind must not weaken the session).
  const std::size_t pool_size = postgres_pool_size_from_env();
  for (const TxMode mode : {TxMode::write, TxMode::read}) {
    const std::string kind = mode == TxMode::write ? "write" : "read";
    std::vector<std::unique_ptr<Tx>> held;
    std::set<std::string> backends;
    for (std::size_t i = 0; i < pool_size; ++i) {
      held.push_back(db().begin(mode));
      backends.insert(single(*held.back(), "SELECT pg_backend_pid()::text"));
      expect_durable(*held.back(), kind + " transaction " + std::to_string(i));
    }
    EXPECT_EQ(backends.size(), pool_size) << kind << ": every pooled connection was seen";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Durability, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);

// SQLite's xSync calls, as made through the default VFS.

TEST(SqliteSyncs, EachCommittedWriteSyncsTheWalAndAReadSyncsNothing) {
  CountedSqlite sqlite;
  {
    auto tx = sqlite.db().begin(TxMode::write);
    tx->exec("CREATE TABLE scratch (id BIGINT NOT NULL PRIMARY KEY, s TEXT)");
    tx->commit();
  }
  for (std::int64_t id = 1; id <= 3; ++id) {
    const std::size_t before = sync_log().size();
    auto tx = sqlite.db().begin(TxMode::write);
    ASSERT_EQ(tx->exec("INSERT INTO scratch (id, s) VALUES ($1, 'x')", {id}), 1);
    EXPECT_EQ(sync_log().size(), before) << "nothing is synced before the commit";
    tx->commit();
    const auto events = sync_log().events(before);
    EXPECT_GE(count(events, FileKind::wal), 1u)
        << "commit " << id << " returned before the WAL was synced: not durable";
  }
  for (int i = 0; i < 3; ++i) {
    const std::size_t before = sync_log().size();
    auto tx = sqlite.db().begin(TxMode::read);
    EXPECT_EQ(single(*tx, "SELECT COUNT(*) FROM scratch"), "3");
    tx->commit();
    EXPECT_EQ(sync_log().events(before).size(), 0u) << "a read transaction synced a file";
  }
}

// The checkpointer runs on a connection of its own: it copies committed WAL pages into the
// database file and must sync that file before the WAL may be restarted over those pages (with
// synchronous=OFF it would not). Its connection's PRAGMA synchronous is not reachable through the
// seam; what it does is: a pass on its thread syncs the database file. (FULL and NORMAL sync a
// checkpoint alike; only the writer's commits tell them apart, above.)
TEST(SqliteSyncs, TheCheckpointerSyncsTheDatabaseFileOnItsOwnThread) {
  CountedSqlite sqlite;
  {
    auto tx = sqlite.db().begin(TxMode::write);
    tx->exec("CREATE TABLE pages (id BIGINT NOT NULL PRIMARY KEY, data BLOB)");
    tx->commit();
  }
  const std::size_t before = sync_log().size();
  {
    // ~4,500 pages of 4 KiB: past the WAL size at which the checkpointer starts a pass.
    auto tx = sqlite.db().begin(TxMode::write);
    tx->exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500) "
        "INSERT INTO pages (id, data) SELECT i, randomblob(4000) FROM n");
    tx->commit();
  }
  const auto test_thread = std::this_thread::get_id();
  const auto checkpointer_synced_db = [&] {
    for (const auto& event : sync_log().events(before)) {
      if (event.kind == FileKind::main_db && event.thread != test_thread) return true;
    }
    return false;
  };
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!checkpointer_synced_db() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(checkpointer_synced_db())
      << "no checkpoint synced the database file; syncs since the commit: "
      << sync_log().events(before).size();
  // The data is all there, read back through a reader.
  auto tx = sqlite.db().begin(TxMode::read);
  EXPECT_EQ(single(*tx, "SELECT COUNT(*) FROM pages"), "4500");
}

}  // namespace
}  // namespace neruba::storage
