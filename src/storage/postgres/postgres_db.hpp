#pragma once
// PostgreSQL backend of the SQL seam (storage/db.hpp). The libpq header stays inside
// postgres_db.cpp: nothing that includes this header sees libpq.
#include <cstddef>
#include <memory>
#include <string>

#include "storage/db.hpp"

namespace neruba::storage {

inline constexpr std::size_t kDefaultPostgresPoolSize = 16;

// The pool size open_postgres(conninfo) uses: env NERUBA_PG_POOL_SIZE (a positive integer) or
// kDefaultPostgresPoolSize. Throws StorageError on a malformed value.
std::size_t postgres_pool_size_from_env();

// Opens a pool of at most `pool_size` connections (created lazily; one is opened eagerly so a bad
// conninfo or an unreachable server fails here with StorageError::Kind::unavailable).
// `conninfo` is anything libpq accepts: "postgresql://user@host:port/db?options=…" or "key=value
// …".
std::unique_ptr<Db> open_postgres(const std::string& conninfo, std::size_t pool_size);

}  // namespace neruba::storage
