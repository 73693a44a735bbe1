#pragma once
// Column encodings shared by the repositories, the migrations and the ingest benchmark: an
// optional text or integer as a NULL-able parameter (and the integer back), an exact decimal as
// its text and back. These are the storage format itself, so a migration may rely on them as much
// as a repository does.
#include <optional>
#include <string>
#include <string_view>

#include "common/crypto.hpp"
#include "domain/currency.hpp"
#include "domain/decimal.hpp"
#include "storage/db.hpp"

namespace neruba::storage::columns {

inline Param optional_text(const std::optional<std::string>& value) {
  if (value) return *value;
  return std::monostate{};
}

inline Param optional_integer(const std::optional<std::int64_t>& value) {
  if (value) return *value;
  return std::monostate{};
}

// A NULL-able integer column.
inline std::optional<std::int64_t> stored_optional_integer(const Row& row, std::size_t i) {
  if (row.is_null(i)) return std::nullopt;
  return row.integer(i);
}

inline std::optional<std::string> decimal_text(const std::optional<domain::Decimal>& value) {
  if (!value) return std::nullopt;
  return value->to_string();
}

// A stored decimal column (NULL stays nullopt); text that is not a decimal is corruption.
inline std::optional<domain::Decimal> stored_decimal(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  const auto value = domain::Decimal::parse(*text);
  if (!value) throw StorageError(StorageError::Kind::other, "stored decimal is corrupt: " + *text);
  return *value;
}

// The message of the error the decimal sum of two such columns (neruba_decimal_sum, for
// usage::add_to_buckets) raises when the total would no longer fit the exact decimal type. Both
// backends report that error as StorageError::Kind::decimal_overflow.
inline constexpr std::string_view decimal_sum_overflow =
    "neruba_decimal_sum: the total overflows 36 significant digits";

// A stored currency code; a code this build does not know is corruption.
inline domain::Currency stored_currency(const std::string& code) {
  auto currency = domain::Currency::of(code);
  if (!currency)
    throw StorageError(StorageError::Kind::other, "stored currency is unknown: " + code);
  return std::move(*currency);
}

// Group keys longer than this many bytes are stored as group_key_digest() in the key column and
// in full beside it (group_value): every backend's index takes the key column then (PostgreSQL's
// B-tree refuses entries over about 2.7 KB).
inline constexpr std::size_t group_key_length_max = 256;
// "#" and the SHA-256 of the key in hex: a group key is a JSON object ("{…}"), so the two forms
// never meet.
inline std::string group_key_digest(std::string_view group_key) {
  return "#" + crypto::sha256_hex(group_key);
}

}  // namespace neruba::storage::columns
