// POST /v1/events (API.md "Usage"): every event of a batch gets exactly one outcome — accepted,
// duplicate (same event_id, same content: counted once), conflict (same event_id, other content:
// the first stays, the second is reported) or rejected (with a type and the field at fault); one
// bad event never blocks the others and the counts add up to the batch size. Whole-batch errors
// (not JSON, no events array, too many events, no ingest scope) write nothing. Idempotency-Key
// replays the first answer.
//
// Clock: 2026-01-10T00:00:00Z (kNow). Default windows: late 35 days → events at or after
// 2025-12-06T00:00:00Z; future skew 300 s → events at or before 2026-01-10T00:05:00Z.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <set>
#include <thread>

#include "http/api.hpp"
#include "http/views/views.hpp"
#include "ingest_test_support.hpp"
#include "services/ingest.hpp"
#include "storage/locks.hpp"
#include "storage/meters.hpp"
#include "storage/usage.hpp"
#include "support/faulty_db.hpp"

namespace neruba::test::ingest_tests {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDayFrom = "2026-01-05T00:00:00Z";
constexpr const char* kDayTo = "2026-01-06T00:00:00Z";

// "api_call" events: meter `calls` counts them, meter `tokens` sums properties.tokens.
class IngestOutcomes : public IngestTest {
 protected:
  void SetUp() override { tenant_ = make_calls_tenant("Outcomes Inc"); }

  // A tenant with customer "alice" and the meters `calls` and `tokens`.
  Tenant make_calls_tenant(const std::string& name) {
    Tenant tenant = make_tenant(name);
    create_customer(tenant, "alice");
    create_meter(tenant, R"({"code":"calls","event_type":"api_call","aggregation":"count"})");
    create_meter(
        tenant,
        R"({"code":"tokens","event_type":"api_call","aggregation":"sum","field":"tokens"})");
    return tenant;
  }

  static std::string call(const std::string& id, const std::string& tokens,
                          const std::string& at = "2026-01-05T10:00:00Z",
                          const std::string& customer = "alice") {
    return event_json(id, customer, "api_call", at, R"({"tokens":)" + tokens + "}");
  }

  // accepted + duplicates + conflicts + rejected == batch size.
  static void expect_counts_add_up(const TestResponse& response, std::size_t size) {
    const auto total =
        int_of(response.json, "accepted") + int_of(response.json, "duplicates") +
        static_cast<std::int64_t>(member(response.json, "conflicts").items().size()) +
        static_cast<std::int64_t>(member(response.json, "rejected").items().size());
    EXPECT_EQ(total, static_cast<std::int64_t>(size)) << response.body;
  }

  std::pair<std::string, std::int64_t> tokens(const std::string& customer = "alice") {
    return value_and_events(tenant_, customer, "tokens", kDayFrom, kDayTo);
  }
  std::string calls(const std::string& customer = "alice") {
    return value_and_events(tenant_, customer, "calls", kDayFrom, kDayTo).first;
  }

  // A pipeline's answer as the API renders it (http::views::ingest_report).
  struct Reply {
    json::Value body;
  };
  // The answer to a queued job, rendered once it arrives.
  struct PendingReply {
    std::future<Result<services::ingest::IngestReport>> future;
    Result<Reply> get() {
      auto report = future.get();
      if (!report) return report.take_error();
      return Reply{http::views::ingest_report(*report)};
    }
    template <typename Duration>
    std::future_status wait_for(Duration timeout) const {
      return future.wait_for(timeout);
    }
  };

  // Queues the job under a reservation of its size, as the HTTP handler does (value() throws,
  // failing the test, should the budget refuse it).
  static PendingReply submit(services::ingest::Pipeline& pipeline,
                             std::unique_ptr<services::ingest::Pipeline::Job> job) {
    auto reservation = pipeline.reserve(job->ctx.principal.tenant, job->batch.size);
    return PendingReply{pipeline.submit(std::move(job), std::move(reservation).value())};
  }

  // A job of `tenant`'s batch, as Ingest::accept makes it (its context names the request).
  std::unique_ptr<services::ingest::Pipeline::Job> new_job(
      const Tenant& tenant, services::ingest::ParsedBatch batch, const std::string& request_id,
      const services::ingest::IngestSettings& settings = {}) {
    auto job = std::make_unique<services::ingest::Pipeline::Job>();
    job->ctx.principal.tenant = TenantId(tenant.id);
    job->ctx.request_id = request_id;
    job->ctx.now = instant(kNow);
    job->ctx.ids = ids_.get();
    job->settings = settings;
    job->batch = std::move(batch);
    return job;
  }

  std::unique_ptr<IdGenerator> ids_ = make_random_id_generator();

  // Returns once `count` transactions wait for the one `tx` holds; fails the test if they do not
  // within 10 s. PostgreSQL: requests for an advisory lock of this database (ingest and meter
  // creation coordinate on advisory locks, storage/locks.hpp). SQLite: threads waiting for its one
  // writer connection, which `tx` holds (FaultyDb::writers_waiting: every writer of the test —
  // the API's and any Pipeline built on api().faults() — begins its transactions through it).
  void wait_for_advisory_waiters(storage::Tx& tx, std::int64_t count) {
    std::int64_t waiting = 0;
    for (int i = 0; i < 1000; ++i) {
      waiting = tx.dialect() == storage::Dialect::postgres
                    ? tx.query(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT "
                            "granted AND database = (SELECT oid FROM pg_database WHERE datname = "
                            "current_database())")
                          .at(0)
                          .integer(0)
                    : static_cast<std::int64_t>(api().faults().writers_waiting());
      if (waiting >= count) return;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << waiting << " transactions wait, expected " << count;
  }

  Tenant tenant_;
};

TEST_P(IngestOutcomes, AcceptedEventsAreCounted) {
  const std::vector<std::string> batch = {call("e1", "5", "2026-01-05T10:00:00Z"),
                                          call("e2", "7", "2026-01-05T10:30:00Z"),
                                          call("e3", "11", "2026-01-05T11:00:00Z")};
  const auto response = post_expect(tenant_, batch, 3);
  expect_counts_add_up(response, 3);
  EXPECT_TRUE(member(response.json, "conflicts").is_array());
  EXPECT_TRUE(member(response.json, "rejected").is_array());
  // tokens: 5 + 7 + 11 = 23 over 3 events.
  EXPECT_EQ(tokens(), std::make_pair(std::string("23"), std::int64_t{3}));
  EXPECT_EQ(calls(), "3");
  EXPECT_EQ(stored_events(tenant_), 3);
}

TEST_P(IngestOutcomes, ResentEventWithSameContentIsADuplicateCountedOnce) {
  const std::string first = event_json("e1", "alice", "api_call", "2026-01-05T10:00:00Z",
                                       R"({"tokens":5,"region":"eu"})");
  post_expect(tenant_, {first}, 1);
  const auto again = post_expect(tenant_, {first}, 0, 1);
  expect_counts_add_up(again, 1);
  // Same content written differently: properties in another order, the same instant with an
  // offset and a zero fraction. Content is compared canonically, so still a duplicate.
  const auto reordered =
      post_expect(tenant_,
                  {event_json("e1", "alice", "api_call", "2026-01-05T11:00:00.000+01:00",
                              R"({ "region" : "eu", "tokens" : 5 })")},
                  0, 1);
  expect_counts_add_up(reordered, 1);
  EXPECT_EQ(tokens(), std::make_pair(std::string("5"), std::int64_t{1}));
  EXPECT_EQ(calls(), "1");
  EXPECT_EQ(stored_events(tenant_), 1);
}

TEST_P(IngestOutcomes, SameEventIdWithOtherContentIsAConflictAndTheFirstStays) {
  create_customer(tenant_, "bob");
  post_expect(tenant_, {call("e1", "5")}, 1);
  // Each of these differs from the stored e1 in one part of its content.
  const std::vector<std::string> variants = {
      call("e1", "9"),                          // property value
      call("e1", "5", "2026-01-05T10:00:01Z"),  // timestamp
      event_json("e1", "alice", "other_type", "2026-01-05T10:00:00Z", R"({"tokens":5})"),  // type
      event_json("e1", "alice", "api_call", "2026-01-05T10:00:00Z",
                 R"({"tokens":5,"extra":"x"})"),         // an extra property
      call("e1", "5", "2026-01-05T10:00:00Z", "bob"),    // another customer of the tenant
      call("e1", "5", "2026-01-05T10:00:00Z", "ghost"),  // a customer the tenant does not have
  };
  for (const auto& variant : variants) {
    const auto response = post_expect(tenant_, {variant}, 0, 0, 1, 0);
    const json::Value conflict = conflict_at(response, 0);
    EXPECT_EQ(text_of(conflict, "event_id"), "e1") << response.body;
    EXPECT_EQ(int_of(conflict, "index"), 0) << response.body;
    expect_counts_add_up(response, 1);
  }
  // The first e1 (tokens 5) is what counts.
  EXPECT_EQ(tokens(), std::make_pair(std::string("5"), std::int64_t{1}));
  EXPECT_EQ(stored_events(tenant_), 1);
}

// A resend of a stored event that has meanwhile aged past the late-arrival window is the duplicate
// it is (a conflict, with other content), not a rejection of what was acknowledged; an expired
// event whose event_id is not stored is still rejected.
TEST_P(IngestOutcomes, AnExpiredResendOfAStoredEventIsADuplicate) {
  post_expect(tenant_, {call("e1", "5", "2026-01-05T10:00:00Z")}, 1);
  // The window shrinks to one day: events of 2026-01-05 are now expired (the clock: 2026-01-10).
  patch_settings(tenant_, R"({"late_event_window_days":1})");
  post_expect(tenant_, {call("e1", "5", "2026-01-05T10:00:00Z")}, 0, 1);
  post_expect(tenant_, {call("e1", "6", "2026-01-05T10:00:00Z")}, 0, 0, 1);
  const auto response = post_events(
      tenant_, {call("e2", "5", "2026-01-05T10:00:00Z"), call("e1", "5", "2026-01-05T10:00:00Z"),
                call("e3", "1", "2026-01-09T10:00:00Z")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 1);    // e3
  EXPECT_EQ(int_of(response.json, "duplicates"), 1);  // e1
  const json::Value rejected = rejected_at(response, 0);
  EXPECT_EQ(text_of(rejected, "event_id"), "e2");
  EXPECT_EQ(text_of(rejected, "type"), "timestamp_too_old");
  EXPECT_EQ(text_of(rejected, "field"), "timestamp");
  EXPECT_EQ(tokens(), std::make_pair(std::string("5"), std::int64_t{1}));
  EXPECT_EQ(stored_events(tenant_), 2);
}

// A stored event whose property a meter created since cannot read: resent, it is a duplicate (the
// stored event is what counts), while a new event like it is rejected.
TEST_P(IngestOutcomes, AResendThatAMeterCreatedSinceCannotReadIsADuplicate) {
  const auto job = [](const std::string& id) {
    return event_json(id, "alice", "job", "2026-01-05T10:00:00Z", R"({"n":"abc"})");
  };
  post_expect(tenant_, {job("j1")}, 1);
  create_meter(tenant_, R"({"code":"n_sum","event_type":"job","aggregation":"sum","field":"n"})");
  post_expect(tenant_, {job("j1")}, 0, 1);
  const auto response = post_expect(tenant_, {job("j2")}, 0, 0, 0, 1);
  EXPECT_EQ(text_of(rejected_at(response, 0), "type"), "invalid_property");
  EXPECT_EQ(stored_events(tenant_), 1);
}

// No properties, "properties": null and "properties": {} are the same content (openapi): a resend
// in any of the three forms is a duplicate.
TEST_P(IngestOutcomes, NoPropertiesNullAndEmptyAreTheSameContent) {
  const auto page_view = [](const std::string& properties) {
    return event_json("e1", "alice", "page_view", "2026-01-05T10:00:00Z", properties);
  };
  post_expect(tenant_, {page_view("")}, 1);
  post_expect(tenant_, {page_view("null")}, 0, 1);
  post_expect(tenant_, {page_view("{}")}, 0, 1);
  post_expect(tenant_, {page_view(R"({"x":1})")}, 0, 0, 1);  // some property: other content
  EXPECT_EQ(stored_events(tenant_), 1);
}

// Batches sent at the same moment with one event_id and different content: exactly one is
// accepted and counted, every other is a conflict (PostgreSQL's two writers race for the id).
TEST_P(IngestOutcomes, ConcurrentBatchesWithOneEventIdAndOtherContentStoreOne) {
  constexpr int kThreads = 6;
  std::latch start(kThreads);
  std::vector<std::future<TestResponse>> responses;
  for (int t = 0; t < kThreads; ++t) {
    responses.push_back(std::async(std::launch::async, [&, t] {
      start.arrive_and_wait();
      return post_events(tenant_, {call("same", std::to_string(t + 1))});
    }));
  }
  std::int64_t accepted = 0;
  std::size_t conflicts = 0;
  std::string winner;
  for (int t = 0; t < kThreads; ++t) {
    const auto response = responses[t].get();
    ASSERT_EQ(response.status, 200) << response.body;
    if (int_of(response.json, "accepted") == 1) winner = std::to_string(t + 1);
    accepted += int_of(response.json, "accepted");
    conflicts += member(response.json, "conflicts").items().size();
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(conflicts, static_cast<std::size_t>(kThreads - 1));
  EXPECT_EQ(tokens(), std::make_pair(winner, std::int64_t{1}));
  EXPECT_EQ(stored_events(tenant_), 1);
}

TEST_P(IngestOutcomes, DuplicatesAndConflictsInsideOneBatch) {
  const auto response = post_events(tenant_, {
                                                 call("e1", "5"),  // 0 accepted
                                                 call("e1", "5"),  // 1 duplicate of 0
                                                 call("e2", "7"),  // 2 accepted
                                                 call("e1", "9"),  // 3 conflict with 0
                                                 call("e2", "7"),  // 4 duplicate of 2
                                             });
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 2);
  EXPECT_EQ(int_of(response.json, "duplicates"), 2);
  ASSERT_EQ(member(response.json, "conflicts").items().size(), 1u) << response.body;
  EXPECT_EQ(int_of(conflict_at(response, 3), "index"), 3);
  EXPECT_EQ(text_of(conflict_at(response, 3), "event_id"), "e1");
  EXPECT_TRUE(member(response.json, "rejected").items().empty());
  expect_counts_add_up(response, 5);
  // e1 (5) + e2 (7) = 12; the conflicting 9 is not counted.
  EXPECT_EQ(tokens(), std::make_pair(std::string("12"), std::int64_t{2}));
}

TEST_P(IngestOutcomes, DuplicatesAndConflictsAcrossBatches) {
  post_expect(tenant_, {call("e1", "5"), call("e2", "7")}, 2);
  const auto response = post_events(tenant_, {
                                                 call("e2", "7"),  // 0 duplicate
                                                 call("e3", "1"),  // 1 accepted
                                                 call("e1", "6"),  // 2 conflict
                                             });
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 1);
  EXPECT_EQ(int_of(response.json, "duplicates"), 1);
  ASSERT_EQ(member(response.json, "conflicts").items().size(), 1u) << response.body;
  EXPECT_EQ(text_of(conflict_at(response, 2), "event_id"), "e1");
  expect_counts_add_up(response, 3);
  // 5 + 7 + 1 = 13 over 3 events.
  EXPECT_EQ(tokens(), std::make_pair(std::string("13"), std::int64_t{3}));
}

// Regression (was a bug, fixed): an in-batch resend is compared with the first copy in the batch,
// not with what is stored. When the first copy conflicts with the stored event, the second
// (identical to the first copy) is reported as a "duplicate" — i.e. counted once — though it was
// never stored; it must be a conflict too.
TEST_P(IngestOutcomes, InBatchResendOfAConflictingEventIsAlsoAConflict) {
  post_expect(tenant_, {call("e1", "5")}, 1);
  const auto response = post_events(tenant_, {call("e1", "9"), call("e1", "9")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 0) << response.body;
  EXPECT_EQ(int_of(response.json, "duplicates"), 0) << response.body;
  EXPECT_EQ(member(response.json, "conflicts").items().size(), 2u) << response.body;
  EXPECT_EQ(tokens(), std::make_pair(std::string("5"), std::int64_t{1}));
}

// Regression (was a bug, fixed): same root cause. When the first copy of an event_id in a batch is
// rejected during the write (unknown customer, invalid property), a second identical copy is
// reported as a "duplicate" (counted once) although nothing was stored; it must be rejected like
// the first.
TEST_P(IngestOutcomes, InBatchResendOfARejectedEventIsRejectedToo) {
  const auto response = post_events(tenant_, {call("e1", "5", "2026-01-05T10:00:00Z", "ghost"),
                                              call("e1", "5", "2026-01-05T10:00:00Z", "ghost")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 0) << response.body;
  EXPECT_EQ(int_of(response.json, "duplicates"), 0) << response.body;
  EXPECT_EQ(member(response.json, "rejected").items().size(), 2u) << response.body;
  EXPECT_EQ(text_of(rejected_at(response, 1), "type"), "unknown_customer") << response.body;
  EXPECT_EQ(stored_events(tenant_), 0);
}

// Regression (was a bug, fixed): same root cause. The first copy is rejected (nothing stays), so
// the second copy with other content is the first stored event with that id and must be accepted,
// not reported as a conflict with an event that does not exist.
TEST_P(IngestOutcomes, EventAfterARejectedCopyInTheSameBatchIsAccepted) {
  const auto response = post_events(tenant_, {call("e1", R"("abc")"), call("e1", "5")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(text_of(rejected_at(response, 0), "type"), "invalid_property") << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 1) << response.body;
  EXPECT_TRUE(member(response.json, "conflicts").items().empty()) << response.body;
  EXPECT_EQ(tokens(), std::make_pair(std::string("5"), std::int64_t{1}));
}

TEST_P(IngestOutcomes, SameEventIdInTwoTenantsIsIndependent) {
  const Tenant other = make_tenant("Other Inc");
  create_customer(other, "alice");
  create_meter(other,
               R"({"code":"tokens","event_type":"api_call","aggregation":"sum","field":"tokens"})");
  post_expect(tenant_, {call("e1", "5")}, 1);
  // Same event_id, other content, other tenant: accepted there, no conflict.
  const auto response = post_events(other, {call("e1", "9")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 1) << response.body;
  EXPECT_TRUE(member(response.json, "conflicts").items().empty()) << response.body;
  // And the same content in the other tenant is no duplicate of this tenant's event either.
  const auto same = post_events(other, {call("e2", "1")});
  EXPECT_EQ(int_of(same.json, "accepted"), 1) << same.body;
  post_expect(tenant_, {call("e2", "1")}, 1);

  EXPECT_EQ(tokens(), std::make_pair(std::string("6"), std::int64_t{2}));  // 5 + 1
  EXPECT_EQ(value_and_events(other, "alice", "tokens", kDayFrom, kDayTo),
            std::make_pair(std::string("10"), std::int64_t{2}));  // 9 + 1
}

TEST_P(IngestOutcomes, EachBadEventIsRejectedWithItsTypeAndFieldAndTheRestIsKept) {
  const std::string at = R"("timestamp":"2026-01-05T10:00:00Z")";
  const std::vector<std::string> batch = {
      call("ok-0", "1"),                                                                      // 0
      R"({"customer":"alice","type":"api_call",)" + at + "}",                                 // 1
      R"({"event_id":42,"customer":"alice","type":"api_call",)" + at + "}",                   // 2
      R"({"event_id":"","customer":"alice","type":"api_call",)" + at + "}",                   // 3
      R"({"event_id":"b4","type":"api_call",)" + at + "}",                                    // 4
      R"({"event_id":"b5","customer":"alice",)" + at + "}",                                   // 5
      R"({"event_id":"b6","customer":"alice","type":"api_call"})",                            // 6
      event_json("b7", "alice", "api_call", "2026-01-05 10:00:00"),                           // 7
      event_json("b8", "alice", "api_call", "2026-02-30T10:00:00Z"),                          // 8
      event_json("b9", "alice", "api_call", "2026-01-05T10:00:00Z", "[1]"),                   // 9
      R"({"event_id":"b10","customer":"alice","type":"api_call",)" + at + R"(,"amount":3})",  // 10
      call("b11", "1", "2026-01-05T10:00:00Z", "ghost"),                                      // 11
      call("b12", R"("abc")"),                                                                // 12
      call("ok-13", "2"),                                                                     // 13
      R"("just a string")",                                                                   // 14
      R"({"event_id":"b15","customer":"alice","type":"api_call","timestamp":1767607200})",    // 15
      event_json("b16", "alice", "api_call", "2026-01-05T10:00:00Z", R"("tokens")"),          // 16
      R"({"event_id":"b17","customer":"alice","type":"","timestamp":"2026-01-05T10:00:00Z"})",  // 17
  };
  const auto response = post_events(tenant_, batch);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 2) << response.body;
  EXPECT_EQ(int_of(response.json, "duplicates"), 0);
  EXPECT_TRUE(member(response.json, "conflicts").items().empty());
  EXPECT_EQ(member(response.json, "rejected").items().size(), 16u) << response.body;
  expect_counts_add_up(response, batch.size());

  struct Expected {
    std::int64_t index;
    std::string event_id;
    std::string type;
    std::string field;
  };
  const std::vector<Expected> expected = {
      {1, "", "invalid_field", "event_id"},
      {2, "", "invalid_field", "event_id"},
      {3, "", "invalid_field", "event_id"},
      {4, "b4", "invalid_field", "customer"},
      {5, "b5", "invalid_field", "type"},
      {6, "b6", "invalid_field", "timestamp"},
      {7, "b7", "invalid_timestamp", "timestamp"},
      {8, "b8", "invalid_timestamp", "timestamp"},
      {9, "b9", "invalid_field", "properties"},
      {10, "b10", "unknown_field", "amount"},
      {11, "b11", "unknown_customer", "customer"},
      {12, "b12", "invalid_property", "properties.tokens"},
      {14, "", "invalid_event", ""},
      {15, "b15", "invalid_field", "timestamp"},
      {16, "b16", "invalid_field", "properties"},
      {17, "b17", "invalid_field", "type"},
  };
  for (const auto& want : expected) {
    const json::Value item = rejected_at(response, want.index);
    ASSERT_TRUE(item.is_object()) << "no rejection for index " << want.index << "\n"
                                  << response.body;
    EXPECT_EQ(text_of(item, "event_id"), want.event_id) << "index " << want.index;
    EXPECT_EQ(text_of(item, "type"), want.type) << "index " << want.index;
    EXPECT_EQ(text_of(item, "field"), want.field) << "index " << want.index;
    EXPECT_FALSE(text_of(item, "detail").empty()) << "index " << want.index;
  }
  // Only ok-0 (1) and ok-13 (2) count: 1 + 2 = 3.
  EXPECT_EQ(tokens(), std::make_pair(std::string("3"), std::int64_t{2}));
  EXPECT_EQ(stored_events(tenant_), 2);
  // A rejected event leaves its event_id free: b12, corrected, is accepted.
  post_expect(tenant_, {call("b12", "4")}, 1);
  EXPECT_EQ(tokens(), std::make_pair(std::string("7"), std::int64_t{3}));  // 3 + 4
}

TEST_P(IngestOutcomes, NonNumericValueForSumMaxOrLatestFieldIsInvalidProperty) {
  create_meter(tenant_,
               R"({"code":"peak","event_type":"api_call","aggregation":"max","field":"peak"})");
  create_meter(
      tenant_,
      R"({"code":"level","event_type":"api_call","aggregation":"latest","field":"level"})");
  create_meter(
      tenant_,
      R"({"code":"users","event_type":"api_call","aggregation":"unique_count","field":"user"})");
  const std::string at = "2026-01-05T10:00:00Z";
  const auto response = post_events(
      tenant_, {
                   event_json("p0", "alice", "api_call", at, R"({"tokens":{"n":1}})"),  // 0
                   event_json("p1", "alice", "api_call", at, R"({"peak":"high"})"),     // 1
                   event_json("p2", "alice", "api_call", at, R"({"level":true})"),      // 2
                   event_json("p3", "alice", "api_call", at, R"({"tokens":[1]})"),      // 3
                   event_json("p4", "alice", "api_call", at, R"({"tokens":"1.5.0"})"),  // 4
                   event_json("p5", "alice", "api_call", at, R"({"tokens":" 2"})"),     // 5
                   // Not read by any numeric meter of its type: accepted as is.
                   event_json("p6", "alice", "other", at, R"({"tokens":"abc"})"),  // 6
                   // Field missing: counted by `calls`, not by `tokens`.
                   event_json("p7", "alice", "api_call", at, R"({"user":"u1"})"),  // 7
                   // Decimal strings are numbers.
                   event_json("p8", "alice", "api_call", at,
                              R"({"tokens":"2.5","peak":"3","level":"4"})"),  // 8
               });
  ASSERT_EQ(response.status, 200) << response.body;
  const std::vector<std::pair<std::int64_t, std::string>> fields = {
      {0, "properties.tokens"}, {1, "properties.peak"},   {2, "properties.level"},
      {3, "properties.tokens"}, {4, "properties.tokens"}, {5, "properties.tokens"}};
  for (const auto& [index, field] : fields) {
    const json::Value item = rejected_at(response, index);
    EXPECT_EQ(text_of(item, "type"), "invalid_property") << index << "\n" << response.body;
    EXPECT_EQ(text_of(item, "field"), field) << index << "\n" << response.body;
  }
  EXPECT_EQ(int_of(response.json, "accepted"), 3) << response.body;
  expect_counts_add_up(response, 9);
  // calls: p7 and p8 (p6 is another type) = 2; tokens: only p8 carries it = 2.5 over 1 event.
  EXPECT_EQ(calls(), "2");
  EXPECT_EQ(tokens(), std::make_pair(std::string("2.5"), std::int64_t{1}));
  EXPECT_EQ(value_and_events(tenant_, "alice", "peak", kDayFrom, kDayTo),
            std::make_pair(std::string("3"), std::int64_t{1}));
  EXPECT_EQ(value_and_events(tenant_, "alice", "level", kDayFrom, kDayTo),
            std::make_pair(std::string("4"), std::int64_t{1}));
  EXPECT_EQ(value_and_events(tenant_, "alice", "users", kDayFrom, kDayTo),
            std::make_pair(std::string("1"), std::int64_t{1}));
}

// A meter's hourly total per customer must fit the exact decimal type (36 significant digits): the
// event that would overflow it is rejected, and nothing of it is stored — not for that meter, not
// for any other (`calls`), not the event itself; the same amount in another hour is fine.
TEST_P(IngestOutcomes, AnEventThatWouldOverflowItsHourlyTotalIsRejectedAndNotStored) {
  const std::string nines(36, '9');
  const auto first = post_events(tenant_, {call("big", nines, "2026-01-05T10:00:00Z"),
                                           call("over1", "1", "2026-01-05T10:59:59Z"),
                                           call("other-hour", "1", "2026-01-06T11:00:00Z"),
                                           // A copy of the rejected event: rejected with it.
                                           call("over1", "1", "2026-01-05T10:59:59Z")});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(int_of(first.json, "accepted"), 2) << first.body;
  EXPECT_EQ(int_of(first.json, "duplicates"), 0) << first.body;
  const json::Value item = rejected_at(first, 1);
  EXPECT_EQ(text_of(item, "type"), "usage_out_of_range") << first.body;
  EXPECT_EQ(text_of(item, "field"), "properties.tokens") << first.body;
  EXPECT_EQ(text_of(rejected_at(first, 3), "type"), "usage_out_of_range") << first.body;
  expect_counts_add_up(first, 4);

  // In a later commit, against the stored total: rejected again, and a resend is no duplicate.
  const auto second = post_events(tenant_, {call("over2", "0.001", "2026-01-05T10:30:00Z"),
                                            call("over1", "1", "2026-01-05T10:59:59Z")});
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(int_of(second.json, "accepted"), 0) << second.body;
  EXPECT_EQ(text_of(rejected_at(second, 0), "type"), "usage_out_of_range") << second.body;
  EXPECT_EQ(text_of(rejected_at(second, 1), "type"), "usage_out_of_range") << second.body;

  EXPECT_EQ(stored_events(tenant_), 2);
  EXPECT_EQ(calls(), "1");  // 2026-01-05: only "big"
  EXPECT_EQ(tokens(), std::make_pair(nines, std::int64_t{1}));
  EXPECT_EQ(
      value_and_events(tenant_, "alice", "tokens", "2026-01-06T00:00:00Z", "2026-01-07T00:00:00Z"),
      std::make_pair(std::string("1"), std::int64_t{1}));
}

// Concurrent batches whose events land in the same usage buckets (one customer, one hour) must
// add up exactly: on PostgreSQL two group-commit writers run transactions side by side and each
// rewrites the bucket totals it touched, so a lost update would show here. Each thread also
// resends one of its batches: only duplicates. 6 threads × 8 batches × 25 events = 1,200 events of
// 1.25 tokens = 1,500.00 tokens.
TEST_P(IngestOutcomes, ConcurrentBatchesIntoTheSameBucketsAddUpExactly) {
  constexpr int kThreads = 6;
  constexpr int kBatches = 8;
  constexpr int kEvents = 25;
  const auto batch_of = [](int thread, int batch) {
    std::vector<std::string> events;
    for (int e = 0; e < kEvents; ++e) {
      const std::string id =
          "t" + std::to_string(thread) + "-b" + std::to_string(batch) + "-e" + std::to_string(e);
      const std::string second = std::to_string(10 + (thread * kBatches + batch + e) % 50);
      events.push_back(call(id, "1.25", "2026-01-05T10:20:" + second + "Z"));
    }
    return events;
  };
  std::vector<std::vector<std::string>> problems(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        const auto response = post_events(tenant_, batch_of(t, b));
        if (response.status != 200 || int_of(response.json, "accepted") != kEvents) {
          problems[t].push_back("batch " + std::to_string(b) + ": " + response.body);
        }
      }
      const auto resent = post_events(tenant_, batch_of(t, 0));
      if (resent.status != 200 || int_of(resent.json, "duplicates") != kEvents) {
        problems[t].push_back("resend: " + resent.body);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_TRUE(problems[t].empty()) << problems[t].front();
  EXPECT_EQ(stored_events(tenant_), kThreads * kBatches * kEvents);
  EXPECT_EQ(calls(), "1200");
  EXPECT_EQ(tokens(), std::make_pair(std::string("1500.00"), std::int64_t{1200}));
}

// Large batches (PostgreSQL copies them: limits::ingest_postgres_copy_events_min) resent while
// the first copy is still being written, by several clients at once, and a batch that is half
// resent: every event_id is accepted exactly once across all the answers, every other copy is a
// duplicate, and the totals count each event once.
TEST_P(IngestOutcomes, LargeBatchesResentConcurrentlyAreStoredOnce) {
  constexpr int kEvents = 600;
  constexpr int kSenders = 4;
  const auto events_of = [](int first, int count) {
    std::vector<std::string> events;
    for (int e = first; e < first + count; ++e) {
      const std::string second = std::to_string(10 + e % 50);
      events.push_back(call("big-" + std::to_string(e), "2", "2026-01-05T11:00:" + second + "Z"));
    }
    return events;
  };
  const auto whole = events_of(0, kEvents);
  auto half_resent = events_of(kEvents / 2, kEvents);  // big-300 .. big-899
  std::vector<TestResponse> responses(kSenders + 1);
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] { responses[s] = post_events(tenant_, whole); });
  }
  senders.emplace_back([&] { responses[kSenders] = post_events(tenant_, half_resent); });
  for (auto& sender : senders) sender.join();
  std::int64_t accepted = 0;
  std::int64_t duplicates = 0;
  for (const auto& response : responses) {
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_TRUE(member(response.json, "conflicts").items().empty()) << response.body;
    EXPECT_TRUE(member(response.json, "rejected").items().empty()) << response.body;
    accepted += int_of(response.json, "accepted");
    duplicates += int_of(response.json, "duplicates");
  }
  // 900 distinct event_ids in 4 * 600 + 600 = 3,000 events sent.
  EXPECT_EQ(accepted, 900);
  EXPECT_EQ(duplicates, 3000 - 900);
  EXPECT_EQ(stored_events(tenant_), 900);
  EXPECT_EQ(calls(), "900");
  EXPECT_EQ(tokens(), std::make_pair(std::string("1800"), std::int64_t{900}));
  // Sent once more, one after the other: duplicates only.
  const auto again = post_events(tenant_, half_resent);
  EXPECT_EQ(int_of(again.json, "duplicates"), kEvents) << again.body;
  EXPECT_EQ(calls(), "900");
}

// The content hash is stored with every event and decides duplicate versus conflict for every
// later resend, so its input must never change: the SHA-256 of the canonical JSON of customer,
// properties (number literals as sent), timestamp in unix micros and type, members in key order.
// Expected: `printf '%s' '<that JSON>' | sha256sum`.
TEST(IngestContentHash, IsTheSha256OfTheCanonicalEventContent) {
  const auto parsed = services::ingest::parse_batch(
      R"({"events":[{"type":"api_call","timestamp":"2026-01-05T11:00:00+01:00",)"
      R"("properties":{"tokens":12.50,"model":"gpt \"4\""},"event_id":"h1","customer":"alice"}]})",
      services::ingest::IngestSettings{}, instant(kNow));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->events.size(), 1u);
  // {"customer":"alice","properties":{"model":"gpt \"4\"","tokens":12.50},
  //  "timestamp":1767607200000000,"type":"api_call"}
  EXPECT_EQ(parsed->events[0].content_hash,
            "6664df34e97c747af7375a7ebd3bd0c26950a1ef2083336dcc5360f80c8f6698");
}

// A batch's meter contributions are worked out on the request thread before it is queued
// (Pipeline::plan). A meter created in between must still count the batch, and a stale plan must
// not count it twice or against the old meter list.
TEST_P(IngestOutcomes, AMeterCreatedBetweenPlanningAndWritingCountsTheBatch) {
  auto& pipeline = api().api().ingest().pipeline();
  const auto parsed = services::ingest::parse_batch(
      batch_json({call("p1", "4"), call("p2", "6"), call("p3", R"("x1")")}),
      services::ingest::IngestSettings{}, instant(kNow));
  ASSERT_TRUE(parsed.ok());
  auto job = new_job(tenant_, *parsed, "req_plan_test");
  pipeline.plan(*job);
  ASSERT_EQ(job->plan.meter_ids.size(), 2u);
  ASSERT_EQ(job->plan.events.size(), 3u);
  EXPECT_FALSE(job->plan.events[0].customer_id.empty());
  ASSERT_TRUE(job->plan.events[2].unreadable);
  EXPECT_EQ(job->plan.events[2].unreadable->field, "tokens");

  // After planning, a third meter over the same events: the largest `tokens` value.
  create_meter(tenant_,
               R"({"code":"peak","event_type":"api_call","aggregation":"max","field":"tokens"})");
  const auto reply = submit(pipeline, std::move(job)).get();
  ASSERT_TRUE(reply.ok());
  // p3 ("x1" is no number) is rejected by the sum and max meters; p1 and p2 are counted by all
  // three: calls 2, tokens 4 + 6 = 10, peak max(4, 6) = 6.
  EXPECT_EQ(int_of(reply->body, "accepted"), 2) << json::serialize(reply->body);
  EXPECT_EQ(member(reply->body, "rejected").items().size(), 1u);
  EXPECT_EQ(calls(), "2");
  EXPECT_EQ(tokens(), std::make_pair(std::string("10"), std::int64_t{2}));
  EXPECT_EQ(value_and_events(tenant_, "alice", "peak", kDayFrom, kDayTo),
            std::make_pair(std::string("6"), std::int64_t{2}));
}

// The request threads plan with the meters a writer last read (cached); a meter created since
// is backfilled with what was stored and must count every later batch too.
TEST_P(IngestOutcomes, AMeterCreatedBetweenBatchesCountsBoth) {
  post_expect(tenant_, {call("b1", "4"), call("b2", "9")}, 2);
  create_meter(tenant_,
               R"({"code":"peak","event_type":"api_call","aggregation":"max","field":"tokens"})");
  post_expect(tenant_, {call("b3", "7"), call("b4", "12")}, 2);
  // tokens 4 + 9 + 7 + 12 = 32; peak max(4, 9, 7, 12) = 12, over all four events.
  EXPECT_EQ(tokens(), std::make_pair(std::string("32"), std::int64_t{4}));
  EXPECT_EQ(value_and_events(tenant_, "alice", "peak", kDayFrom, kDayTo),
            std::make_pair(std::string("12"), std::int64_t{4}));
}

// Text with quotes and backslashes travels intact through every write path (on PostgreSQL, the
// escaped array literals of the batch statements): the stored event still matches a resend, and a
// group value with them finds its stored bucket again in a later commit.
TEST_P(IngestOutcomes, QuotesAndBackslashesInPropertiesRoundTrip) {
  create_meter(tenant_, R"({"code":"paths","event_type":"api_call","aggregation":"count",)"
                        R"("group_by":["path"]})");
  const std::string tricky = R"({"path":"a\"b\\c\\\"","tokens":1})";
  const auto event = [&](const std::string& id) {
    return event_json(id, "alice", "api_call", "2026-01-05T10:00:00Z", tricky);
  };
  post_expect(tenant_, {event("q1")}, 1);
  post_expect(tenant_, {event("q1")}, 0, 1);  // the same content: a duplicate
  post_expect(tenant_, {event("q2")}, 1);     // a later commit into the same bucket
  const json::Value item = meter_usage(tenant_, "alice", "paths", kDayFrom, kDayTo);
  EXPECT_EQ(int_of(item, "events"), 2);
  const json::Value* group = find_group(item, R"({"path":"a\"b\\c\\\""})");
  ASSERT_NE(group, nullptr) << json::serialize(item);
  EXPECT_EQ(text_of(*group, "value"), "2");
  EXPECT_EQ(int_of(*group, "events"), 2);
}

// With several writers (PostgreSQL runs two), a writer waiting to gather a larger group lets go of
// the queue, and another writer may take every job meanwhile: the first must go back to waiting,
// not end. Commits of at most 4 events make every group "large", so the writers gather all the
// time; were they to end, later batches would never be answered (a writer lost this way once
// halved PostgreSQL's ingest rate in about a third of benchmark runs).
TEST_P(IngestOutcomes, AWriterThatFindsTheQueueEmptiedKeepsWriting) {
  services::ingest::Pipeline pipeline(api().faults(), 4, 2);
  const auto job_of = [&](const std::string& id) {
    const auto parsed = services::ingest::parse_batch(
        batch_json({call(id, "1")}), services::ingest::IngestSettings{}, instant(kNow));
    return new_job(tenant_, *parsed, "req_" + id);
  };
  constexpr int kThreads = 6;
  constexpr int kRounds = 150;
  std::atomic<int> accepted{0};
  std::atomic<int> unanswered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds && unanswered == 0; ++r) {
        auto future = submit(pipeline, job_of("w" + std::to_string(t) + "_" + std::to_string(r)));
        if (future.wait_for(10s) != std::future_status::ready) {
          ++unanswered;
          return;
        }
        const auto reply = future.get();
        if (reply.ok()) accepted += static_cast<int>(int_of(reply->body, "accepted"));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(pipeline.stats().writers, 2u);
  EXPECT_EQ(unanswered, 0);
  EXPECT_EQ(accepted, kThreads * kRounds);
  EXPECT_EQ(calls(), std::to_string(kThreads * kRounds));
}

// A meter created while a batch waits to be written: the meter's transaction holds the tenant's
// meters first, the writer queues behind it, and once the meter is committed the writer reads the
// meters afresh and counts the batch into the new meter (whose backfill saw none of it). The
// test's transaction holds the meters until both wait (on SQLite: the write lock; the two then
// run one after the other in either order, with the same result).
TEST_P(IngestOutcomes, ABatchWrittenAfterAMeterIsCreatedCountsIntoIt) {
  auto hold = db().begin(storage::TxMode::write);
  storage::locks::meters_exclusive(*hold, TenantId(tenant_.id));
  std::thread creator([&] {
    create_meter(tenant_, R"({"code":"calls_too","event_type":"api_call","aggregation":"count"})");
  });
  wait_for_advisory_waiters(*hold, 1);  // the meter's creation
  auto ingest = std::async(std::launch::async, [&] {
    return post_events(tenant_, {call("m1", "1"), call("m2", "2")});
  });
  wait_for_advisory_waiters(*hold, 2);  // and, behind it, the writer
  hold->commit();
  creator.join();
  const auto response = ingest.get();
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 2);
  EXPECT_EQ(value_and_events(tenant_, "alice", "calls_too", kDayFrom, kDayTo),
            std::make_pair(std::string("2"), std::int64_t{2}));
  EXPECT_EQ(calls(), "2");
}

// A commit paused in flight: `hold` holds the tenant's bucket merge lock, and `events` were posted
// behind it; the writer has inserted them and waits, inside its transaction, to merge their
// buckets until `hold` ends. PostgreSQL only: SQLite's single writer cannot be paused inside its
// transaction, and no other transaction overlaps it.
struct CommitInFlight {
  std::unique_ptr<storage::Tx> hold;
  std::future<TestResponse> response;
};

std::vector<Backend> postgres_backends() {
  auto backends = test_backends();
  std::erase(backends, Backend::sqlite);
  return backends;
}

class CommitsInFlight : public IngestOutcomes {
 protected:
  CommitInFlight pause_commit(std::vector<std::string> events) {
    auto hold = db().begin(storage::TxMode::write);
    EXPECT_EQ(hold->dialect(), storage::Dialect::postgres);
    storage::locks::bucket_merge(*hold, TenantId(tenant_.id));
    auto response = std::async(std::launch::async, [this, events = std::move(events)] {
      return post_events(tenant_, events);
    });
    wait_for_advisory_waiters(*hold, 1);  // the writer, its events inserted
    return CommitInFlight{std::move(hold), std::move(response)};
  }
};

// A meter created while a commit is in flight waits for it: the writer holds the tenant's meters
// shared until it commits, so the meter's backfill counts the commit's events.
TEST_P(CommitsInFlight, AMeterCreatedMeanwhileCountsTheCommitsEvents) {
  auto paused = pause_commit({call("f1", "1"), call("f2", "2"), call("f3", "3")});
  std::thread creator([&] {
    create_meter(tenant_, R"({"code":"calls_too","event_type":"api_call","aggregation":"count"})");
  });
  wait_for_advisory_waiters(*paused.hold, 2);  // the meter's creation waits for the writer
  paused.hold->commit();
  const auto response = paused.response.get();
  creator.join();
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 3);
  EXPECT_EQ(value_and_events(tenant_, "alice", "calls_too", kDayFrom, kDayTo),
            std::make_pair(std::string("3"), std::int64_t{3}));
  EXPECT_EQ(calls(), "3");
}

// Ingest leaves the tenant row alone: another audited change of the tenant (here a customer's
// creation, whose audit append locks the row) goes through while a commit is in flight, instead of
// waiting for it.
TEST_P(CommitsInFlight, AnAuditedChangeMeanwhileDoesNotWaitForIt) {
  auto paused = pause_commit({call("g1", "1"), call("g2", "2")});
  auto customer = std::async(std::launch::async, [&] { create_customer(tenant_, "bob"); });
  // Were the writer holding the tenant row, the creation would wait for the test's transaction.
  EXPECT_EQ(customer.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(paused.response.wait_for(0s), std::future_status::timeout);  // still held
  paused.hold->commit();
  customer.get();
  const auto response = paused.response.get();
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 2);
  EXPECT_EQ(calls(), "2");
}

// Batches that queue while the writer is busy share its next commit. On PostgreSQL the events
// their plans admit then go in by one COPY for the tenant — one subtransaction, so one xmin — and
// an event_id that two of the batches carry is written once, the second copy a duplicate. A
// batch holding an event_id stored before sends every batch its own way (a COPY each, the
// resent batch row by row): the outcomes are the same either way. The writer is held by a
// transaction of the test (PostgreSQL: the tenant's meters, held exclusively; SQLite: the write
// lock).
class QueuedBatches : public IngestOutcomes {
 protected:
  // A job of `tenant` (nullptr: tenant_).
  std::unique_ptr<services::ingest::Pipeline::Job> job_of(const std::vector<std::string>& events,
                                                          const std::string& name,
                                                          const Tenant* tenant = nullptr) {
    auto parsed = services::ingest::parse_batch(batch_json(events), settings_, instant(kNow));
    EXPECT_TRUE(parsed.ok());
    return new_job(tenant != nullptr ? *tenant : tenant_, std::move(*parsed), "req_" + name,
                   settings_);
  }

  // Plans the job and queues it, as the HTTP handler does.
  static PendingReply plan_and_submit(services::ingest::Pipeline& pipeline,
                                      std::unique_ptr<services::ingest::Pipeline::Job> job) {
    pipeline.plan(*job);
    return submit(pipeline, std::move(job));
  }

  static std::vector<std::string> calls_named(const std::string& prefix, int count) {
    std::vector<std::string> events;
    for (int e = 0; e < count; ++e) {
      events.push_back(call(prefix + std::to_string(e), "1",
                            "2026-01-05T10:" + std::to_string(10 + e % 50) + ":00Z"));
    }
    return events;
  }

  // Runs `first` while a transaction of the test holds the writer, queues `batches` behind it
  // (batch b of owners[b] when given, else of tenant_), lets the writer go, and returns the
  // replies to `batches`.
  std::vector<Reply> write_queued(std::vector<std::vector<std::string>> batches,
                                  const std::vector<const Tenant*>& owners = {},
                                  std::size_t events_per_commit_max = 20'000) {
    services::ingest::Pipeline pipeline(api().faults(), events_per_commit_max, 1);
    auto hold = db().begin(storage::TxMode::write);
    storage::locks::meters_exclusive(*hold,
                                     TenantId(tenant_.id));  // PostgreSQL; SQLite: the write lock
    auto first = plan_and_submit(pipeline, job_of({call("first-queued", "1")}, "first"));
    wait_for_advisory_waiters(*hold, 1);  // the writer waits for this transaction
    std::vector<PendingReply> futures;
    for (std::size_t b = 0; b < batches.size(); ++b) {
      futures.push_back(plan_and_submit(pipeline, job_of(batches[b], "b" + std::to_string(b),
                                                         b < owners.size() ? owners[b] : nullptr)));
    }
    hold->commit();
    EXPECT_TRUE(first.get().ok());
    std::vector<Reply> replies;
    for (auto& future : futures) {
      auto reply = future.get();
      EXPECT_TRUE(reply.ok());
      if (reply.ok()) replies.push_back(std::move(*reply));
    }
    groups_written_ = pipeline.stats().groups;
    return replies;
  }

  std::uint64_t groups_written_ = 0;  // by the last write_queued, the held first batch's included

  // The reply rejected exactly one event: that one, for that reason.
  static void expect_only_rejection(const Reply& reply, const std::string& event_id,
                                    const std::string& type) {
    const auto& rejected = member(reply.body, "rejected").items();
    ASSERT_EQ(rejected.size(), 1u) << json::serialize(reply.body);
    EXPECT_EQ(member(rejected[0], "event_id").text(), event_id);
    EXPECT_EQ(member(rejected[0], "type").text(), type);
  }

  services::ingest::IngestSettings settings_;

  // Distinct transactions and subtransactions that wrote the tenant's events of that prefix
  // (PostgreSQL), or nothing.
  std::optional<std::int64_t> writers_of(const std::string& prefix) {
    auto tx = db().begin(storage::TxMode::read);
    if (tx->dialect() != storage::Dialect::postgres) return std::nullopt;
    return tx
        ->query(
            "SELECT count(DISTINCT xmin::text) FROM events WHERE tenant_id = $1 AND event_id LIKE "
            "$2",
            {tenant_.id, prefix + "%"})
        .at(0)
        .integer(0);
  }
};

// A commit that fails is retried job by job, so a batch the database refuses fails alone: its
// neighbour in the commit is stored and answered, it is answered with an error and nothing of it
// is stored, and its events leave the tenant's in-flight budget. The pipeline writes through a
// FaultyDb that refuses every statement or COPY writing the tenant's events; the writer is held at
// the start of its first commit (the neighbour's first batch) so that the next two batches share
// one commit.
class RefusedBatches : public QueuedBatches {};

TEST_P(RefusedBatches, ABatchTheDatabaseRefusesFailsAloneInItsCommit) {
  const Tenant other = make_calls_tenant("Neighbour Inc");
  FaultyDb faulty(db());
  // SQLite inserts row by row, PostgreSQL by COPY or one INSERT: each names the columns.
  faulty.fail_always(statement_with("events (tenant_id", tenant_.id));
  const auto writer_held = faulty.pause_once(is(Operation::begin_write));
  services::ingest::Pipeline pipeline(faulty, 20'000, 1);
  auto first = plan_and_submit(pipeline, job_of({call("n0", "1")}, "n0", &other));
  ASSERT_TRUE(writer_held->wait_until_reached());
  auto refused = plan_and_submit(pipeline, job_of(calls_named("r-", 600), "refused"));
  auto neighbour = plan_and_submit(pipeline, job_of(calls_named("n-", 600), "neighbour", &other));
  writer_held->open();
  ASSERT_TRUE(first.get().ok());
  const auto refused_reply = refused.get();
  ASSERT_FALSE(refused_reply.ok());
  EXPECT_EQ(refused_reply.error().code, ErrorCode::internal);
  const auto neighbour_reply = neighbour.get();
  ASSERT_TRUE(neighbour_reply.ok());
  EXPECT_EQ(int_of(neighbour_reply->body, "accepted"), 600);
  EXPECT_EQ(stored_events(tenant_), 0);
  EXPECT_EQ(stored_events(other), 601);
  EXPECT_EQ(pipeline.in_flight(TenantId(tenant_.id)), 0u);
  // Two groups taken: the first batch, then the two together (retried one by one inside it).
  EXPECT_EQ(pipeline.stats().groups, 2u);
  // The refused batch failed in the commit of both, then alone.
  EXPECT_GE(faulty.faults_injected(), 2u);
}

// A tenant at saturation does not starve another at the writer: with twenty batches of one tenant
// queued ahead of one batch of another, the writer's round-robin writes the other's batch after at
// most one more of the busy tenant's (commits of at most 1,000 events here, so one batch each).
// The busy tenant is the one whose id sorts first, so a writer that served tenants in key order
// rather than in turns would write all twenty first. Commit order is read from the rows: SQLite's
// rowids and PostgreSQL's transaction ids grow with it.
TEST_P(QueuedBatches, ABusyTenantsQueueDoesNotDelayAnotherTenant) {
  const Tenant other = make_calls_tenant("Other Inc");
  const bool other_first = other.id < tenant_.id;
  const Tenant& busy = other_first ? other : tenant_;
  const Tenant& quiet = other_first ? tenant_ : other;
  std::vector<std::vector<std::string>> batches;
  std::vector<const Tenant*> owners;
  for (int b = 0; b < 20; ++b) {
    batches.push_back(calls_named("busy" + std::to_string(b) + "-", 1000));
    owners.push_back(&busy);
  }
  batches.push_back(calls_named("quiet-", 1000));
  owners.push_back(&quiet);
  const auto replies = write_queued(batches, owners, 1000);
  ASSERT_EQ(replies.size(), batches.size());
  for (const auto& reply : replies) EXPECT_EQ(int_of(reply.body, "accepted"), 1000);
  const auto position = [&](const Tenant& tenant, const std::string& event_id) {
    auto tx = db().begin(storage::TxMode::read);
    const std::string column = tx->dialect() == storage::Dialect::postgres
                                   ? "CAST(CAST(xmin AS TEXT) AS BIGINT)"
                                   : "rowid";
    return tx
        ->query("SELECT " + column + " FROM events WHERE tenant_id = $1 AND event_id = $2",
                {tenant.id, event_id})
        .at(0)
        .integer(0);
  };
  const auto quiet_at = position(quiet, "quiet-0");
  int busy_before = 0;
  for (int b = 0; b < 20; ++b) {
    if (position(busy, "busy" + std::to_string(b) + "-0") < quiet_at) ++busy_before;
  }
  EXPECT_LE(busy_before, 1);
}

TEST_P(QueuedBatches, ShareOneCommitAndOnePostgresCopy) {
  auto batches = std::vector{calls_named("qa-", 600), calls_named("qb-", 600),
                             calls_named("qc-", 600), calls_named("qd-", 599)};
  batches[3].push_back(batches[0][7]);  // qa-7 again, same content
  const auto replies = write_queued(batches);
  ASSERT_EQ(replies.size(), 4u);
  for (std::size_t b = 0; b < 3; ++b) {
    EXPECT_EQ(int_of(replies[b].body, "accepted"), 600) << json::serialize(replies[b].body);
    EXPECT_EQ(int_of(replies[b].body, "duplicates"), 0);
  }
  EXPECT_EQ(int_of(replies[3].body, "accepted"), 599) << json::serialize(replies[3].body);
  EXPECT_EQ(int_of(replies[3].body, "duplicates"), 1);
  EXPECT_TRUE(member(replies[3].body, "conflicts").items().empty());
  EXPECT_EQ(stored_events(tenant_), 1 + 3 * 600 + 599);
  EXPECT_EQ(calls(), std::to_string(1 + 3 * 600 + 599));
  EXPECT_EQ(tokens(),
            std::make_pair(std::to_string(1 + 3 * 600 + 599), std::int64_t{1 + 3 * 600 + 599}));
  EXPECT_EQ(groups_written_, 2u);  // the held first batch, then all four in one commit
  if (const auto writers = writers_of("q")) {
    EXPECT_EQ(*writers, 1);  // one COPY for all four batches
  }
}

TEST_P(QueuedBatches, WithAStoredEventIdEachBatchGoesItsOwnWay) {
  ASSERT_EQ(
      int_of(post_events(tenant_, {call("qb-5", "1", "2026-01-05T10:15:00Z")}).json, "accepted"),
      1);
  const auto replies =
      write_queued({calls_named("qa-", 600), calls_named("qb-", 600), calls_named("qc-", 600)});
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(int_of(replies[0].body, "accepted"), 600);
  EXPECT_EQ(int_of(replies[1].body, "accepted"), 599) << json::serialize(replies[1].body);
  EXPECT_EQ(int_of(replies[1].body, "duplicates"), 1);
  EXPECT_EQ(int_of(replies[2].body, "accepted"), 600);
  EXPECT_EQ(stored_events(tenant_), 2 + 3 * 600 - 1);
  EXPECT_EQ(calls(), std::to_string(2 + 3 * 600 - 1));
  if (const auto writers = writers_of("q")) {
    // qa- and qc- by a COPY each; qb- (but for qb-5, stored before) row by row.
    EXPECT_EQ(*writers, 4);  // and qb-5, stored before
  }
}

// Only what the plans admit goes into the shared COPY: an event for a customer the writer
// creates (auto_create_customers), or one a meter cannot read (rejected), takes its batch's own
// way, in the same commit.
TEST_P(QueuedBatches, EventsThePlansCannotAdmitTakeTheirBatchsOwnWay) {
  settings_.auto_create_customers = true;
  auto mixed = calls_named("qa-", 600);
  mixed.push_back(call("qn-1", "2", "2026-01-05T10:20:00Z", "newcomer"));
  mixed.push_back(call("qn-2", "3", "2026-01-05T10:21:00Z", "newcomer"));
  mixed.push_back(call("qbad-1", R"("many")"));  // a sum meter cannot read a string
  const auto replies = write_queued({mixed, calls_named("qb-", 600)});
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(int_of(replies[0].body, "accepted"), 602) << json::serialize(replies[0].body);
  expect_only_rejection(replies[0], "qbad-1", "invalid_property");
  EXPECT_EQ(int_of(replies[1].body, "accepted"), 600);
  EXPECT_EQ(calls("newcomer"), "2");
  EXPECT_EQ(tokens("newcomer"), std::make_pair(std::string("5"), std::int64_t{2}));
  EXPECT_EQ(calls(), std::to_string(1 + 600 + 600));
  EXPECT_EQ(stored_events(tenant_), 1 + 602 + 600);  // not the rejected one
  if (const auto writers = writers_of("q")) {
    EXPECT_EQ(*writers, 2);  // the shared COPY (qa-, qb-); the newcomer's two, row by row
  }
}

// The first event of an event_id in the commit decides, as it would batch by batch: a later
// copy whose plan is complete must not go into the shared COPY ahead of a first one that is
// rejected (then the later one is accepted) or whose customer the writer creates (then the later
// one is a conflict).
TEST_P(QueuedBatches, TheFirstOfAnEventIdDecidesEvenWhenItsPlanIsIncomplete) {
  settings_.auto_create_customers = true;
  auto first = calls_named("qa-", 600);
  first.push_back(call("qx-1", "2", "2026-01-05T10:20:00Z", "newcomer"));
  first.push_back(call("qy-1", R"("many")"));  // rejected: a sum meter cannot read a string
  first.push_back(call("qy-1", "4"));          // so this one is accepted
  auto second = calls_named("qb-", 600);
  second.push_back(call("qx-1", "7"));  // alice's: other content than the newcomer's
  const auto replies = write_queued({first, second});
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(int_of(replies[0].body, "accepted"), 602) << json::serialize(replies[0].body);
  expect_only_rejection(replies[0], "qy-1", "invalid_property");
  EXPECT_EQ(int_of(replies[1].body, "accepted"), 600) << json::serialize(replies[1].body);
  const auto& conflicts = member(replies[1].body, "conflicts").items();
  ASSERT_EQ(conflicts.size(), 1u) << json::serialize(replies[1].body);
  EXPECT_EQ(member(conflicts[0], "event_id").text(), "qx-1");
  EXPECT_EQ(tokens("newcomer"), std::make_pair(std::string("2"), std::int64_t{1}));
  EXPECT_EQ(tokens(), std::make_pair(std::to_string(1 + 600 + 600 + 4), std::int64_t{1202}));
  EXPECT_EQ(stored_events(tenant_), 1 + 602 + 600);
}

// Every tenant of a commit adds its bucket sums under one savepoint, not one each: on PostgreSQL a
// transaction that kept more than 64 subtransactions would make every snapshot of every session
// look them up on disk. A commit serving 70 tenants counts each one's usage, and its bucket rows
// carry one xmin on PostgreSQL (one subtransaction wrote them all).
class ManyTenantsQueued : public QueuedBatches {
 protected:
  static constexpr int kTenants = 70;

  void SetUp() override {
    QueuedBatches::SetUp();
    for (int t = 0; t < kTenants; ++t) {
      tenants_.push_back(make_calls_tenant("Queued " + std::to_string(t)));
    }
  }

  // Two events for each tenant, tokens 2 and 3, queued as one batch per tenant.
  std::vector<Reply> write_two_each() {
    std::vector<std::vector<std::string>> batches;
    std::vector<const Tenant*> owners;
    for (const Tenant& tenant : tenants_) {
      batches.push_back({call("m-a", "2"), call("m-b", "3")});
      owners.push_back(&tenant);
    }
    return write_queued(batches, owners);
  }

  std::vector<Tenant> tenants_;
};

TEST_P(ManyTenantsQueued, OneCommitCountsEveryTenantsUsageUnderOneSavepoint) {
  const auto replies = write_two_each();
  ASSERT_EQ(replies.size(), static_cast<std::size_t>(kTenants));
  for (const auto& reply : replies) {
    EXPECT_EQ(int_of(reply.body, "accepted"), 2) << json::serialize(reply.body);
  }
  for (const Tenant& tenant : tenants_) {
    EXPECT_EQ(value_and_events(tenant, "alice", "calls", kDayFrom, kDayTo),
              std::make_pair(std::string("2"), std::int64_t{2}));
    EXPECT_EQ(value_and_events(tenant, "alice", "tokens", kDayFrom, kDayTo),
              std::make_pair(std::string("5"), std::int64_t{2}));
  }
  auto tx = db().begin(storage::TxMode::read);
  if (tx->dialect() == storage::Dialect::postgres) {
    std::string ids;
    for (const Tenant& tenant : tenants_) ids += (ids.empty() ? "" : ",") + tenant.id;
    const auto rows = tx->query(
        "SELECT count(*), count(DISTINCT xmin::text) FROM usage_buckets WHERE tenant_id = "
        "ANY(string_to_array($1, ','))",
        {ids});
    EXPECT_EQ(rows.at(0).integer(0), 2 * kTenants);  // calls and tokens, one hour, each tenant
    EXPECT_EQ(rows.at(0).integer(1), 1);
  }
}

// One tenant's stored total makes the shared pass overflow: nothing of the pass stays, every
// tenant is counted event by event, and only the event that overflows is rejected.
TEST_P(ManyTenantsQueued, AnOverflowInOneTenantLeavesTheOthersCounted) {
  const Tenant& full = tenants_[kTenants / 2];
  post_expect(full, {call("big", std::string(36, '9'))}, 1);
  const auto replies = write_two_each();
  ASSERT_EQ(replies.size(), static_cast<std::size_t>(kTenants));
  for (int t = 0; t < kTenants; ++t) {
    const auto& body = replies[static_cast<std::size_t>(t)].body;
    if (&tenants_[static_cast<std::size_t>(t)] != &full) {
      EXPECT_EQ(int_of(body, "accepted"), 2) << json::serialize(body);
      continue;
    }
    // 999…9 + 2 needs 37 digits; then + 3 does too: both rejected, neither stored.
    EXPECT_EQ(int_of(body, "accepted"), 0) << json::serialize(body);
    const auto& rejected = member(body, "rejected").items();
    ASSERT_EQ(rejected.size(), 2u) << json::serialize(body);
    EXPECT_EQ(member(rejected[0], "type").text(), "usage_out_of_range");
    EXPECT_EQ(member(rejected[1], "type").text(), "usage_out_of_range");
  }
  for (const Tenant& tenant : tenants_) {
    if (&tenant == &full) continue;
    EXPECT_EQ(value_and_events(tenant, "alice", "tokens", kDayFrom, kDayTo),
              std::make_pair(std::string("5"), std::int64_t{2}));
  }
  EXPECT_EQ(value_and_events(full, "alice", "tokens", kDayFrom, kDayTo),
            std::make_pair(std::string(36, '9'), std::int64_t{1}));
  EXPECT_EQ(stored_events(full), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, QueuedBatches, ::testing::ValuesIn(test_backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, ManyTenantsQueued, ::testing::ValuesIn(test_backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, RefusedBatches, ::testing::ValuesIn(test_backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, CommitsInFlight, ::testing::ValuesIn(postgres_backends()),
                         backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CommitsInFlight);  // without PostgreSQL

TEST_P(IngestOutcomes, FutureTimestampsBeyondTheSkewAreRejected) {
  // now = 2026-01-10T00:00:00Z, skew 300 s: 00:05:00 is the last accepted instant.
  const auto response = post_events(tenant_, {call("f0", "1", "2026-01-10T00:05:00Z"),
                                              call("f1", "1", "2026-01-10T00:05:00.000001Z"),
                                              call("f2", "1", "2026-01-10T00:30:00Z")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 1) << response.body;
  for (const std::int64_t index : {1, 2}) {
    EXPECT_EQ(text_of(rejected_at(response, index), "type"), "timestamp_in_future")
        << response.body;
    EXPECT_EQ(text_of(rejected_at(response, index), "field"), "timestamp");
  }
  // Skew raised to 3600 s: 00:30:00 is accepted now, 01:00:00.000001 still is not.
  patch_settings(tenant_, R"({"future_event_skew_seconds":3600})");
  const auto later = post_events(
      tenant_, {call("f2", "1", "2026-01-10T00:30:00Z"), call("f3", "1", "2026-01-10T01:00:00Z"),
                call("f4", "1", "2026-01-10T01:00:00.000001Z")});
  ASSERT_EQ(later.status, 200) << later.body;
  EXPECT_EQ(int_of(later.json, "accepted"), 2) << later.body;
  EXPECT_EQ(text_of(rejected_at(later, 2), "type"), "timestamp_in_future") << later.body;
  // Skew lowered to 0: one microsecond after now is in the future.
  patch_settings(tenant_, R"({"future_event_skew_seconds":0})");
  const auto strict = post_events(tenant_, {call("f5", "1", "2026-01-10T00:00:00Z"),
                                            call("f6", "1", "2026-01-10T00:00:00.000001Z")});
  EXPECT_EQ(int_of(strict.json, "accepted"), 1) << strict.body;
  EXPECT_EQ(text_of(rejected_at(strict, 1), "type"), "timestamp_in_future") << strict.body;
  // f0, f2, f3, f5 = 4 events of 1 token on 2026-01-10.
  EXPECT_EQ(
      value_and_events(tenant_, "alice", "tokens", "2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z"),
      std::make_pair(std::string("4"), std::int64_t{4}));
}

TEST_P(IngestOutcomes, EventsOlderThanTheLateWindowAreRejectedUntilTheWindowIsRaised) {
  // 35 days before 2026-01-10T00:00:00Z is 2025-12-06T00:00:00Z (Jan 10 → Dec 31 is 10 days,
  // → Dec 6 another 25): that instant is accepted, one microsecond earlier is not.
  const auto response = post_events(tenant_, {call("l0", "1", "2025-12-06T00:00:00Z"),
                                              call("l1", "1", "2025-12-05T23:59:59.999999Z"),
                                              call("l2", "1", "2025-11-20T12:00:00Z")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 1) << response.body;
  for (const std::int64_t index : {1, 2}) {
    EXPECT_EQ(text_of(rejected_at(response, index), "type"), "timestamp_too_old") << response.body;
    EXPECT_EQ(text_of(rejected_at(response, index), "field"), "timestamp");
  }
  // A backfill raises the window to 90 days: 2026-01-10 − 90 d = 2025-10-12T00:00:00Z
  // (Jan 10 → Dec 1 is 40 days, → Nov 1 is 70, → Oct 12 is 90).
  patch_settings(tenant_, R"({"late_event_window_days":90})");
  const auto raised = post_events(
      tenant_,
      {call("l1", "1", "2025-12-05T23:59:59.999999Z"), call("l2", "1", "2025-11-20T12:00:00Z"),
       call("l3", "1", "2025-10-12T00:00:00Z"), call("l4", "1", "2025-10-11T23:59:59Z")});
  ASSERT_EQ(raised.status, 200) << raised.body;
  EXPECT_EQ(int_of(raised.json, "accepted"), 3) << raised.body;
  EXPECT_EQ(text_of(rejected_at(raised, 3), "type"), "timestamp_too_old") << raised.body;
  // The change of settings is audited.
  const auto audit = api().get("/v1/audit?action=tenant.updated", tenant_.key);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(member(audit.json, "data").items().size(), 1u) << audit.body;
  // The late events count where their timestamps are: l1 in [Dec 5, Dec 6), l2 on Nov 20.
  EXPECT_EQ(
      value_and_events(tenant_, "alice", "tokens", "2025-12-05T00:00:00Z", "2025-12-06T00:00:00Z"),
      std::make_pair(std::string("1"), std::int64_t{1}));
  // [Oct 1, Dec 7): l0, l1, l2, l3 = 4.
  EXPECT_EQ(
      value_and_events(tenant_, "alice", "tokens", "2025-10-01T00:00:00Z", "2025-12-07T00:00:00Z"),
      std::make_pair(std::string("4"), std::int64_t{4}));
}

TEST_P(IngestOutcomes, UnknownCustomerIsRejectedUnlessAutoCreationIsOn) {
  const auto response = post_events(tenant_, {call("u0", "1", "2026-01-05T10:00:00Z", "bob")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(text_of(rejected_at(response, 0), "type"), "unknown_customer") << response.body;
  EXPECT_EQ(text_of(rejected_at(response, 0), "field"), "customer") << response.body;
  EXPECT_EQ(api().get("/v1/customers/bob", tenant_.key).status, 404);
  EXPECT_EQ(stored_customers(tenant_), 1);  // alice

  patch_settings(tenant_, R"({"auto_create_customers":true})");
  // Two events of the new customer bob and one of carol in one batch: two customers created.
  const auto created = post_expect(tenant_,
                                   {call("u0", "1", "2026-01-05T10:00:00Z", "bob"),
                                    call("u1", "2", "2026-01-05T10:10:00Z", "bob"),
                                    call("u2", "4", "2026-01-05T10:20:00Z", "carol")},
                                   3);
  EXPECT_EQ(stored_customers(tenant_), 3);
  const auto bob = api().get("/v1/customers/bob", tenant_.key);
  ASSERT_EQ(bob.status, 200) << bob.body;
  EXPECT_EQ(bob.field("currency"), "USD");  // the tenant's
  EXPECT_EQ(bob.field("timezone"), "UTC");
  // bob: 1 + 2 = 3 over 2 events; carol: 4.
  EXPECT_EQ(tokens("bob"), std::make_pair(std::string("3"), std::int64_t{2}));
  EXPECT_EQ(tokens("carol"), std::make_pair(std::string("4"), std::int64_t{1}));
  // A later batch for bob reuses the customer.
  post_expect(tenant_, {call("u3", "8", "2026-01-05T11:00:00Z", "bob")}, 1);
  EXPECT_EQ(stored_customers(tenant_), 3);
  EXPECT_EQ(tokens("bob"), std::make_pair(std::string("11"), std::int64_t{3}));  // 3 + 8

  // Each automatic creation is audited, naming the customer created.
  const auto audit = api().get("/v1/audit?action=customer.created", tenant_.key);
  ASSERT_EQ(audit.status, 200) << audit.body;
  std::set<std::string> targets;
  for (const auto& record : member(audit.json, "data").items())
    targets.insert(text_of(record, "target"));
  EXPECT_EQ(targets.count(bob.field("id")), 1u) << audit.body;
  EXPECT_EQ(targets.count(api().get("/v1/customers/carol", tenant_.key).field("id")), 1u)
      << audit.body;
  EXPECT_EQ(targets.size(), 3u) << audit.body;  // alice (by POST /v1/customers), bob, carol
  const auto verify = api().get("/v1/audit/verify", tenant_.key);
  EXPECT_EQ(member(verify.json, "ok").as_bool(), true) << verify.body;
}

// Batches sent at the same moment that each bring the same new customers (PostgreSQL's two writers
// may both try to create them): every event is accepted, each customer is created once and
// audited once, and the audit chain stays intact.
TEST_P(IngestOutcomes, ConcurrentBatchesCreateANewCustomerOnce) {
  patch_settings(tenant_, R"({"auto_create_customers":true})");
  constexpr int kThreads = 4;
  constexpr int kCustomers = 5;
  std::latch start(kThreads);
  std::vector<std::future<TestResponse>> responses;
  for (int t = 0; t < kThreads; ++t) {
    responses.push_back(std::async(std::launch::async, [&, t] {
      std::vector<std::string> events;
      for (int c = 0; c < kCustomers; ++c) {
        events.push_back(call("t" + std::to_string(t) + "c" + std::to_string(c), "1",
                              "2026-01-05T10:00:00Z", "new" + std::to_string(c)));
      }
      start.arrive_and_wait();
      return post_events(tenant_, events);
    }));
  }
  for (auto& future : responses) {
    const auto response = future.get();
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(int_of(response.json, "accepted"), kCustomers) << response.body;
  }
  EXPECT_EQ(stored_customers(tenant_), 1 + kCustomers);  // alice and new0..new4
  for (int c = 0; c < kCustomers; ++c) {
    EXPECT_EQ(tokens("new" + std::to_string(c)),
              std::make_pair(std::to_string(kThreads), std::int64_t{kThreads}));
  }
  const auto audit = api().get("/v1/audit?action=customer.created", tenant_.key);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(member(audit.json, "data").items().size(), 1u + kCustomers) << audit.body;
  const auto verify = api().get("/v1/audit/verify", tenant_.key);
  EXPECT_EQ(member(verify.json, "ok").as_bool(), true) << verify.body;
}

// Auto-creation obeys the external_id rules of POST /v1/customers (no '/', '?', '%', '#' or
// space): otherwise the customer could never be addressed by GET /v1/customers/{external_id} or
// its usage read. The event is rejected (field customer) and no customer is created.
TEST_P(IngestOutcomes, AutoCreationRefusesExternalIdsTheCustomerApiRejects) {
  patch_settings(tenant_, R"({"auto_create_customers":true})");
  const auto response = post_events(tenant_, {call("x0", "1", "2026-01-05T10:00:00Z", "team/a"),
                                              call("x1", "1", "2026-01-05T10:00:00Z", "team a"),
                                              call("x2", "1", "2026-01-05T10:00:00Z", "team-a")});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(int_of(response.json, "accepted"), 1) << response.body;
  EXPECT_EQ(text_of(rejected_at(response, 0), "field"), "customer") << response.body;
  EXPECT_EQ(text_of(rejected_at(response, 1), "field"), "customer") << response.body;
  EXPECT_EQ(stored_customers(tenant_), 2);  // alice, team-a
}

TEST_P(IngestOutcomes, WholeBatchErrorsWriteNothing) {
  post_expect(tenant_, {call("w0", "1")}, 1);
  const auto events_before = stored_events(tenant_);

  expect_problem(api().post("/v1/events", tenant_.key, "this is not JSON"), 400,
                 "malformed-request");
  expect_problem(api().post("/v1/events", tenant_.key, R"({"events":[)"), 400, "malformed-request");
  expect_problem(api().post("/v1/events", tenant_.key, "{}"), 422, "validation-failed");
  expect_problem(api().post("/v1/events", tenant_.key, R"({"events":5})"), 422,
                 "validation-failed");
  expect_problem(api().post("/v1/events", tenant_.key, R"({"events":{"event_id":"x"}})"), 422,
                 "validation-failed");
  expect_problem(api().post("/v1/events", tenant_.key, R"([)" + call("w1", "1") + "]"), 400,
                 "malformed-request");

  // 10,001 events: 413, and none of them is written.
  std::vector<std::string> too_many;
  for (int i = 0; i < 10'001; ++i) too_many.push_back(call("big-" + std::to_string(i), "1"));
  expect_problem(post_events(tenant_, too_many), 413, "payload-too-large");

  // A key without scope ingest (read, write and operator only) may not post events.
  const Tenant limited{tenant_.id, make_key(tenant_.id, R"(["read","write","operator"])")};
  expect_problem(post_events(limited, {call("w2", "1")}), 403, "insufficient-scope");

  EXPECT_EQ(stored_events(tenant_), events_before);
  EXPECT_EQ(tokens(), std::make_pair(std::string("1"), std::int64_t{1}));

  // Exactly 10,000 events is allowed: 10,000 × 1 token (+1 from w0) = 10001.
  too_many.pop_back();
  const auto full = post_expect(tenant_, too_many, 10'000);
  EXPECT_EQ(tokens(), std::make_pair(std::string("10001"), std::int64_t{10'001}));
}

TEST_P(IngestOutcomes, IdempotencyKeyReplaysTheFirstResponse) {
  const Headers key = {{"Idempotency-Key", "batch-7"}};
  const std::vector<std::string> batch = {call("i0", "5"), call("i1", R"("abc")")};
  const auto first = post_events(tenant_, batch, key);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(int_of(first.json, "accepted"), 1) << first.body;
  EXPECT_EQ(first.header("Idempotent-Replayed"), nullptr);

  api().clock().advance(10min);
  const auto replay = post_events(tenant_, batch, key);
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, first.body);  // "accepted":1 again, not "duplicates":1
  ASSERT_NE(replay.header("Idempotent-Replayed"), nullptr);
  EXPECT_EQ(*replay.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(stored_events(tenant_), 1);
  EXPECT_EQ(tokens(), std::make_pair(std::string("5"), std::int64_t{1}));

  // The same key with another batch is refused.
  expect_problem(post_events(tenant_, {call("i2", "1")}, key), 409, "idempotency-key-reused");
  EXPECT_EQ(stored_events(tenant_), 1);
  // Another key with the same batch is a new request: i0 is a duplicate now.
  const auto fresh = post_events(tenant_, batch, {{"Idempotency-Key", "batch-8"}});
  EXPECT_EQ(int_of(fresh.json, "accepted"), 0) << fresh.body;
  EXPECT_EQ(int_of(fresh.json, "duplicates"), 1) << fresh.body;
  EXPECT_EQ(tokens(), std::make_pair(std::string("5"), std::int64_t{1}));
}

TEST_P(IngestOutcomes, AFailedBatchFreesItsIdempotencyKey) {
  const Headers key = {{"Idempotency-Key", "retry-me"}};
  expect_problem(api().post("/v1/events", tenant_.key, R"({"events":5})", key), 422,
                 "validation-failed");
  // The corrected request may use the same key.
  const auto corrected = post_events(tenant_, {call("k0", "3")}, key);
  EXPECT_EQ(corrected.status, 200) << corrected.body;
  EXPECT_EQ(int_of(corrected.json, "accepted"), 1) << corrected.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, IngestOutcomes, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::ingest_tests
