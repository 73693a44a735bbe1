#include "storage/db.hpp"

#include <charconv>

namespace neruba::storage {

const std::string& Row::text(std::size_t i) const {
  const auto& column = columns_.at(i);
  if (!column)
    throw StorageError(StorageError::Kind::other, "unexpected NULL in column " + std::to_string(i));
  return *column;
}

std::int64_t Row::integer(std::size_t i) const {
  const std::string& value = text(i);
  std::int64_t out = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc{} || ptr != value.data() + value.size()) {
    throw StorageError(StorageError::Kind::other,
                       "column " + std::to_string(i) + " is not an integer");
  }
  return out;
}

std::unique_ptr<Db> open_database(const std::string& url) {
  std::unique_ptr<Db> db;
  if (url.rfind("sqlite:", 0) == 0) {
    db = open_sqlite(url.substr(7));
  } else if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    db = open_postgres(url);
  } else {
    throw std::invalid_argument("unsupported database URL (want sqlite:PATH or postgresql://…): " +
                                url);
  }
  migrate(*db);
  return db;
}

}  // namespace neruba::storage
