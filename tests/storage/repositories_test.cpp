// Storage conformance: the repositories behave the same on every backend.
#include <gtest/gtest.h>

#include "domain/time.hpp"
#include "storage/api_keys.hpp"
#include "storage/audit.hpp"
#include "storage/customers.hpp"
#include "storage/idempotency.hpp"
#include "storage/plans.hpp"
#include "storage/subscriptions.hpp"
#include "storage/tenants.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace {

using test::Backend;
using test::TestDatabase;

Instant at(const char* text) { return *domain::parse_rfc3339(text); }

TenantRecord tenant(const std::string& id) {
  json::Value settings = json::Value::object();
  settings.set("late_event_window_days", json::Value::number(35));
  return TenantRecord{TenantId(id),    "Tenant " + id, *domain::Currency::of("EUR"),
                      "Europe/Berlin", settings,       at("2026-01-01T00:00:00Z")};
}

class RepositoryConformance : public ::testing::TestWithParam<Backend> {
 protected:
  RepositoryConformance() : database_(GetParam()) {}

  std::unique_ptr<Tx> write() { return database_.db().begin(TxMode::write); }
  std::unique_ptr<Tx> read() { return database_.db().begin(TxMode::read); }

  TestDatabase database_;
};

TEST_P(RepositoryConformance, TenantRoundTripsAndRejectsDuplicateId) {
  auto tx = write();
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_a")));
  EXPECT_FALSE(tenants::insert(*tx, tenant("ten_a")));
  tx->commit();

  auto check = read();
  const auto found = tenants::find(*check, TenantId("ten_a"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "Tenant ten_a");
  EXPECT_EQ(found->currency.code(), "EUR");
  EXPECT_EQ(found->timezone, "Europe/Berlin");
  EXPECT_EQ(found->settings.find("late_event_window_days")->text(), "35");
  EXPECT_EQ(found->created_at, at("2026-01-01T00:00:00Z"));
  EXPECT_FALSE(tenants::find(*check, TenantId("ten_b")).has_value());
}

TEST_P(RepositoryConformance, TenantListPagesInIdOrder) {
  auto tx = write();
  for (const char* id : {"ten_c", "ten_a", "ten_b"}) ASSERT_TRUE(tenants::insert(*tx, tenant(id)));
  tx->commit();
  auto check = read();
  const auto first = tenants::list(*check, "", 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id.str(), "ten_a");
  EXPECT_EQ(first[1].id.str(), "ten_b");
  const auto second = tenants::list(*check, "ten_b", 2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id.str(), "ten_c");
}

TEST_P(RepositoryConformance, AuditHeadStartsEmptyAndMovesWithEachRecord) {
  auto tx = write();
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_a")));
  const auto head = tenants::lock_audit_head(*tx, TenantId("ten_a"));
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->seq, 0);
  EXPECT_EQ(head->hash, "");
  EXPECT_TRUE(tenants::set_audit_head(*tx, TenantId("ten_a"), AuditHead{1, "abc"}));
  EXPECT_FALSE(tenants::set_audit_head(*tx, TenantId("ten_missing"), AuditHead{1, "abc"}));
  EXPECT_FALSE(tenants::lock_audit_head(*tx, TenantId("ten_missing")).has_value());
  tx->commit();
  auto check = read();
  const auto moved = tenants::audit_head(*check, TenantId("ten_a"));
  EXPECT_EQ(moved.seq, 1);
  EXPECT_EQ(moved.hash, "abc");
}

TEST_P(RepositoryConformance, ApiKeysAreFoundByHashOnlyWithinTheirTenant) {
  auto tx = write();
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_a")));
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_b")));
  ASSERT_TRUE(api_keys::insert(*tx, ApiKeyRecord{TenantId("ten_a"),
                                                 ApiKeyId("key_1"),
                                                 "backend",
                                                 {"read", "write"},
                                                 "hash1",
                                                 "nrb_a_x",
                                                 at("2026-01-02T00:00:00Z"),
                                                 std::nullopt}));
  // The same hash again, even under another id: refused, nothing written.
  EXPECT_FALSE(api_keys::insert(*tx, ApiKeyRecord{TenantId("ten_a"),
                                                  ApiKeyId("key_2"),
                                                  "twin",
                                                  {"read"},
                                                  "hash1",
                                                  "nrb_a_y",
                                                  at("2026-01-02T00:00:00Z"),
                                                  std::nullopt}));
  tx->commit();

  auto check = read();
  const auto found = api_keys::find_by_hash(*check, TenantId("ten_a"), "hash1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id.str(), "key_1");
  EXPECT_EQ(found->scopes, (std::vector<std::string>{"read", "write"}));
  EXPECT_FALSE(found->revoked_at.has_value());
  EXPECT_FALSE(api_keys::find_by_hash(*check, TenantId("ten_b"), "hash1").has_value());
  EXPECT_FALSE(api_keys::find(*check, TenantId("ten_b"), ApiKeyId("key_1")).has_value());
}

TEST_P(RepositoryConformance, RevokingAKeyRecordsTheInstantOnce) {
  auto tx = write();
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_a")));
  ASSERT_TRUE(api_keys::insert(*tx, ApiKeyRecord{TenantId("ten_a"),
                                                 ApiKeyId("key_1"),
                                                 "k",
                                                 {"read"},
                                                 "h",
                                                 "p",
                                                 at("2026-01-02T00:00:00Z"),
                                                 std::nullopt}));
  EXPECT_TRUE(
      api_keys::revoke(*tx, TenantId("ten_a"), ApiKeyId("key_1"), at("2026-01-03T00:00:00Z")));
  // Revoked already: nothing changes, and the caller hears so.
  EXPECT_FALSE(
      api_keys::revoke(*tx, TenantId("ten_a"), ApiKeyId("key_1"), at("2026-01-04T00:00:00Z")));
  EXPECT_FALSE(
      api_keys::revoke(*tx, TenantId("ten_a"), ApiKeyId("key_9"), at("2026-01-04T00:00:00Z")));
  tx->commit();
  auto check = read();
  const auto key = api_keys::find(*check, TenantId("ten_a"), ApiKeyId("key_1"));
  ASSERT_TRUE(key && key->revoked_at);
  EXPECT_EQ(*key->revoked_at, at("2026-01-03T00:00:00Z"));
}

TEST_P(RepositoryConformance, CustomerExternalIdIsUniquePerTenantOnly) {
  auto tx = write();
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_a")));
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_b")));
  json::Value metadata = json::Value::object();
  metadata.set("plan", json::Value::string("gold \"vip\" ✓"));
  const CustomerRecord customer{TenantId("ten_a"),
                                CustomerId("cus_1"),
                                "acme",
                                "Acme",
                                *domain::Currency::of("USD"),
                                "UTC",
                                metadata,
                                at("2026-01-02T00:00:00Z")};
  ASSERT_TRUE(customers::insert(*tx, customer));
  CustomerRecord clash = customer;
  clash.id = CustomerId("cus_2");
  EXPECT_FALSE(customers::insert(*tx, clash));
  CustomerRecord other_tenant = clash;
  other_tenant.tenant = TenantId("ten_b");
  EXPECT_TRUE(customers::insert(*tx, other_tenant));
  tx->commit();

  auto check = read();
  const auto found = customers::find_by_external_id(*check, TenantId("ten_a"), "acme");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id.str(), "cus_1");
  EXPECT_EQ(found->metadata, metadata);
  EXPECT_EQ(customers::find_by_external_id(*check, TenantId("ten_b"), "acme")->id.str(), "cus_2");
  EXPECT_EQ(customers::list(*check, TenantId("ten_a"), "", 10).size(), 1u);
  // By id, within its tenant only.
  EXPECT_EQ(customers::find(*check, TenantId("ten_a"), CustomerId("cus_1"))->external_id, "acme");
  EXPECT_FALSE(customers::find(*check, TenantId("ten_b"), CustomerId("cus_1")).has_value());
  check.reset();
  // For update, in a write transaction: the same customer, and none of another tenant's.
  auto write = this->write();  // rolled back when it goes
  EXPECT_EQ(customers::find_by_external_id_for_update(*write, TenantId("ten_a"), "acme")->id.str(),
            "cus_1");
  EXPECT_FALSE(
      customers::find_by_external_id_for_update(*write, TenantId("ten_a"), "nobody").has_value());
}

// The grace period override: NULL (the tenant's applies) or a number of days, read back by every
// read of a customer, and set or cleared for one customer of one tenant.
TEST_P(RepositoryConformance, CustomerGracePeriodOverrideRoundTripsAndIsSetPerTenant) {
  auto tx = write();
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_a")));
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_b")));
  CustomerRecord plain{TenantId("ten_a"),
                       CustomerId("cus_1"),
                       "plain",
                       "Plain",
                       *domain::Currency::of("USD"),
                       "UTC",
                       json::Value::object(),
                       at("2026-01-02T00:00:00Z")};
  ASSERT_TRUE(customers::insert(*tx, plain));
  CustomerRecord patient = plain;
  patient.id = CustomerId("cus_2");
  patient.external_id = "patient";
  patient.invoice_grace_period_days = 0;  // zero is an override too, not the tenant's
  ASSERT_TRUE(customers::insert(*tx, patient));
  tx->commit();

  const TenantId a("ten_a");
  const auto days = [](const std::optional<CustomerRecord>& customer) {
    EXPECT_TRUE(customer.has_value());
    return customer ? customer->invoice_grace_period_days : std::optional<std::int64_t>(-1);
  };
  {
    auto check = write();  // lock_by_id_after locks on PostgreSQL; rolled back when it goes
    EXPECT_EQ(days(customers::find(*check, a, CustomerId("cus_1"))), std::nullopt);
    EXPECT_EQ(days(customers::find(*check, a, CustomerId("cus_2"))), 0);
    EXPECT_EQ(days(customers::find_by_external_id(*check, a, "patient")), 0);
    const auto listed = customers::list(*check, a, "", 10);
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].invoice_grace_period_days, 0);  // "patient" < "plain"
    EXPECT_EQ(listed[1].invoice_grace_period_days, std::nullopt);
    const auto by_id = customers::lock_by_id_after(*check, a, CustomerId(""), 10);
    ASSERT_EQ(by_id.size(), 2u);
    EXPECT_EQ(by_id[0].invoice_grace_period_days, std::nullopt);  // cus_1
    EXPECT_EQ(by_id[1].invoice_grace_period_days, 0);
  }

  auto change = write();
  EXPECT_TRUE(customers::set_invoice_grace_period_days(*change, a, CustomerId("cus_1"), 365));
  EXPECT_TRUE(
      customers::set_invoice_grace_period_days(*change, a, CustomerId("cus_2"), std::nullopt));
  // Another tenant's customer, or none: no row changes.
  EXPECT_FALSE(
      customers::set_invoice_grace_period_days(*change, TenantId("ten_b"), CustomerId("cus_1"), 3));
  EXPECT_FALSE(customers::set_invoice_grace_period_days(*change, a, CustomerId("cus_9"), 3));
  change->commit();

  auto check = write();
  EXPECT_EQ(days(customers::find_for_update(*check, a, CustomerId("cus_1"))), 365);
  EXPECT_EQ(days(customers::find_by_external_id_for_update(*check, a, "patient")), std::nullopt);
}

TEST_P(RepositoryConformance, AuditRecordsRoundTripAndFilter) {
  auto tx = write();
  ASSERT_TRUE(tenants::insert(*tx, tenant("ten_a")));
  for (int seq = 1; seq <= 4; ++seq) {
    AuditRecord record;
    record.tenant = TenantId("ten_a");
    record.seq = seq;
    record.id = AuditRecordId("aud_" + std::to_string(seq));
    record.time = at("2026-01-02T00:00:00Z") + std::chrono::hours(seq);
    record.actor_type = "api_key";
    record.actor_id = seq % 2 == 0 ? "key_even" : "key_odd";
    record.actor_name = "n";
    record.action = seq == 3 ? "customer.created" : "tenant.updated";
    record.target = "t" + std::to_string(seq);
    if (seq == 2) record.reason_code = "goodwill";
    record.request_id = "req_" + std::to_string(seq);
    if (seq == 2) record.before = json::Value::object();
    record.prev_hash = "p";
    record.hash = "h" + std::to_string(seq);
    audit::insert(*tx, record);
  }
  tx->commit();

  auto check = read();
  const auto all = audit::page(*check, TenantId("ten_a"), 0, 100);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].reason_code.value_or(""), "goodwill");
  EXPECT_TRUE(all[1].before.has_value());
  EXPECT_FALSE(all[0].before.has_value());
  EXPECT_FALSE(all[0].justification.has_value());

  AuditFilter by_actor;
  by_actor.actor = "key_even";
  const auto even = audit::list(*check, TenantId("ten_a"), by_actor);
  ASSERT_EQ(even.size(), 2u);
  EXPECT_EQ(even[0].seq, 2);
  EXPECT_EQ(even[1].seq, 4);

  AuditFilter window;  // [03:00, 05:00) holds records 3 and 4
  window.from = at("2026-01-02T03:00:00Z");
  window.to = at("2026-01-02T05:00:00Z");
  const auto in_window = audit::list(*check, TenantId("ten_a"), window);
  ASSERT_EQ(in_window.size(), 2u);
  EXPECT_EQ(in_window[0].seq, 3);

  AuditFilter action;
  action.action = "customer.created";
  action.after_seq = 0;
  EXPECT_EQ(audit::list(*check, TenantId("ten_a"), action).size(), 1u);
  EXPECT_TRUE(audit::list(*check, TenantId("ten_b"), AuditFilter{}).empty());
}

TEST_P(RepositoryConformance, IdempotencyKeyLifecycle) {
  const TenantId scope("ten_a");
  const Instant now = at("2026-01-02T00:00:00Z");
  const Instant lease = now + std::chrono::seconds(60);
  auto tx = write();
  ASSERT_TRUE(idempotency::insert_in_flight(*tx, scope, "k1", "hash", "clm_1", now, lease));
  EXPECT_FALSE(idempotency::insert_in_flight(*tx, scope, "k1", "hash", "clm_2", now, lease));
  EXPECT_TRUE(
      idempotency::insert_in_flight(*tx, TenantId("ten_b"), "k1", "hash", "clm_3", now, now));
  // Only the claim's holder completes it.
  EXPECT_FALSE(idempotency::complete(*tx, scope, "k1", "clm_2", 201, R"({"id":"y"})"));
  EXPECT_TRUE(idempotency::complete(*tx, scope, "k1", "clm_1", 201, R"({"id":"x"})"));
  EXPECT_FALSE(idempotency::complete(*tx, scope, "k1", "clm_1", 201, R"({"id":"x"})"));
  tx->commit();

  auto check = write();
  auto record = idempotency::find(*check, scope, "k1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, IdempotencyState::done);
  EXPECT_EQ(record->claim_token, "clm_1");
  EXPECT_EQ(record->response_status, 201);
  EXPECT_EQ(record->response_body, R"({"id":"x"})");
  EXPECT_FALSE(idempotency::release(*check, scope, "k1", "clm_1"));  // a done key stays
  EXPECT_TRUE(idempotency::find(*check, scope, "k1").has_value());
  // Another request's token frees nothing; the holder's does.
  EXPECT_FALSE(idempotency::release(*check, TenantId("ten_b"), "k1", "clm_1"));
  EXPECT_TRUE(idempotency::find(*check, TenantId("ten_b"), "k1").has_value());
  EXPECT_TRUE(idempotency::release(*check, TenantId("ten_b"), "k1", "clm_3"));
  EXPECT_FALSE(idempotency::find(*check, TenantId("ten_b"), "k1").has_value());
  EXPECT_EQ(idempotency::purge_older_than(*check, now + std::chrono::seconds(1)), 1);
  EXPECT_FALSE(idempotency::find(*check, scope, "k1").has_value());
  check->commit();
}

// A claim whose lease ran out moves to one new holder: the first take-over wins, a second one
// (naming the expired token too) finds it gone, and the expired holder can neither complete nor
// release it any more.
TEST_P(RepositoryConformance, AnExpiredClaimIsTakenOverOnce) {
  const TenantId scope("ten_a");
  const Instant now = at("2026-01-02T00:00:00Z");
  auto tx = write();
  ASSERT_TRUE(idempotency::insert_in_flight(*tx, scope, "k", "hash", "clm_old", now, now));
  EXPECT_TRUE(idempotency::take_over(*tx, scope, "k", "clm_old", "clm_new", now));
  EXPECT_FALSE(idempotency::take_over(*tx, scope, "k", "clm_old", "clm_third", now));
  EXPECT_FALSE(idempotency::complete(*tx, scope, "k", "clm_old", 200, "{}"));
  EXPECT_FALSE(idempotency::release(*tx, scope, "k", "clm_old"));
  EXPECT_EQ(idempotency::find(*tx, scope, "k")->claim_token, "clm_new");
  EXPECT_TRUE(idempotency::complete(*tx, scope, "k", "clm_new", 200, "{}"));
  tx->commit();
}

// Plans and their versions: a code once per tenant, versions numbered and effective at distinct
// instants, the definition stored canonical and read back equal, the row lockable for numbering.
TEST_P(RepositoryConformance, PlansAndVersions) {
  const Instant t1 = at("2026-01-01T00:00:00Z");
  const Instant t2 = at("2026-02-01T00:00:00Z");
  auto tx = write();
  const PlanRecord plan{TenantId("ten_a"), "pro", "Pro", *domain::Currency::of("EUR"), "month", t1};
  ASSERT_TRUE(plans::insert(*tx, plan));
  EXPECT_FALSE(plans::insert(*tx, plan));
  PlanRecord other_tenant = plan;
  other_tenant.tenant = TenantId("ten_b");
  EXPECT_TRUE(plans::insert(*tx, other_tenant));  // codes are per tenant
  const auto definition = json::parse(R"({"name":"Pro","charges":[],"b":1,"a":2})");
  ASSERT_TRUE(definition.ok());
  ASSERT_TRUE(plans::insert_version(*tx, {TenantId("ten_a"), "pro", 1, t1, *definition, t1}));
  EXPECT_FALSE(plans::insert_version(*tx, {TenantId("ten_a"), "pro", 1, t2, *definition, t2}));
  EXPECT_FALSE(plans::insert_version(*tx, {TenantId("ten_a"), "pro", 2, t1, *definition, t2}))
      << "two versions taking effect at one instant";
  ASSERT_TRUE(plans::insert_version(*tx, {TenantId("ten_a"), "pro", 2, t2, *definition, t2}));
  EXPECT_TRUE(plans::rename(*tx, TenantId("ten_a"), "pro", "Pro 2"));
  EXPECT_FALSE(plans::rename(*tx, TenantId("ten_a"), "missing", "x"));
  tx->commit();

  auto check = write();
  const auto locked = plans::find_for_update(*check, TenantId("ten_a"), "pro");
  ASSERT_TRUE(locked.has_value());
  EXPECT_EQ(locked->name, "Pro 2");
  EXPECT_EQ(locked->currency.code(), "EUR");
  const auto versions = plans::versions(*check, TenantId("ten_a"), "pro");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, 1);
  EXPECT_EQ(versions[1].effective_from, t2);
  EXPECT_EQ(json::serialize(versions[0].definition), R"({"a":2,"b":1,"charges":[],"name":"Pro"})");
  EXPECT_TRUE(plans::versions(*check, TenantId("ten_b"), "pro").empty());
  const auto listed = plans::page(*check, TenantId("ten_a"), "", 10);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].code, "pro");
  EXPECT_TRUE(plans::page(*check, TenantId("ten_a"), "pro", 10).empty());
}

// Subscriptions: inserted with their first phase, phases appended in time order and never two at
// one instant, an end set once, listed per customer within their tenant.
TEST_P(RepositoryConformance, SubscriptionsAndPhases) {
  const Instant t1 = at("2026-01-15T09:00:00Z");
  const Instant t2 = at("2026-02-15T09:00:00Z");
  auto tx = write();
  const SubscriptionPhase first{t1, "basic", 3, t1, ChangeProration::prorate, t1};
  SubscriptionRecord subscription{
      TenantId("ten_a"), "sub_1", CustomerId("cus_1"), t1, std::nullopt, std::nullopt, t1, {first}};
  subscription.trial_end = at("2026-01-29T09:00:00Z");
  ASSERT_TRUE(subscriptions::insert(*tx, subscription));
  EXPECT_FALSE(subscriptions::insert(*tx, subscription));
  SubscriptionRecord other = subscription;
  other.id = "sub_2";
  other.customer = CustomerId("cus_2");
  ASSERT_TRUE(subscriptions::insert(*tx, other));
  const SubscriptionPhase upgrade{t2, "pro", 5, t2, ChangeProration::none, t2};
  EXPECT_TRUE(subscriptions::add_phase(*tx, TenantId("ten_a"), "sub_1", upgrade));
  EXPECT_FALSE(subscriptions::add_phase(*tx, TenantId("ten_a"), "sub_1", upgrade));
  EXPECT_TRUE(subscriptions::end(*tx, TenantId("ten_a"), "sub_1", at("2026-03-15T09:00:00Z")));
  EXPECT_FALSE(subscriptions::end(*tx, TenantId("ten_a"), "sub_1", at("2026-04-15T09:00:00Z")));
  tx->commit();

  auto check = write();
  const auto found = subscriptions::find_for_update(*check, TenantId("ten_a"), "sub_1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->customer.str(), "cus_1");
  EXPECT_EQ(found->trial_end, at("2026-01-29T09:00:00Z"));
  EXPECT_EQ(found->ends_at, at("2026-03-15T09:00:00Z"));
  ASSERT_EQ(found->phases.size(), 2u);
  EXPECT_EQ(found->phases[0].plan_code, "basic");
  EXPECT_EQ(found->phases[1].plan_code, "pro");
  EXPECT_EQ(found->phases[1].seats, 5);
  EXPECT_EQ(found->phases[1].proration, ChangeProration::none);
  const auto of_alice =
      subscriptions::of_customer(*check, TenantId("ten_a"), CustomerId("cus_1"), "", 10);
  ASSERT_EQ(of_alice.size(), 1u);
  EXPECT_EQ(of_alice[0].phases.size(), 2u);
  EXPECT_FALSE(subscriptions::find(*check, TenantId("ten_b"), "sub_1").has_value());
  // Its subscribers, by any phase's plan, while it lives (it ends 2026-03-15T09:00Z).
  const auto on_pro =
      subscriptions::on_plan(*check, TenantId("ten_a"), "pro", at("2026-03-01T00:00:00Z"));
  ASSERT_EQ(on_pro.size(), 1u);
  EXPECT_EQ(on_pro[0].customer.str(), "cus_1");
  EXPECT_EQ(on_pro[0].subscription, "sub_1");
  // Both subscriptions have a phase on basic (sub_2, of cus_2, has no other), by customer.
  const auto on_basic =
      subscriptions::on_plan(*check, TenantId("ten_a"), "basic", at("2026-01-01T00:00:00Z"));
  ASSERT_EQ(on_basic.size(), 2u);
  EXPECT_EQ(on_basic[0].subscription, "sub_1");
  EXPECT_EQ(on_basic[1].subscription, "sub_2");
  EXPECT_EQ(
      subscriptions::on_plan(*check, TenantId("ten_a"), "basic", at("2026-03-15T09:00:00Z")).size(),
      1u);
  EXPECT_TRUE(
      subscriptions::on_plan(*check, TenantId("ten_a"), "pro", at("2026-03-15T09:00:00Z")).empty());
  EXPECT_TRUE(
      subscriptions::on_plan(*check, TenantId("ten_b"), "pro", at("2026-01-01T00:00:00Z")).empty());
}

TEST_P(RepositoryConformance, MigrationsAreIdempotent) {
  EXPECT_EQ(migrate(database_.db()), 0);  // TestDatabase already migrated
  auto check = read();
  const auto rows = check->query("SELECT COUNT(*) FROM schema_migrations");
  EXPECT_GE(rows.at(0).integer(0), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, RepositoryConformance,
                         ::testing::ValuesIn(test::test_backends()), test::backend_name);

}  // namespace
}  // namespace neruba::storage
