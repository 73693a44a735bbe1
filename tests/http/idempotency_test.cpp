// Idempotency-Key on every POST and PATCH, scoped per tenant (API.md "Conventions", DESIGN.md): a
// replay returns the first response byte for byte with `Idempotent-Replayed: true` and writes
// nothing; the same key with another request is 409 idempotency-key-reused; a key still in flight
// is 409 idempotency-request-in-flight until its lease runs out; a failed request frees its key.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "domain/time.hpp"
#include "http_test_support.hpp"
#include "services/idempotency.hpp"

namespace neruba::test::http_tests {
namespace {

using namespace std::chrono_literals;

class Idempotency : public HttpTest {
 protected:
  void SetUp() override { tenant_ = make_tenant("Acme"); }

  static Headers key(const std::string& value) { return {{"Idempotency-Key", value}}; }

  // Puts a stored key back into the state of a request that is still running (or died running):
  // in flight, no response, leased until `locked_until`.
  void mark_in_flight(const std::string& scope, const std::string& idempotency_key,
                      Instant locked_until) {
    const auto changed = api().database().raw_exec(
        "UPDATE idempotency_keys SET state = 'in_flight', response_status = NULL, "
        "response_body = NULL, locked_until = " +
        std::to_string(domain::to_unix_micros(locked_until)) + " WHERE tenant_id = '" + scope +
        "' AND idempotency_key = '" + idempotency_key + "'");
    ASSERT_EQ(changed, 1) << "no stored key " << idempotency_key << " in scope '" << scope << "'";
  }

  static void expect_replayed(const TestResponse& response) {
    const auto* replayed = response.header("Idempotent-Replayed");
    ASSERT_NE(replayed, nullptr) << response.body;
    EXPECT_EQ(*replayed, "true");
  }

  Tenant tenant_;
};

TEST_P(Idempotency, ReplayReturnsTheFirstResponseByteForByte) {
  // Escapes, non-ASCII text and metadata exercise the stored response's serialization.
  const std::string body =
      R"({"external_id":"c-1","name":"Zoë \"Q\" Müller \\ 東京 \u0001","currency":"JPY",)"
      R"("timezone":"Asia/Tokyo","metadata":{"b":"2","a":"1","emoji":"🚀"}})";
  const auto first = api().post("/v1/customers", tenant_.key, body, key("create-c-1"));
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.header("Idempotent-Replayed"), nullptr) << "a first response is no replay";

  api().clock().advance(1h);  // a later retry still gets the first response
  const auto replay = api().post("/v1/customers", tenant_.key, body, key("create-c-1"));
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, first.body);
  expect_replayed(replay);
  const auto* content_type = replay.header("Content-Type");
  ASSERT_NE(content_type, nullptr);
  EXPECT_EQ(content_type->rfind("application/json", 0), 0u) << *content_type;
  EXPECT_EQ(customer_count(tenant_.id), 1);
}

TEST_P(Idempotency, ReplayWritesNoSecondAuditRecordAndNoSecondObject) {
  const auto first = create_customer(tenant_, "c-1", "", key("k1"));
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string after_first = fingerprint(tenant_.id);
  for (int i = 0; i < 3; ++i) {
    const auto replay = create_customer(tenant_, "c-1", "", key("k1"));
    EXPECT_EQ(replay.body, first.body);
    expect_replayed(replay);
  }
  EXPECT_UNCHANGED(after_first, fingerprint(tenant_.id)) << "a replay must write nothing";
  std::int64_t created = 0;
  for (const auto& record : audit_trail(tenant_)) {
    created += text_of(record, "action") == "customer.created" ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
}

TEST_P(Idempotency, KeyIsScopedToTheTenantNotToTheApiKey) {
  const Key second = make_key(tenant_.id, R"(["write"])", "second writer");
  const auto first = create_customer(tenant_, "c-1", "", key("k1"));
  ASSERT_EQ(first.status, 201);
  const auto replay = api().post("/v1/customers", second.secret, customer_body("c-1"), key("k1"));
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, first.body);
  expect_replayed(replay);
  EXPECT_EQ(customer_count(tenant_.id), 1);
}

TEST_P(Idempotency, SameKeyWithAnotherBodyIsAConflictAndWritesNothing) {
  ASSERT_EQ(create_customer(tenant_, "c-1", "", key("k1")).status, 201);
  const std::string before = fingerprint(tenant_.id);
  const auto other = create_customer(tenant_, "c-2", "", key("k1"));
  expect_problem(other, 409, "idempotency-key-reused");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  EXPECT_EQ(api().get("/v1/customers/c-2", tenant_.key).status, 404);
  // The original request still replays.
  const auto replay = create_customer(tenant_, "c-1", "", key("k1"));
  EXPECT_EQ(replay.status, 201);
  expect_replayed(replay);
}

TEST_P(Idempotency, SameKeyOnAnotherEndpointIsAConflict) {
  const auto tenant = admin_post("/v1/tenants", R"({"name":"Other"})", key("platform-1"));
  ASSERT_EQ(tenant.status, 201) << tenant.body;
  const auto other = admin_post("/v1/tenants/" + tenant_.id + "/api-keys",
                                R"({"name":"x","scopes":["read"]})", key("platform-1"));
  expect_problem(other, 409, "idempotency-key-reused");
}

TEST_P(Idempotency, AdminRequestsReplayToo) {
  const auto tenants_before = scalar("SELECT COUNT(*) FROM tenants");
  const auto first = admin_post("/v1/tenants", R"({"name":"Once"})", key("tenant-once"));
  ASSERT_EQ(first.status, 201) << first.body;
  const auto replay = admin_post("/v1/tenants", R"({"name":"Once"})", key("tenant-once"));
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, first.body);
  expect_replayed(replay);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM tenants"), tenants_before + 1);
}

TEST_P(Idempotency, APatchReplaysTooAndItsKeyIsBoundToItsBody) {
  const std::string target = "/v1/tenants/" + tenant_.id;
  const auto first =
      api().call("PATCH", target, test_admin_key, R"({"name":"Acme Renamed"})", key("rename-1"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("Idempotent-Replayed"), nullptr);
  // Renamed again meanwhile: the replay answers the first response and changes nothing back.
  ASSERT_EQ(api().call("PATCH", target, test_admin_key, R"({"name":"Acme Later"})").status, 200);
  const std::string before = fingerprint(tenant_.id);
  const auto replay =
      api().call("PATCH", target, test_admin_key, R"({"name":"Acme Renamed"})", key("rename-1"));
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, first.body);
  expect_replayed(replay);
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  expect_problem(
      api().call("PATCH", target, test_admin_key, R"({"name":"Acme Other"})", key("rename-1")), 409,
      "idempotency-key-reused");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  EXPECT_EQ(api().get(target, test_admin_key).field("name"), "Acme Later");
}

TEST_P(Idempotency, ReplayedKeyCreationCreatesNoSecondKeyAndNoNewSecret) {
  const std::string target = "/v1/tenants/" + tenant_.id + "/api-keys";
  const auto first = admin_post(target, R"({"name":"ci","scopes":["read"]})", key("ci-key"));
  ASSERT_EQ(first.status, 201) << first.body;
  const auto keys_before =
      scalar("SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1", {tenant_.id});
  const auto audit_before = audit_count(tenant_.id);
  const auto replay = admin_post(target, R"({"name":"ci","scopes":["read"]})", key("ci-key"));
  EXPECT_EQ(replay.status, 201) << replay.body;
  expect_replayed(replay);
  EXPECT_EQ(replay.field("id"), first.field("id"));
  // Whether or not a replay repeats the secret, it never issues another one.
  if (!member(replay.json, "key").is_null()) {
    EXPECT_EQ(replay.field("key"), first.field("key"));
  }
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1", {tenant_.id}),
            keys_before);
  EXPECT_EQ(audit_count(tenant_.id), audit_before);
  EXPECT_EQ(api().get("/v1/customers", first.field("key")).status, 200);
}

TEST_P(Idempotency, RequestStillInFlightIsAConflict) {
  const auto first = create_customer(tenant_, "c-1", "", key("k1"));
  ASSERT_EQ(first.status, 201);
  mark_in_flight(tenant_.id, "k1", api().clock().now() + 60s);
  const std::string before = fingerprint(tenant_.id);
  const auto again = create_customer(tenant_, "c-1", "", key("k1"));
  expect_problem(again, 409, "idempotency-request-in-flight");
  EXPECT_EQ(again.header("Idempotent-Replayed"), nullptr);
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  api().clock().advance(30s);  // still inside the lease
  expect_problem(create_customer(tenant_, "c-1", "", key("k1")), 409,
                 "idempotency-request-in-flight");
}

TEST_P(Idempotency, KeyClaimedByAnotherNodeBlocksTheRequest) {
  // Another node claimed the key (its own request is running).
  services::IdempotencyClaim claim;
  claim.scope = TenantId(tenant_.id);
  claim.key = "k-node";
  claim.request_hash = "hash-of-the-other-nodes-request";
  const auto ids = make_random_id_generator();
  const auto claimed = services::claim_idempotency_key(db(), claim, api().clock().now(), *ids);
  ASSERT_TRUE(claimed.ok());
  ASSERT_FALSE(claimed.value().has_value()) << "the key was free";
  const std::string before = fingerprint(tenant_.id);
  const auto response = create_customer(tenant_, "c-1", "", key("k-node"));
  EXPECT_EQ(response.status, 409) << response.body;
  const std::string type = text_of(response.json, "type");
  EXPECT_TRUE(type == std::string(kErrorTypePrefix) + "idempotency-request-in-flight" ||
              type == std::string(kErrorTypePrefix) + "idempotency-key-reused")
      << response.body;
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  EXPECT_EQ(customer_count(tenant_.id), 0);
}

TEST_P(Idempotency, ExpiredInFlightLeaseIsTakenOver) {
  const auto first = create_customer(tenant_, "c-1", "", key("k1"));
  ASSERT_EQ(first.status, 201);
  // The first attempt "died" before committing: no customer, the key still in flight.
  api().database().raw_exec("DELETE FROM customers WHERE tenant_id = '" + tenant_.id + "'");
  mark_in_flight(tenant_.id, "k1", api().clock().now() + 60s);
  expect_problem(create_customer(tenant_, "c-1", "", key("k1")), 409,
                 "idempotency-request-in-flight");

  api().clock().advance(10min);  // the lease has run out
  const auto taken_over = create_customer(tenant_, "c-1", "", key("k1"));
  ASSERT_EQ(taken_over.status, 201) << taken_over.body;
  EXPECT_EQ(taken_over.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(api().get("/v1/customers/c-1", tenant_.key).field("id"), taken_over.field("id"));

  // From now on the key replays the takeover's response.
  const auto replay = create_customer(tenant_, "c-1", "", key("k1"));
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, taken_over.body);
  expect_replayed(replay);
}

TEST_P(Idempotency, LeaseInThePastIsTakenOverAtOnce) {
  const auto first = admin_post("/v1/tenants/" + tenant_.id + "/api-keys",
                                R"({"name":"ci","scopes":["read"]})", key("key-create"));
  ASSERT_EQ(first.status, 201);
  mark_in_flight("", "key-create", api().clock().now() - 1s);
  const auto taken_over = admin_post("/v1/tenants/" + tenant_.id + "/api-keys",
                                     R"({"name":"ci","scopes":["read"]})", key("key-create"));
  ASSERT_EQ(taken_over.status, 201) << taken_over.body;
  EXPECT_EQ(taken_over.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(api().get("/v1/customers", taken_over.field("key")).status, 200);
}

TEST_P(Idempotency, FailedValidationReleasesTheKeyForACorrectedRetry) {
  const std::string before = fingerprint(tenant_.id);
  const auto bad = create_customer(tenant_, "c-1", R"(,"currency":"ABC")", key("k1"));
  expect_problem(bad, 422, "validation-failed");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id))
      << "a failed request leaves no trace, key included";

  const auto corrected = create_customer(tenant_, "c-1", R"(,"currency":"EUR")", key("k1"));
  ASSERT_EQ(corrected.status, 201) << corrected.body;
  EXPECT_EQ(corrected.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(corrected.field("currency"), "EUR");
  const auto replay = create_customer(tenant_, "c-1", R"(,"currency":"EUR")", key("k1"));
  EXPECT_EQ(replay.body, corrected.body);
  expect_replayed(replay);
}

TEST_P(Idempotency, ConflictReleasesTheKeyToo) {
  ASSERT_EQ(create_customer(tenant_, "taken").status, 201);
  const std::string before = fingerprint(tenant_.id);
  expect_problem(create_customer(tenant_, "taken", "", key("k1")), 409, "already-exists");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  const auto corrected = create_customer(tenant_, "free", "", key("k1"));
  EXPECT_EQ(corrected.status, 201) << corrected.body;
}

TEST_P(Idempotency, UnsupportedMediaTypeReleasesTheKey) {
  const std::string before = fingerprint(tenant_.id);
  expect_problem(api().post("/v1/customers", tenant_.key, customer_body("c-1"),
                            {{"Idempotency-Key", "k1"}, {"Content-Type", "text/plain"}}),
                 415, "unsupported-media-type");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  EXPECT_EQ(create_customer(tenant_, "c-1", "", key("k1")).status, 201);
}

// Regression (was a bug, fixed): a body that is not valid JSON (400) leaves its Idempotency-Key "in
// flight" (handlers return before execute_write, which is what releases a failed request's key), so
// the corrected retry with the same key gets 409 instead of being processed, and the failed request
// wrote a row although nothing may be written on an error.
TEST_P(Idempotency, MalformedBodyReleasesTheKeyForACorrectedRetry) {
  const std::string before = fingerprint(tenant_.id);
  expect_problem(api().post("/v1/customers", tenant_.key, R"({"external_id":"c-1",)", key("k1")),
                 400, "malformed-request");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id))
      << "the malformed request left a stored key behind";
  const auto corrected = create_customer(tenant_, "c-1", "", key("k1"));
  EXPECT_EQ(corrected.status, 201) << corrected.body;
}

// Regression (was a bug, fixed): same as above for an empty body.
TEST_P(Idempotency, EmptyBodyReleasesTheKeyForACorrectedRetry) {
  const std::string before = fingerprint(tenant_.id);
  expect_problem(api().call("POST", "/v1/customers", tenant_.key, "",
                            {{"Idempotency-Key", "k1"}, {"Content-Type", "application/json"}}),
                 400, "malformed-request");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id)) << "the empty request left a stored key behind";
  const auto corrected = create_customer(tenant_, "c-1", "", key("k1"));
  EXPECT_EQ(corrected.status, 201) << corrected.body;
}

TEST_P(Idempotency, InvalidIdempotencyKeyIsMalformedAndWritesNothing) {
  const std::string before = fingerprint(tenant_.id);
  expect_problem(create_customer(tenant_, "c-1", "", key(std::string(256, 'k'))), 400,
                 "malformed-request");
  expect_problem(create_customer(tenant_, "c-1", "", key("")), 400, "malformed-request");
  expect_problem(create_customer(tenant_, "c-1", "", key("tab\there")), 400, "malformed-request");
  EXPECT_UNCHANGED(before, fingerprint(tenant_.id));
  EXPECT_EQ(create_customer(tenant_, "c-1", "", key(std::string(255, 'k'))).status, 201);
}

TEST_P(Idempotency, WithoutAKeyARepeatedCreateIsAConflictNotAReplay) {
  ASSERT_EQ(create_customer(tenant_, "c-1").status, 201);
  const auto again = create_customer(tenant_, "c-1");
  expect_problem(again, 409, "already-exists");
  EXPECT_EQ(again.header("Idempotent-Replayed"), nullptr);
}

TEST_P(Idempotency, KeyOnAGetIsIgnored) {
  ASSERT_EQ(create_customer(tenant_, "c-1", "", key("k1")).status, 201);
  const auto listed = api().call("GET", "/v1/customers", tenant_.key, "", key("k1"));
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(member(listed.json, "data").items().size(), 1u);
}

// --- a claim is its own request's (issue 15, defect 2) -------------------------------------------

// The interleaving that ran one key twice, forced step by step: a failed request's claim is
// released, another request claims the key, and then a late second release of the first claim
// (the failed request released twice) must not free the second request's claim — the third
// request finds the key in flight, and only the second one's work completes it.
TEST_P(Idempotency, AReleaseFreesOnlyTheClaimOfTheRequestThatTookIt) {
  const auto ids = make_random_id_generator();
  const Instant now = api().clock().now();
  const auto claim_of = [&](const std::string& hash) {
    services::IdempotencyClaim claim;
    claim.scope = TenantId(tenant_.id);
    claim.key = "k-owned";
    claim.request_hash = hash;
    return claim;
  };
  auto failed = claim_of("hash-of-an-invalid-request");
  ASSERT_TRUE(services::claim_idempotency_key(db(), failed, now, *ids).ok());
  ASSERT_FALSE(failed.token.empty());
  services::release_idempotency_key(db(), failed);

  auto second = claim_of("hash-of-a-valid-request");
  const auto claimed = services::claim_idempotency_key(db(), second, now, *ids);
  ASSERT_TRUE(claimed.ok());
  ASSERT_FALSE(claimed.value().has_value()) << "the released key is free";
  EXPECT_NE(second.token, failed.token);

  services::release_idempotency_key(db(), failed);  // late, and not its claim any more
  auto third = claim_of("hash-of-a-valid-request");
  const auto refused = services::claim_idempotency_key(db(), third, now, *ids);
  ASSERT_FALSE(refused.ok()) << "the second request's claim was freed by the first's release";
  EXPECT_EQ(refused.error().code, ErrorCode::idempotency_in_flight);

  // The first request can complete nothing; the second completes its own claim.
  {
    auto tx = db().begin(storage::TxMode::write);
    EXPECT_FALSE(services::complete_idempotency_key(*tx, failed, {201, "{}"}).ok());
    EXPECT_TRUE(services::complete_idempotency_key(*tx, second, {201, R"({"id":"x"})"}).ok());
    tx->commit();
  }
  const auto replay = services::claim_idempotency_key(db(), third, now, *ids);
  ASSERT_TRUE(replay.ok());
  ASSERT_TRUE(replay.value().has_value());
  EXPECT_EQ(replay.value()->body, R"({"id":"x"})");
}

// A failed request releases its claim exactly once, at the edge: one DELETE of its key.
TEST_P(Idempotency, AFailedRequestReleasesItsClaimOnce) {
  const std::size_t before = api().faults().count(Operation::statement);
  std::size_t releases = 0;
  api().faults().fail_always([&](const OperationInfo& info) {
    if (info.operation == Operation::statement &&
        info.sql.find("DELETE FROM idempotency_keys") != std::string_view::npos) {
      ++releases;
    }
    return false;  // counts, never fails
  });
  const auto invalid = api().post("/v1/tenants/" + tenant_.id + "/api-keys", test_admin_key,
                                  R"({"name":"k","scopes":["bogus"]})", key("k-once"));
  EXPECT_EQ(invalid.status, 422) << invalid.body;
  EXPECT_EQ(releases, 1u);
  EXPECT_GT(api().faults().count(Operation::statement), before);
  // The key is free again: a corrected request goes through.
  const auto valid = api().post("/v1/tenants/" + tenant_.id + "/api-keys", test_admin_key,
                                R"({"name":"k","scopes":["read"]})", key("k-once-2"));
  EXPECT_EQ(valid.status, 201) << valid.body;
}

// The outside probe, as a stress test: 16 concurrent key creations with one Idempotency-Key, half
// with a valid body and half with an invalid one. However they interleave, at most one creates a
// key (a fresh 201, not replayed), and exactly as many keys exist as fresh 201s came back; every
// other answer is a replay of it, a 409 (in flight, or the key used with another body) or the
// invalid body's 422.
TEST_P(Idempotency, ConcurrentValidAndInvalidRequestsWithOneKeyRunItOnce) {
  constexpr int kThreads = 16;
  constexpr int kRounds = 15;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const Tenant tenant = make_tenant("Round " + std::to_string(round));
    const std::string path = "/v1/tenants/" + tenant.id + "/api-keys";
    const auto keys_before = api().get(path + "?limit=1000", test_admin_key);
    const std::size_t existing = member(keys_before.json, "data").items().size();
    const auto responses = run_together(kThreads, [&](int t) {
      return api().post(path, test_admin_key,
                        t % 2 == 0 ? R"({"name":"raced","scopes":["read"]})"
                                   : R"({"name":"raced","scopes":["bogus"]})",
                        key("k-raced"));
    });
    int fresh = 0;
    for (const auto& response : responses) {
      if (response.status == 201 && response.header("Idempotent-Replayed") == nullptr) ++fresh;
      EXPECT_TRUE(response.status == 201 || response.status == 409 || response.status == 422)
          << response.body;
    }
    EXPECT_LE(fresh, 1);
    const auto keys_after = api().get(path + "?limit=1000", test_admin_key);
    EXPECT_EQ(member(keys_after.json, "data").items().size() - existing,
              static_cast<std::size_t>(fresh));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Idempotency, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
