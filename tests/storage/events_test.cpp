// Storage conformance of event inserts: events::insert stores each new (tenant, event_id) once and
// reports which rows went in, the same on every backend and for batches of every size (PostgreSQL
// copies batches from limits::ingest_postgres_copy_events_min events, and inserts smaller ones by
// statement).
#include <gtest/gtest.h>

#include "domain/time.hpp"

#include <map>
#include <string>
#include <vector>

#include "common/limits.hpp"
#include "storage/events.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace {

using test::Backend;
using test::TestDatabase;

const TenantId kTenant("ten_events");
const TenantId kOther("ten_other");
const Instant kAt = domain::from_unix_micros(1'767'603'600'000'000);  // 2026-01-05T09:00:00Z

// The text an event row is made of, kept alive while NewEvent views it.
struct EventText {
  std::string id;
  std::string properties;
  std::string hash;
};

class EventInserts : public ::testing::TestWithParam<Backend> {
 protected:
  EventInserts() : database_(GetParam()) {}

  // Events `first`..`first + count - 1`, in `version` (a different version is different content).
  static std::vector<EventText> texts(int first, int count, const std::string& version = "v1") {
    std::vector<EventText> out;
    for (int i = first; i < first + count; ++i) {
      out.push_back(
          EventText{"evt_" + std::to_string(i),
                    R"({"n":)" + std::to_string(i) + R"(,"note":"tab\tquote\" back\\slash é"})",
                    version + "_hash_" + std::to_string(i)});
    }
    return out;
  }

  std::vector<bool> insert(const TenantId& tenant, const std::vector<EventText>& events) {
    std::vector<NewEvent> rows;
    for (std::size_t i = 0; i < events.size(); ++i) {
      rows.push_back(NewEvent{events[i].id, "cus_1", "api_call", kAt + std::chrono::microseconds(i),
                              events[i].properties, events[i].hash, kAt + std::chrono::seconds(1)});
    }
    auto tx = database_.db().begin(TxMode::write);
    auto inserted = events::insert(*tx, tenant, rows);
    tx->commit();
    return inserted;
  }

  // event_id → stored content hash, of the tenant.
  std::map<std::string, std::string> stored(const TenantId& tenant, int first, int count) {
    std::vector<std::string> ids;
    for (int i = first; i < first + count; ++i) ids.push_back("evt_" + std::to_string(i));
    auto tx = database_.db().begin(TxMode::read);
    std::map<std::string, std::string> out;
    for (auto& [id, hash] : events::existing_hashes(*tx, tenant, ids)) out.emplace(id, hash);
    return out;
  }

  std::int64_t count(const TenantId& tenant) {
    auto tx = database_.db().begin(TxMode::read);
    return tx->query("SELECT COUNT(*) FROM events WHERE tenant_id = $1", {tenant.str()})
        .at(0)
        .integer(0);
  }

  TestDatabase database_;
};

constexpr int kLarge = static_cast<int>(limits::ingest_postgres_copy_events_min) + 100;
constexpr int kSmall = static_cast<int>(limits::ingest_postgres_copy_events_min) / 5;

TEST_P(EventInserts, ANewLargeBatchGoesInWholeAndReadsBackExactly) {
  const auto events = texts(0, kLarge);
  const auto inserted = insert(kTenant, events);
  ASSERT_EQ(inserted.size(), events.size());
  for (std::size_t i = 0; i < inserted.size(); ++i) EXPECT_TRUE(inserted[i]) << i;
  EXPECT_EQ(count(kTenant), kLarge);
  auto tx = database_.db().begin(TxMode::read);
  const auto back = events::range(*tx, kTenant, "cus_1", "api_call", kAt,
                                  kAt + std::chrono::microseconds(kLarge));
  ASSERT_EQ(back.size(), events.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].event_id, events[i].id);
    EXPECT_EQ(back[i].properties, events[i].properties);
    EXPECT_EQ(back[i].content_hash, events[i].hash);
    EXPECT_EQ(back[i].occurred_at, kAt + std::chrono::microseconds(i));
    EXPECT_EQ(back[i].received_at, kAt + std::chrono::seconds(1));
  }
}

TEST_P(EventInserts, AResentLargeBatchReportsEachStoredIdAndKeepsTheFirst) {
  ASSERT_EQ(insert(kTenant, texts(0, kLarge)), std::vector<bool>(kLarge, true));
  std::vector<EventText> mixed;
  const auto resent = texts(0, kLarge, "v2");
  const auto fresh = texts(kLarge, kLarge, "v2");
  for (int i = 0; i < kLarge; ++i) {
    mixed.push_back(resent[static_cast<std::size_t>(i)]);
    mixed.push_back(fresh[static_cast<std::size_t>(i)]);
  }
  const auto inserted = insert(kTenant, mixed);
  // Row 2i is evt_i (stored before, now in other content), row 2i+1 is evt_(kLarge+i) (new).
  ASSERT_EQ(inserted.size(), mixed.size());
  for (std::size_t i = 0; i < inserted.size(); ++i) EXPECT_EQ(inserted[i], i % 2 == 1) << i;
  EXPECT_EQ(count(kTenant), 2 * kLarge);
  const auto hashes = stored(kTenant, 0, 2 * kLarge);
  EXPECT_EQ(hashes.at("evt_0"), "v1_hash_0");
  EXPECT_EQ(hashes.at("evt_" + std::to_string(kLarge - 1)),
            "v1_hash_" + std::to_string(kLarge - 1));
  EXPECT_EQ(hashes.at("evt_" + std::to_string(kLarge)), "v2_hash_" + std::to_string(kLarge));
  // Sent again whole: nothing goes in.
  EXPECT_EQ(insert(kTenant, mixed), std::vector<bool>(mixed.size(), false));
  EXPECT_EQ(count(kTenant), 2 * kLarge);
}

TEST_P(EventInserts, ASmallBatchReportsResendsTheSameWay) {
  ASSERT_EQ(insert(kTenant, texts(0, kSmall)), std::vector<bool>(kSmall, true));
  auto mixed = texts(kSmall - 3, 6, "v2");  // 3 stored, 3 new
  EXPECT_EQ(insert(kTenant, mixed), (std::vector<bool>{false, false, false, true, true, true}));
  EXPECT_EQ(count(kTenant), kSmall + 3);
  EXPECT_EQ(stored(kTenant, kSmall - 1, 1).at("evt_" + std::to_string(kSmall - 1)),
            "v1_hash_" + std::to_string(kSmall - 1));
}

TEST_P(EventInserts, TenantsUseTheSameEventIdsIndependently) {
  ASSERT_EQ(insert(kTenant, texts(0, kLarge)), std::vector<bool>(kLarge, true));
  EXPECT_EQ(insert(kOther, texts(0, kLarge, "v2")), std::vector<bool>(kLarge, true));
  EXPECT_EQ(count(kTenant), kLarge);
  EXPECT_EQ(count(kOther), kLarge);
  EXPECT_EQ(stored(kOther, 7, 1).at("evt_7"), "v2_hash_7");
  EXPECT_EQ(stored(kTenant, 7, 1).at("evt_7"), "v1_hash_7");
}

// A failed COPY is undone to its savepoint only: what the transaction wrote before it stays.
TEST_P(EventInserts, AResentBatchLeavesTheRestOfItsTransactionIntact) {
  ASSERT_EQ(insert(kTenant, texts(0, kLarge)), std::vector<bool>(kLarge, true));
  const auto before = texts(10'000, kLarge);
  const auto resent = texts(0, kLarge, "v2");
  const auto after = texts(20'000, kLarge);
  auto tx = database_.db().begin(TxMode::write);
  for (const auto* batch : {&before, &resent, &after}) {
    std::vector<NewEvent> rows;
    for (const auto& e : *batch) {
      rows.push_back(NewEvent{e.id, "cus_1", "api_call", kAt, e.properties, e.hash, kAt});
    }
    const bool fresh = batch != &resent;
    EXPECT_EQ(events::insert(*tx, kTenant, rows), std::vector<bool>(rows.size(), fresh));
  }
  tx->commit();
  EXPECT_EQ(count(kTenant), 3 * kLarge);
}

INSTANTIATE_TEST_SUITE_P(Backends, EventInserts, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);

}  // namespace
}  // namespace neruba::storage
