#include "storage/db.hpp"

#include <charconv>
#include <limits>

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

BinaryCopy::BinaryCopy() {
  // Signature, flags (no OIDs), header extension length.
  static constexpr char header[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
  static_assert(sizeof header - 1 + 2 == framing_bytes, "header and trailer bytes");
  out_.append(header, sizeof header - 1);
}

void BinaryCopy::length(std::int32_t value) {
  const auto bits = static_cast<std::uint32_t>(value);
  const char bytes[4] = {static_cast<char>(bits >> 24), static_cast<char>(bits >> 16),
                         static_cast<char>(bits >> 8), static_cast<char>(bits)};
  out_.append(bytes, 4);
}

void BinaryCopy::row(std::int16_t fields) {
  const auto bits = static_cast<std::uint16_t>(fields);
  out_.push_back(static_cast<char>(bits >> 8));
  out_.push_back(static_cast<char>(bits));
}

void BinaryCopy::text(std::string_view value) {
  if (value.find('\0') != std::string_view::npos) {
    throw StorageError(StorageError::Kind::other, "COPY: text contains a NUL byte");
  }
  if (value.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    throw StorageError(StorageError::Kind::other, "COPY: text longer than 2 GiB");
  }
  length(static_cast<std::int32_t>(value.size()));
  out_.append(value);
}

void BinaryCopy::bigint(std::int64_t value) {
  length(8);
  const auto bits = static_cast<std::uint64_t>(value);
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(bits >> (56 - 8 * i));
  out_.append(bytes, 8);
}

void BinaryCopy::null() { length(-1); }

std::string BinaryCopy::finish() && {
  row(-1);  // the trailer: a field count of -1
  return std::move(out_);
}

void refresh_statistics(Db& db) {
  if (db.dialect() != Dialect::sqlite) return;
  auto tx = db.begin(TxMode::write);
  tx->exec("PRAGMA analysis_limit=1000");
  tx->exec("ANALYZE");
  tx->commit();
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
