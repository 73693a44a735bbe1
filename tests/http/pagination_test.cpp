// Cursor pagination (API.md "Lists": { data, next_cursor }, ?limit= default 100, max 1000,
// ?cursor=) of GET /v1/customers and GET /v1/tenants/{id}/api-keys: every page size walks every
// item exactly once, in a stable order, and the last page says next_cursor: null.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "http_test_support.hpp"

namespace neruba::test::http_tests {
namespace {

class Pagination : public HttpTest {
 protected:
  void SetUp() override { tenant_ = make_tenant("Acme"); }

  // Walks with every limit from 1 to n + 1 and checks each walk sees `expected` exactly once,
  // in the same order as the single-page listing.
  void expect_complete_walks(const std::string& path, const std::string& bearer,
                             const std::set<std::string>& expected, std::string_view id_field) {
    const auto all = walk(path, bearer, 1000);
    std::vector<std::string> reference;
    for (const auto& item : all) reference.push_back(text_of(item, id_field));
    EXPECT_EQ(std::set<std::string>(reference.begin(), reference.end()), expected);
    EXPECT_EQ(reference.size(), expected.size()) << "duplicates in a single page";
    for (std::size_t limit = 1; limit <= expected.size() + 1; ++limit) {
      std::size_t pages = 0;
      std::vector<std::string> seen;
      for (const auto& item : walk(path, bearer, limit, {}, &pages)) {
        seen.push_back(text_of(item, id_field));
      }
      EXPECT_EQ(seen, reference) << path << " limit " << limit;
      const std::size_t full_pages = (expected.size() + limit - 1) / limit;
      EXPECT_GE(pages, full_pages) << path << " limit " << limit;
      EXPECT_LE(pages, full_pages + 1) << path << " limit " << limit;
    }
  }

  Tenant tenant_;
};

TEST_P(Pagination, CustomersWalkWithEveryPageSize) {
  std::set<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    const std::string id = "cust-" + std::to_string(i);
    ASSERT_EQ(create_customer(tenant_, id).status, 201);
    expected.insert(id);
  }
  expect_complete_walks("/v1/customers", tenant_.key, expected, "external_id");
}

TEST_P(Pagination, CustomersWithAwkwardExternalIdsWalkWithoutGapsOrDuplicates) {
  // Mixed case, punctuation and characters that need percent-encoding in a cursor.
  const std::vector<std::string> ids = {"a",       "B",   "b",        "_x", "Z-1", "z.2",
                                        "a+b&c=d", "a b", "ä-umlaut", "10", "9",   "a:b@c",
                                        "~tilde",  "A",   "aa",       "a-", "a_"};
  std::set<std::string> expected;
  for (const auto& id : ids) {
    const auto created = create_customer(tenant_, id);
    if (created.status == 201) {
      expected.insert(id);
    } else {
      // Identifiers with spaces or non-ASCII may be refused, but then with a 422.
      expect_problem(created, 422, "validation-failed", id);
    }
  }
  ASSERT_GE(expected.size(), 14u);
  expect_complete_walks("/v1/customers", tenant_.key, expected, "external_id");
}

TEST_P(Pagination, LastPageHasANullCursor) {
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(create_customer(tenant_, "c" + std::to_string(i)).status, 201);
  const auto first = api().get("/v1/customers?limit=3", tenant_.key);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(member(first.json, "data").items().size(), 3u);
  ASSERT_TRUE(member(first.json, "next_cursor").is_string()) << first.body;
  const auto second = api().get(
      "/v1/customers?limit=3&cursor=" + percent_encode(first.field("next_cursor")), tenant_.key);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(member(second.json, "data").items().size(), 1u);
  EXPECT_TRUE(member(second.json, "next_cursor").is_null()) << second.body;

  const auto everything = api().get("/v1/customers", tenant_.key);
  EXPECT_EQ(member(everything.json, "data").items().size(), 4u);
  EXPECT_TRUE(member(everything.json, "next_cursor").is_null()) << everything.body;
}

TEST_P(Pagination, EmptyListHasNoDataAndANullCursor) {
  const auto empty = api().get("/v1/customers", tenant_.key);
  ASSERT_EQ(empty.status, 200);
  EXPECT_TRUE(member(empty.json, "data").is_array());
  EXPECT_TRUE(member(empty.json, "data").items().empty());
  EXPECT_TRUE(member(empty.json, "next_cursor").is_null()) << empty.body;
}

TEST_P(Pagination, DefaultPageSizeIsOneHundred) {
  for (int i = 0; i < 101; ++i) {
    ASSERT_EQ(create_customer(tenant_, "c" + std::to_string(1000 + i)).status, 201);
  }
  const auto first = api().get("/v1/customers", tenant_.key);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(member(first.json, "data").items().size(), 100u);
  EXPECT_TRUE(member(first.json, "next_cursor").is_string()) << "101 customers need two pages";
  EXPECT_EQ(walk("/v1/customers", tenant_.key, 1000).size(), 101u);
}

TEST_P(Pagination, CursorWalkSurvivesInsertsBehindTheCursor) {
  for (const std::string id : {"b", "d", "f"}) ASSERT_EQ(create_customer(tenant_, id).status, 201);
  const auto first = api().get("/v1/customers?limit=2", tenant_.key);
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(member(first.json, "next_cursor").is_string());
  // An item that sorts before the cursor appears on no later page; the rest are all seen once.
  ASSERT_EQ(create_customer(tenant_, "a").status, 201);
  std::vector<std::string> seen;
  for (const auto& item : member(first.json, "data").items())
    seen.push_back(text_of(item, "external_id"));
  const auto rest = api().get(
      "/v1/customers?limit=1000&cursor=" + percent_encode(first.field("next_cursor")), tenant_.key);
  ASSERT_EQ(rest.status, 200);
  for (const auto& item : member(rest.json, "data").items())
    seen.push_back(text_of(item, "external_id"));
  EXPECT_EQ(seen, (std::vector<std::string>{"b", "d", "f"}));
}

TEST_P(Pagination, ApiKeysWalkWithEveryPageSize) {
  std::set<std::string> expected = {tenant_.key_id};
  for (int i = 0; i < 5; ++i) {
    expected.insert(make_key(tenant_.id, R"(["read"])", "key " + std::to_string(i)).id);
  }
  // A revoked key is still listed (with revoked_at).
  const std::string revoked = *expected.rbegin();
  ASSERT_EQ(
      api()
          .call("DELETE", "/v1/tenants/" + tenant_.id + "/api-keys/" + revoked, test_admin_key)
          .status,
      200);
  expect_complete_walks("/v1/tenants/" + tenant_.id + "/api-keys", test_admin_key, expected, "id");
  for (const auto& key : walk("/v1/tenants/" + tenant_.id + "/api-keys", test_admin_key, 2)) {
    EXPECT_EQ(member(key, "revoked_at").is_null(), text_of(key, "id") != revoked);
    EXPECT_TRUE(member(key, "key").is_null()) << "listings never carry the secret";
  }
}

TEST_P(Pagination, ApiKeyListingsAreSeparatePerTenant) {
  const Tenant other = make_tenant("Other");
  make_key(other.id, R"(["read"])", "other's second");
  const auto mine = walk("/v1/tenants/" + tenant_.id + "/api-keys", test_admin_key, 1);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(text_of(mine[0], "id"), tenant_.key_id);
  EXPECT_EQ(walk("/v1/tenants/" + other.id + "/api-keys", test_admin_key, 1).size(), 2u);
}

TEST_P(Pagination, TenantsWalkWithSmallPages) {
  std::set<std::string> expected = {tenant_.id};
  for (int i = 0; i < 4; ++i) expected.insert(make_tenant("T" + std::to_string(i)).id);
  expect_complete_walks("/v1/tenants", test_admin_key, expected, "id");
}

INSTANTIATE_TEST_SUITE_P(Backends, Pagination, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
