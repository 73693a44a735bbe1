#include "storage/api_keys.hpp"

#include "domain/time.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::api_keys {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view key_columns =
    "tenant_id, key_id, name, scopes, key_hash, key_prefix, created_at, revoked_at";

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& scope : scopes) {
    if (!out.empty()) out.push_back(' ');
    out += scope;
  }
  return out;
}

std::vector<std::string> split_scopes(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find(' ', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

ApiKeyRecord key_from_row(const Row& row) {
  ApiKeyRecord key{TenantId(row.text(0)),
                   ApiKeyId(row.text(1)),
                   row.text(2),
                   split_scopes(row.text(3)),
                   row.text(4),
                   row.text(5),
                   from_unix_micros(row.integer(6)),
                   std::nullopt};
  if (!row.is_null(7)) key.revoked_at = from_unix_micros(row.integer(7));
  return key;
}

}  // namespace

bool insert(Tx& tx, const ApiKeyRecord& k) {
  return tx.exec(
             "INSERT INTO api_keys (tenant_id, key_id, name, scopes, key_hash, key_prefix, "
             "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
             {k.tenant.str(), k.id.str(), k.name, join_scopes(k.scopes), k.key_hash, k.key_prefix,
              to_unix_micros(k.created_at)}) == 1;
}

std::optional<ApiKeyRecord> find_by_hash(Tx& tx, const TenantId& tenant,
                                         const std::string& key_hash) {
  const auto rows = tx.query(
      sql::select_from(key_columns, "FROM api_keys WHERE tenant_id = $1 AND key_hash = $2"),
      {tenant.str(), key_hash});
  if (rows.empty()) return std::nullopt;
  return key_from_row(rows.front());
}

std::optional<ApiKeyRecord> find(Tx& tx, const TenantId& tenant, const ApiKeyId& id) {
  const auto rows =
      tx.query(sql::select_from(key_columns, "FROM api_keys WHERE tenant_id = $1 AND key_id = $2"),
               {tenant.str(), id.str()});
  if (rows.empty()) return std::nullopt;
  return key_from_row(rows.front());
}

std::vector<ApiKeyRecord> list(Tx& tx, const TenantId& tenant, const std::string& after_id,
                               std::size_t limit) {
  const auto rows =
      tx.query(sql::select_from(
                   key_columns,
                   "FROM api_keys WHERE tenant_id = $1 AND key_id > $2 ORDER BY key_id LIMIT $3"),
               {tenant.str(), after_id, static_cast<std::int64_t>(limit)});
  std::vector<ApiKeyRecord> out;
  for (const auto& row : rows) out.push_back(key_from_row(row));
  return out;
}

bool revoke(Tx& tx, const TenantId& tenant, const ApiKeyId& id, Instant at) {
  return tx.exec(
             "UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND key_id = $2 AND "
             "revoked_at IS NULL",
             {tenant.str(), id.str(), to_unix_micros(at)}) == 1;
}

}  // namespace neruba::storage::api_keys
