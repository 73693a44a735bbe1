#pragma once
// Shared helpers of the HTTP suites (tests/http): a fixture with an in-process API over a fresh
// database per backend, tenant/key/customer shortcuts, problem-details assertions, cursor walks and
// a fingerprint of everything a tenant has stored (to prove that failing requests write nothing).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "http/routes.hpp"
#include "json/json.hpp"
#include "storage/db.hpp"
#include "support/json_access.hpp"
#include "support/test_api.hpp"
#include "support/test_db.hpp"

namespace neruba::test::http_tests {

// Runs `request(t)` on `threads` threads released together (each waits until all are started),
// and returns the responses by thread: as many requests in flight at once as the machine allows.
template <typename Request>
std::vector<TestResponse> run_together(int threads, Request request) {
  std::vector<TestResponse> responses(static_cast<std::size_t>(threads));
  std::atomic<int> ready{0};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();
      responses[static_cast<std::size_t>(t)] = request(t);
    });
  }
  for (auto& thread : running) thread.join();
  return responses;
}

inline constexpr const char* kAllScopes = R"(["ingest","read","write","operator"])";
inline constexpr const char* kErrorTypePrefix = "https://neruba.dev/errors/";

using Headers = std::vector<std::pair<std::string, std::string>>;

// A tenant with one key whose id, name and secret the test knows.
struct Tenant {
  std::string id;
  std::string key;  // the secret
  std::string key_id;
  std::string key_name;
};

struct Key {
  std::string id;
  std::string secret;
  std::string name;
};

inline std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

// Quotes a string as a JSON string literal.
inline std::string json_string(std::string_view text) {
  std::string out;
  json::append_quoted(out, text);
  return out;
}

// An instant half an hour before the clock TestApi starts at (2026-01-05T10:00:00Z): inside every
// default ingest window.
inline constexpr const char* kEventTime = "2026-01-05T09:30:00Z";

// One usage event as JSON text; `properties` is JSON text.
inline std::string event_json(const std::string& event_id, const std::string& customer,
                              const std::string& type, const std::string& properties = "{}") {
  return R"({"event_id":)" + json_string(event_id) + R"(,"customer":)" + json_string(customer) +
         R"(,"type":)" + json_string(type) + R"(,"timestamp":")" + kEventTime +
         R"(","properties":)" + properties + "}";
}

// A POST /v1/events body of these events (event_json).
inline std::string events_body(const std::vector<std::string>& events) {
  std::string out = R"({"events":[)";
  for (std::size_t i = 0; i < events.size(); ++i) out += (i == 0 ? "" : ",") + events[i];
  return out + "]}";
}

// --- the route table ----------------------------------------------------------------------------

// "METHOD /path/{template}": how tests that walk http::routes() name a route.
inline std::string route_key(const http::Route& route) {
  return std::string(route.method) + " " + std::string(route.name);
}

// True for the methods that may change state (POST, PUT, PATCH, DELETE).
inline bool is_write(const http::Route& route) { return route.method != "GET"; }

// The route's path with each {placeholder} replaced by its value in `values`. A placeholder
// `values` does not name fails the test (a new route needs its values) and is left as it is.
inline std::string fill_route(const http::Route& route,
                              const std::map<std::string, std::string>& values) {
  std::string target;
  const std::string_view name = route.name;
  for (std::size_t i = 1; i <= name.size();) {
    const auto end = name.find('/', i);
    std::string part(
        name.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
    if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
      const auto value = values.find(part.substr(1, part.size() - 2));
      if (value != values.end()) {
        part = value->second;
      } else {
        ADD_FAILURE() << route_key(route) << ": no value for the placeholder " << part;
      }
    }
    target += "/" + part;
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return target;
}

class HttpTest : public ::testing::TestWithParam<Backend> {
 protected:
  HttpTest() : api_(GetParam()) {}

  TestApi& api() { return api_; }
  storage::Db& db() { return api_.database().db(); }

  // --- platform -------------------------------------------------------------------------------

  TestResponse admin_post(const std::string& target, const std::string& body,
                          Headers headers = {}) {
    return api_.post(target, test_admin_key, body, std::move(headers));
  }
  TestResponse admin_get(const std::string& target) { return api_.get(target, test_admin_key); }
  // The admin reading tenant data the documented way: GET with both headers.
  TestResponse admin_read(const std::string& target, const std::string& tenant_id,
                          const std::string& justification = "support ticket 4711") {
    return api_.call("GET", target, test_admin_key, "",
                     {{"X-Neruba-Tenant", tenant_id}, {"X-Neruba-Justification", justification}});
  }

  Key make_key(const std::string& tenant_id, const std::string& scopes,
               const std::string& name = "test key") {
    const auto response =
        admin_post("/v1/tenants/" + tenant_id + "/api-keys",
                   R"({"name":)" + json_string(name) + R"(,"scopes":)" + scopes + "}");
    EXPECT_EQ(response.status, 201) << response.body;
    return Key{response.field("id"), response.field("key"), name};
  }

  Tenant make_tenant(const std::string& name, const std::string& extra_fields = "",
                     const std::string& scopes = kAllScopes) {
    const auto response =
        admin_post("/v1/tenants", R"({"name":)" + json_string(name) + extra_fields + "}");
    EXPECT_EQ(response.status, 201) << response.body;
    Tenant tenant;
    tenant.id = response.field("id");
    const Key key = make_key(tenant.id, scopes, name + " full key");
    tenant.key = key.secret;
    tenant.key_id = key.id;
    tenant.key_name = key.name;
    return tenant;
  }

  // --- customers ------------------------------------------------------------------------------

  static std::string customer_body(const std::string& external_id,
                                   const std::string& extra_fields = "") {
    return R"({"external_id":)" + json_string(external_id) + R"(,"name":"Customer )" + external_id +
           "\"" + extra_fields + "}";
  }

  TestResponse create_customer(const Tenant& tenant, const std::string& external_id,
                               const std::string& extra_fields = "", Headers headers = {}) {
    return api_.post("/v1/customers", tenant.key, customer_body(external_id, extra_fields),
                     std::move(headers));
  }

  // --- lists ----------------------------------------------------------------------------------

  // Follows next_cursor from the first page to the last and returns every item in order.
  // `pages` (optional) receives the number of pages fetched.
  std::vector<json::Value> walk(const std::string& path, const std::string& bearer,
                                std::size_t limit, Headers headers = {},
                                std::size_t* pages = nullptr) {
    std::vector<json::Value> items;
    std::string cursor;
    std::size_t fetched = 0;
    for (int guard = 0; guard < 10000; ++guard) {
      std::string target = path + (path.find('?') == std::string::npos ? "?" : "&") +
                           "limit=" + std::to_string(limit);
      if (!cursor.empty()) target += "&cursor=" + percent_encode(cursor);
      const auto response = api_.call("GET", target, bearer, "", headers);
      EXPECT_EQ(response.status, 200) << target << ": " << response.body;
      if (response.status != 200) break;
      ++fetched;
      const auto& data = member(response.json, "data");
      EXPECT_TRUE(data.is_array()) << response.body;
      EXPECT_LE(data.items().size(), limit) << target;
      for (const auto& item : data.items()) items.push_back(item);
      const auto& next = member(response.json, "next_cursor");
      EXPECT_TRUE(next.is_null() || next.is_string()) << response.body;
      if (next.is_null()) break;
      EXPECT_FALSE(next.text().empty()) << response.body;
      if (next.text() == cursor) {
        ADD_FAILURE() << "next_cursor did not advance: " << response.body;
        break;
      }
      cursor = next.text();
    }
    if (pages != nullptr) *pages = fetched;
    return items;
  }

  std::vector<json::Value> audit_trail(const Tenant& tenant, std::size_t limit = 1000) {
    return walk("/v1/audit", tenant.key, limit);
  }

  std::vector<std::string> customer_external_ids(const Tenant& tenant) {
    std::vector<std::string> out;
    for (const auto& customer : walk("/v1/customers", tenant.key, 1000)) {
      out.push_back(text_of(customer, "external_id"));
    }
    return out;
  }

  // --- database -------------------------------------------------------------------------------

  storage::Rows query(std::string_view sql, std::initializer_list<storage::Param> params = {}) {
    auto tx = db().begin(storage::TxMode::read);
    return tx->query(sql, params);
  }

  std::int64_t scalar(std::string_view sql, std::initializer_list<storage::Param> params = {}) {
    const auto rows = query(sql, params);
    return rows.at(0).integer(0);
  }

  std::int64_t audit_count(const std::string& tenant_id) {
    return scalar("SELECT COUNT(*) FROM audit_records WHERE tenant_id = $1", {tenant_id});
  }

  std::int64_t customer_count(const std::string& tenant_id) {
    return scalar("SELECT COUNT(*) FROM customers WHERE tenant_id = $1", {tenant_id});
  }

  // The tables with a tenant_id column, read from the schema (so a new tenant table is covered
  // without a test naming it). Fails the test when a table every schema has is not among them.
  const std::vector<std::string>& tenant_tables() {
    if (!tenant_tables_.empty()) return tenant_tables_;
    const auto rows =
        db().dialect() == storage::Dialect::sqlite
            ? query(
                  "SELECT m.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c "
                  "WHERE m.type = 'table' AND c.name = 'tenant_id' ORDER BY m.name")
            : query(
                  "SELECT table_name FROM information_schema.columns "
                  "WHERE table_schema = current_schema() AND column_name = 'tenant_id' "
                  "ORDER BY table_name");
    for (const auto& row : rows) tenant_tables_.push_back(row.text(0));
    for (const char* expected :
         {"tenants", "api_keys", "customers", "idempotency_keys", "audit_records", "events",
          "meters", "usage_buckets", "usage_distinct"}) {
      if (std::find(tenant_tables_.begin(), tenant_tables_.end(), expected) ==
          tenant_tables_.end()) {
        ADD_FAILURE() << "the schema lists no tenant_id column in table " << expected
                      << ": the fingerprint would not cover it";
      }
    }
    return tenant_tables_;
  }

  // Everything stored for the tenant in every table with a tenant_id column (and the
  // platform-scoped rows, tenant_id ''), as text: equal fingerprints before and after a request
  // prove the request wrote nothing. Rows are sorted, so the order a table is read in is no change.
  std::string fingerprint(const std::string& tenant_id) {
    std::string out;
    for (const auto& table : tenant_tables()) {
      std::vector<std::string> lines;
      for (const auto& row : query(
               "SELECT * FROM " + table + " WHERE tenant_id = $1 OR tenant_id = ''", {tenant_id})) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
          line += row.is_null(i) ? std::string("NULL") : row.text(i);
          line += '|';
        }
        lines.push_back(std::move(line));
      }
      std::sort(lines.begin(), lines.end());
      out += table + ":\n";
      for (const auto& line : lines) out += line + '\n';
    }
    return out;
  }

  // Posts `body` to `target` as `tenant` under Idempotency-Key `key`, twice: the first must answer
  // `status`; the second is the first byte for byte, marked Idempotent-Replayed, and writes
  // nothing. Returns the first response.
  TestResponse post_replayed(const std::string& target, const Tenant& tenant,
                             const std::string& body, const std::string& key, int status = 201);

  TestApi api_;
  std::vector<std::string> tenant_tables_;
};

// A short description of where two fingerprints first differ (full dumps are unreadable).
inline std::string first_difference(const std::string& before, const std::string& after) {
  std::size_t i = 0;
  while (i < before.size() && i < after.size() && before[i] == after[i]) ++i;
  const auto line_start = [](const std::string& text, std::size_t at) {
    const auto found = text.rfind('\n', at == 0 ? 0 : at - 1);
    return found == std::string::npos ? 0 : found + 1;
  };
  const auto line_of = [&](const std::string& text) {
    const std::size_t start = line_start(text, std::min(i, text.size()));
    const std::size_t end = text.find('\n', std::min(i, text.size()));
    return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  };
  // The section header ("customers:", "audit:", ...) the difference is in.
  std::string section;
  for (std::size_t at = 0; at < i && at < before.size();) {
    const auto end = before.find('\n', at);
    if (end == std::string::npos) break;
    const std::string line = before.substr(at, end - at);
    if (!line.empty() && line.back() == ':') section = line;
    at = end + 1;
  }
  return "stored rows changed in [" + section + "]\n  before: " + line_of(before) +
         "\n  after:  " + line_of(after);
}

#define EXPECT_UNCHANGED(before, after) \
  EXPECT_TRUE((before) == (after))      \
      << ::neruba::test::http_tests::first_difference((before), (after))

inline TestResponse HttpTest::post_replayed(const std::string& target, const Tenant& tenant,
                                            const std::string& body, const std::string& key,
                                            int status) {
  const Headers headers{{"Idempotency-Key", key}};
  auto first = api_.post(target, tenant.key, body, headers);
  EXPECT_EQ(first.status, status) << target << ": " << first.body;
  EXPECT_EQ(first.header("Idempotent-Replayed"), nullptr) << target << ": a first answer";
  const std::string before = fingerprint(tenant.id);
  const auto replay = api_.post(target, tenant.key, body, headers);
  EXPECT_EQ(replay.status, first.status) << target;
  EXPECT_EQ(replay.body, first.body) << target;
  const auto* replayed = replay.header("Idempotent-Replayed");
  EXPECT_TRUE(replayed != nullptr && *replayed == "true") << target << ": not marked replayed";
  EXPECT_UNCHANGED(before, fingerprint(tenant.id)) << target;
  return first;
}

// Asserts an RFC 9457 problem-details response with the given status and type slug.
inline void expect_problem(const TestResponse& response, int status, std::string_view slug,
                           std::string_view context = "") {
  EXPECT_EQ(response.status, status) << context << "\n" << response.body;
  const auto* content_type = response.header("Content-Type");
  ASSERT_NE(content_type, nullptr) << context;
  EXPECT_EQ(content_type->rfind("application/problem+json", 0), 0u)
      << context << " content type " << *content_type;
  ASSERT_TRUE(response.json.is_object()) << context << "\n" << response.body;
  EXPECT_EQ(text_of(response.json, "type"), std::string(kErrorTypePrefix) + std::string(slug))
      << context << "\n"
      << response.body;
  EXPECT_TRUE(member(response.json, "title").is_string()) << context;
  EXPECT_FALSE(text_of(response.json, "title").empty()) << context;
  EXPECT_EQ(int_of(response.json, "status"), status) << context;
  EXPECT_TRUE(member(response.json, "detail").is_string()) << context;
  EXPECT_FALSE(text_of(response.json, "detail").empty()) << context;
  const auto& errors = member(response.json, "errors");
  EXPECT_TRUE(errors.is_array()) << context << "\n" << response.body;
  for (const auto& item : errors.items()) {
    EXPECT_TRUE(member(item, "type").is_string()) << context << "\n" << response.body;
    EXPECT_TRUE(member(item, "detail").is_string()) << context << "\n" << response.body;
  }
}

// True when the problem's errors[] has an item for `field` with `type`.
inline bool has_field_error(const TestResponse& response, std::string_view field,
                            std::string_view type) {
  for (const auto& item : member(response.json, "errors").items()) {
    if (text_of(item, "field") == field && text_of(item, "type") == type) return true;
  }
  return false;
}

}  // namespace neruba::test::http_tests
