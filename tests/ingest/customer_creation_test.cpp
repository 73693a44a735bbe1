// One path creates a customer (issue 15, defect 1): POST /v1/customers and ingest's auto-creation
// both go through services::customers, so a customer is one row and one customer.created record,
// whoever creates it — and when two transactions create the same new customer at once, the loser
// uses the winner's customer: every accepted event is counted under it.
//
// The race is forced, not hoped for: on PostgreSQL a transaction of the test creates the customer
// and holds it uncommitted; the ingest writer, creating the same customer, waits for it (on the
// tenant row creators take turns on, or — for a creator that took no turn — on the customer's
// unique key); the test lets go once the writer waits (pg_locks), and the writer must then use the
// winner's customer.
// SQLite's single writer cannot interleave two transactions, so there it is checked that the two
// paths still make one customer, one record.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "ingest_test_support.hpp"
#include "services/customers.hpp"
#include "storage/customers.hpp"
#include "support/lock_waiters.hpp"

namespace neruba::test::ingest_tests {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDayFrom = "2026-01-05T00:00:00Z";
constexpr const char* kDayTo = "2026-01-06T00:00:00Z";

class CustomerCreation : public IngestTest {
 protected:
  void SetUp() override {
    tenant_ = make_tenant("Creation Inc");
    create_meter(tenant_, R"({"code":"calls","event_type":"api_call","aggregation":"count"})");
    patch_settings(tenant_, R"({"auto_create_customers":true})");
  }

  static std::string call(const std::string& id, const std::string& customer) {
    return event_json(id, customer, "api_call", "2026-01-05T10:00:00Z");
  }

  // The customer.created records of the tenant's trail naming this external id.
  std::size_t created_records(const std::string& external_id) {
    const auto response = api().get("/v1/audit?action=customer.created&limit=1000", tenant_.key);
    EXPECT_EQ(response.status, 200) << response.body;
    std::size_t count = 0;
    for (const auto& record : member(response.json, "data").items()) {
      if (text_of(member(record, "after"), "external_id") == external_id) ++count;
    }
    return count;
  }

  // A request context of the test's own, as the edge builds one for a tenant key.
  services::RequestContext context() {
    services::RequestContext ctx;
    ctx.principal.tenant = TenantId(tenant_.id);
    ctx.principal.key_name = "competing writer";
    ctx.request_id = "req_competing";
    ctx.now = instant(kNow);
    ctx.ids = ids_.get();
    return ctx;
  }

  // Posts three events of "newcomer" while `hold` (which created the customer, or its row) is
  // open, lets `hold` commit once the writer waits for it, and checks that all three are accepted
  // and counted under `winner_id` with one customer stored.
  void race_three_events_against(std::unique_ptr<storage::Tx> hold, const std::string& winner_id,
                                 const std::string& prefix) {
    auto batch = std::async(std::launch::async, [&] {
      return post_events(tenant_, {call(prefix + "1", "newcomer"), call(prefix + "2", "newcomer"),
                                   call(prefix + "3", "newcomer")});
    });
    wait_for_transaction_waiters(*hold, 1);  // the writer waits for the held customer
    EXPECT_EQ(batch.wait_for(0s), std::future_status::timeout);
    hold->commit();
    const auto response = batch.get();
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(int_of(response.json, "accepted"), 3) << response.body;
    EXPECT_EQ(value_and_events(tenant_, "newcomer", "calls", kDayFrom, kDayTo),
              std::make_pair(std::string("3"), std::int64_t{3}));
    EXPECT_EQ(stored_customers(tenant_), 1);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM events WHERE tenant_id = $1 AND customer_id = $2",
                     {tenant_.id, winner_id}),
              3);
  }

  Tenant tenant_;
  std::unique_ptr<IdGenerator> ids_ = make_random_id_generator();
};

std::vector<Backend> postgres_backends() {
  auto backends = test_backends();
  std::erase(backends, Backend::sqlite);
  return backends;
}

class CustomerCreationRace : public CustomerCreation {};

// The writer loses the race: another transaction created the customer first (services::customers,
// holding the tenant row) and commits while the writer waits for it. The batch is accepted under
// the winner's customer, all three events count, and there is one customer and one
// customer.created record.
TEST_P(CustomerCreationRace, AWriterThatLosesTheRaceCountsEveryEventUnderTheWinner) {
  auto hold = db().begin(storage::TxMode::write);
  services::customers::NewCustomer newcomer;
  newcomer.external_id = "newcomer";
  newcomer.name = "Created by the competing writer";
  const auto winner = services::customers::create(*hold, context(), newcomer);
  ASSERT_TRUE(winner.ok());
  race_three_events_against(std::move(hold), winner->id.str(), "r");
  EXPECT_EQ(created_records("newcomer"), 1u);
  const auto customer = api().get("/v1/customers/newcomer", tenant_.key);
  EXPECT_EQ(customer.field("name"), "Created by the competing writer");
  EXPECT_TRUE(member(api().get("/v1/audit/verify", tenant_.key).json, "ok").as_bool());
}

// The competitor took no turn on the tenant row: it inserted the customer row alone (as a creator
// outside services::customers would) and holds it. The writer, holding the row, inserts the same
// external id and waits on its unique key; the competitor commits; the writer's insert changes
// nothing — and the writer must then count every event under the stored customer, never under the
// id it meant to insert, and record no creation it did not make (issue 15, defect 1: the result of
// that insert was ignored).
TEST_P(CustomerCreationRace, AWriterWhoseInsertFindsTheKeyTakenUsesTheStoredCustomer) {
  auto hold = db().begin(storage::TxMode::write);
  const storage::CustomerRecord competitor{TenantId(tenant_.id),
                                           CustomerId("cus_competitor"),
                                           "newcomer",
                                           "Inserted by the competitor",
                                           *domain::Currency::of("USD"),
                                           "UTC",
                                           json::Value::object(),
                                           instant(kNow)};
  ASSERT_TRUE(storage::customers::insert(*hold, competitor));
  race_three_events_against(std::move(hold), "cus_competitor", "i");
  EXPECT_EQ(created_records("newcomer"), 0u);
}

// The competing transaction rolls back instead: the writer's insert then goes in, and the writer
// creates the customer itself — one row, one record, every event counted.
TEST_P(CustomerCreationRace, AWriterWhoseCompetitorRollsBackCreatesTheCustomer) {
  auto hold = db().begin(storage::TxMode::write);
  services::customers::NewCustomer newcomer;
  newcomer.external_id = "newcomer";
  newcomer.name = "Never committed";
  ASSERT_TRUE(services::customers::create(*hold, context(), newcomer).ok());
  auto batch = std::async(std::launch::async, [&] {
    return post_events(tenant_, {call("s1", "newcomer"), call("s2", "newcomer")});
  });
  wait_for_transaction_waiters(*hold, 1);
  hold.reset();  // rolled back
  const auto response = batch.get();
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 2) << response.body;
  EXPECT_EQ(value_and_events(tenant_, "newcomer", "calls", kDayFrom, kDayTo),
            std::make_pair(std::string("2"), std::int64_t{2}));
  EXPECT_EQ(stored_customers(tenant_), 1);
  EXPECT_EQ(created_records("newcomer"), 1u);
  EXPECT_EQ(api().get("/v1/customers/newcomer", tenant_.key).field("name"), "newcomer");
}

// Both paths, one after the other: the customer ingest created is the one POST /v1/customers then
// finds taken, and the audit record of each creation has the same shape (the same document).
TEST_P(CustomerCreation, IngestAndTheApiCreateCustomersThroughOnePath) {
  post_expect(tenant_, {call("t1", "auto-made")}, 1);
  const auto taken =
      api().post("/v1/customers", tenant_.key, R"({"external_id":"auto-made","name":"Again"})");
  EXPECT_EQ(taken.status, 409) << taken.body;
  create_customer(tenant_, "by-api");
  const auto response = api().get("/v1/audit?action=customer.created", tenant_.key);
  ASSERT_EQ(response.status, 200);
  const auto& records = member(response.json, "data").items();
  ASSERT_EQ(records.size(), 2u);
  std::vector<std::string> shapes;
  for (const auto& record : records) {
    std::string keys;
    for (const auto& field : member(record, "after").members()) keys += field.key + ",";
    shapes.push_back(keys);
  }
  EXPECT_EQ(shapes[0], shapes[1]);
  EXPECT_EQ(text_of(records[0], "justification"),
            "created automatically by ingest (auto_create_customers)");
  EXPECT_EQ(created_records("auto-made"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, CustomerCreation, ::testing::ValuesIn(test_backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, CustomerCreationRace, ::testing::ValuesIn(postgres_backends()),
                         backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CustomerCreationRace);

}  // namespace
}  // namespace neruba::test::ingest_tests
