#pragma once
// SQLite backend of the SQL seam (storage/db.hpp), beyond open_sqlite(path). The sqlite3 header
// stays inside sqlite_db.cpp: nothing that includes this header sees SQLite.
#include <cstddef>
#include <memory>
#include <string>

#include "storage/db.hpp"

namespace neruba::storage {

// Reader connections a SQLite database opens at most (lazily, one per concurrent read Tx) beside
// its one writer and its checkpointer's connection.
inline constexpr std::size_t kSqliteReaderPoolSize = 8;

// open_sqlite(path), every connection opened through the SQLite VFS registered as `vfs`
// (sqlite3_vfs_register) instead of the default one: tests wrap the default VFS to watch the
// file operations (fsyncs) the backend makes. An empty `vfs` is SQLite's default.
std::unique_ptr<Db> open_sqlite(const std::string& path, const std::string& vfs);

}  // namespace neruba::storage
