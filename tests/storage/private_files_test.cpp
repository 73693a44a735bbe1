// The SQLite database holds customers, events, the audit trail and key hashes: only its owner may
// read it (issue 15, defect 6). A directory the backend creates for it is 0700; the database file
// and its -wal and -shm are 0600; a database an older version left readable by others is tightened
// when opened. Run under umask 022, so that nothing here is private by accident.
#include <gtest/gtest.h>
#include <stdlib.h>  // mkdtemp
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "storage/db.hpp"

namespace neruba::storage {
namespace {

namespace fs = std::filesystem;

// The permission bits of `path`, e.g. 0600.
unsigned mode_of(const fs::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    ADD_FAILURE() << "cannot stat " << path;
    return 0;
  }
  return status.st_mode & 07777;
}

std::string octal(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "0%o", mode);
  return text;
}

#define EXPECT_MODE(path, expected) \
  EXPECT_EQ(octal(mode_of(path)), octal(expected)) << (path).string()

class PrivateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    old_mask_ = ::umask(022);
    std::string pattern = (fs::temp_directory_path() / "neruba-private-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    ::umask(old_mask_);
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  static void write_something(Db& db) {
    auto tx = db.begin(TxMode::write);
    tx->exec("CREATE TABLE IF NOT EXISTS scratch (id BIGINT NOT NULL PRIMARY KEY)");
    tx->exec("INSERT INTO scratch (id) SELECT COALESCE(MAX(id), 0) + 1 FROM scratch");
    tx->commit();
  }

  fs::path root_;
  mode_t old_mask_ = 0;
};

TEST_F(PrivateFiles, AFreshDatabaseInADirectoryThatDoesNotExistIsItsOwnersOnly) {
  const fs::path data = root_ / "data";
  const fs::path file = data / "neruba.db";
  ASSERT_FALSE(fs::exists(data));
  auto db = open_sqlite(file.string());
  write_something(*db);
  // While it is open: the WAL and the shared-memory index exist.
  ASSERT_TRUE(fs::exists(file.string() + "-wal"));
  ASSERT_TRUE(fs::exists(file.string() + "-shm"));
  EXPECT_MODE(data, 0700u);
  EXPECT_MODE(file, 0600u);
  EXPECT_MODE(fs::path(file.string() + "-wal"), 0600u);
  EXPECT_MODE(fs::path(file.string() + "-shm"), 0600u);
}

TEST_F(PrivateFiles, AnExistingDatabaseReadableByOthersIsTightenedOnOpen) {
  const fs::path file = root_ / "neruba.db";
  const std::string wal = file.string() + "-wal";
  const std::string shm = file.string() + "-shm";
  // What an older version that crashed leaves behind: the database and its WAL and index, all
  // readable by others. (Copies taken while it was open; closing removed the originals.)
  {
    auto db = open_sqlite(file.string());
    write_something(*db);
    fs::copy_file(wal, root_ / "wal-left");
    fs::copy_file(shm, root_ / "shm-left");
  }
  ASSERT_FALSE(fs::exists(wal));
  fs::rename(root_ / "wal-left", wal);
  fs::rename(root_ / "shm-left", shm);
  for (const std::string& left : {file.string(), wal, shm}) {
    ASSERT_GT(fs::file_size(left), 0u) << left;  // SQLite itself resets the mode of empty ones
    ASSERT_EQ(::chmod(left.c_str(), 0644), 0);
  }
  // A directory that exists is the operator's: it keeps its mode.
  ASSERT_EQ(::chmod(root_.c_str(), 0755), 0);

  auto db = open_sqlite(file.string());
  EXPECT_MODE(file, 0600u);
  EXPECT_MODE(fs::path(wal), 0600u);
  EXPECT_MODE(fs::path(shm), 0600u);
  write_something(*db);
  EXPECT_MODE(file, 0600u);
  EXPECT_MODE(fs::path(wal), 0600u);
  EXPECT_MODE(fs::path(shm), 0600u);
  EXPECT_MODE(root_, 0755u);
  auto tx = db->begin(TxMode::read);
  EXPECT_EQ(tx->query("SELECT COUNT(*) FROM scratch").at(0).integer(0), 2);
}

}  // namespace
}  // namespace neruba::storage
