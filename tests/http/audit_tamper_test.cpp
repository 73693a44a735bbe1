// Tamper detection on the hash-chained audit trail (DESIGN.md "audit record": "hash-chained per
// tenant so tampering is detectable"). Each case tampers with the audit_records table of a fresh
// database by raw SQL and expects GET /v1/audit/verify and `neruba audit verify --tenant T --db
// URL` to report ok:false with first_broken_seq exactly the first broken record (CLI exit 1); an
// intact chain verifies with exit 0. Another tenant's chain is never affected.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "cli_run.hpp"
#include "common/crypto.hpp"
#include "http_test_support.hpp"
#include "services/audit_log.hpp"
#include "storage/audit.hpp"

namespace neruba::test::http_tests {
namespace {

class AuditTamper : public HttpTest {
 protected:
  static constexpr std::int64_t kRecords = 6;
  static constexpr std::int64_t kMiddle = 3;

  void SetUp() override {
    victim_ = make_tenant("Victim");  // seq 1 tenant.created, 2 api_key.created
    bystander_ = make_tenant("Bystander");
    for (int i = 1; i <= 4; ++i) {  // seq 3..6 customer.created
      ASSERT_EQ(create_customer(victim_, "v" + std::to_string(i)).status, 201);
      ASSERT_EQ(create_customer(bystander_, "b" + std::to_string(i)).status, 201);
    }
    ASSERT_EQ(audit_count(victim_.id), kRecords);
  }

  // Runs one statement against the victim's audit rows; `where` selects them further.
  void tamper(const std::string& set_clause, const std::string& where) {
    const auto changed =
        api().database().raw_exec("UPDATE audit_records SET " + set_clause +
                                  " WHERE tenant_id = '" + victim_.id + "' AND " + where);
    ASSERT_EQ(changed, 1) << set_clause << " WHERE " << where;
  }

  void remove(std::int64_t seq) {
    const auto changed =
        api().database().raw_exec("DELETE FROM audit_records WHERE tenant_id = '" + victim_.id +
                                  "' AND seq = " + std::to_string(seq));
    ASSERT_EQ(changed, 1);
  }

  storage::AuditRecord stored(std::int64_t seq) {
    auto tx = db().begin(storage::TxMode::read);
    const auto page = storage::audit::page(*tx, TenantId(victim_.id), seq - 1, 1);
    EXPECT_EQ(page.size(), 1u);
    return page.at(0);
  }

  CliResult cli_verify(const Tenant& tenant) {
    return run_cli("audit verify --tenant " + tenant.id + " --db '" + api().database().url() + "'");
  }

  void expect_broken_at(std::int64_t seq) {
    const auto verify = api().get("/v1/audit/verify", victim_.key);
    ASSERT_EQ(verify.status, 200) << verify.body;
    EXPECT_TRUE(member(verify.json, "ok").is_bool()) << verify.body;
    EXPECT_FALSE(member(verify.json, "ok").as_bool()) << verify.body;
    EXPECT_EQ(int_of(verify.json, "first_broken_seq"), seq) << "API: " << verify.body;

    const auto cli = cli_verify(victim_);
    EXPECT_EQ(cli.exit_code, 1) << cli.output;
    EXPECT_FALSE(member(cli.json, "ok").as_bool()) << cli.output;
    EXPECT_EQ(int_of(cli.json, "first_broken_seq"), seq) << "CLI: " << cli.output;

    expect_intact(bystander_, kRecords);
  }

  void expect_intact(const Tenant& tenant, std::int64_t records) {
    const auto verify = api().get("/v1/audit/verify", tenant.key);
    ASSERT_EQ(verify.status, 200) << verify.body;
    EXPECT_TRUE(member(verify.json, "ok").as_bool()) << verify.body;
    EXPECT_EQ(int_of(verify.json, "records"), records) << verify.body;

    const auto cli = cli_verify(tenant);
    EXPECT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_TRUE(member(cli.json, "ok").as_bool()) << cli.output;
    EXPECT_EQ(int_of(cli.json, "records"), records) << cli.output;
    EXPECT_EQ(text_of(cli.json, "head"), text_of(verify.json, "head")) << cli.output;
  }

  Tenant victim_;
  Tenant bystander_;
};

TEST_P(AuditTamper, IntactChainVerifiesAndCliExitsZero) {
  expect_intact(victim_, kRecords);
  const auto trail = audit_trail(victim_);
  ASSERT_EQ(trail.size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(text_of(cli_verify(victim_).json, "head"), text_of(trail.back(), "hash"));
}

TEST_P(AuditTamper, EditedFieldIsDetectedAtThatRecord) {
  tamper("target = 'cus_forged'", "seq = " + std::to_string(kMiddle));
  expect_broken_at(kMiddle);
}

TEST_P(AuditTamper, EditedActorIsDetectedAtThatRecord) {
  tamper("actor_name = 'someone else'", "seq = 4");
  expect_broken_at(4);
}

TEST_P(AuditTamper, EditedAfterStateIsDetectedAtThatRecord) {
  tamper("after_json = '{\"forged\":true}'", "seq = 5");
  expect_broken_at(5);
}

TEST_P(AuditTamper, EditedFirstRecordIsDetectedAtSeqOne) {
  tamper("action = 'tenant.deleted'", "seq = 1");
  expect_broken_at(1);
}

TEST_P(AuditTamper, DeletedMiddleRecordIsDetectedAtItsSeq) {
  remove(kMiddle);
  expect_broken_at(kMiddle);
}

TEST_P(AuditTamper, DeletedNewestRecordIsDetected) {
  remove(kRecords);
  expect_broken_at(kRecords);
}

TEST_P(AuditTamper, SwappedSeqOfTwoRecordsIsDetectedAtTheFirst) {
  tamper("seq = -1", "seq = " + std::to_string(kMiddle));
  tamper("seq = " + std::to_string(kMiddle), "seq = " + std::to_string(kMiddle + 1));
  tamper("seq = " + std::to_string(kMiddle + 1), "seq = -1");
  expect_broken_at(kMiddle);
}

TEST_P(AuditTamper, SwappedNonAdjacentRecordsAreDetectedAtTheFirst) {
  tamper("seq = -1", "seq = 2");
  tamper("seq = 2", "seq = 5");
  tamper("seq = 5", "seq = -1");
  expect_broken_at(2);
}

TEST_P(AuditTamper, ReplacedHashWithAWellFormedOneIsDetectedAtThatRecord) {
  const std::string forged = crypto::sha256_hex("forged record");
  tamper("hash = '" + forged + "'", "seq = " + std::to_string(kMiddle));
  expect_broken_at(kMiddle);
}

// Regression (was a bug, fixed): an attacker who edits record k and recomputes its hash (the scheme
// is no secret) makes record k self-consistent; verify then blames record k+1 (whose prev_hash no
// longer matches) although k+1 is intact and k is the first broken record.
TEST_P(AuditTamper, EditedRecordWithRecomputedHashIsDetectedAtThatRecord) {
  storage::AuditRecord record = stored(kMiddle);
  record.target = "cus_forged";
  const std::string rehashed = services::audit::record_hash(record);
  tamper("target = 'cus_forged', hash = '" + rehashed + "'", "seq = " + std::to_string(kMiddle));
  expect_broken_at(kMiddle);
}

TEST_P(AuditTamper, EditedNewestRecordWithRecomputedHashIsDetected) {
  storage::AuditRecord record = stored(kRecords);
  record.target = "cus_forged";
  const std::string rehashed = services::audit::record_hash(record);
  tamper("target = 'cus_forged', hash = '" + rehashed + "'", "seq = " + std::to_string(kRecords));
  expect_broken_at(kRecords);
}

// Regression (was a bug, fixed): a forged record appended after the newest one, correctly chained
// to it, passes verification (ok:true, records:n+1) although the tenant's recorded chain head still
// says n.
TEST_P(AuditTamper, ForgedRecordAppendedAfterTheHeadIsDetected) {
  storage::AuditRecord forged = stored(kRecords);
  forged.seq = kRecords + 1;
  forged.id = AuditRecordId("aud_forgedforgedforged01");
  forged.action = "customer.deleted";
  forged.prev_hash = forged.hash;
  forged.hash = services::audit::record_hash(forged);
  {
    auto tx = db().begin(storage::TxMode::write);
    storage::audit::insert(*tx, forged);
    tx->commit();
  }
  expect_broken_at(kRecords + 1);
}

TEST_P(AuditTamper, NewWritesAfterTamperingDoNotHealTheChain) {
  tamper("target = 'cus_forged'", "seq = " + std::to_string(kMiddle));
  ASSERT_EQ(create_customer(victim_, "after-the-fact").status, 201);
  expect_broken_at(kMiddle);
}

TEST_P(AuditTamper, CliRefusesAMissingTenantArgument) {
  const auto cli = run_cli("audit verify --db '" + api().database().url() + "'");
  EXPECT_NE(cli.exit_code, 0) << cli.output;
  EXPECT_NE(cli.exit_code, 1) << "exit 1 means a broken chain, not a usage error: " << cli.output;
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTamper, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
