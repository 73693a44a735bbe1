// Storage conformance for the set-based reads a billing run makes per chunk of customers (issue
// 17), on every backend: customers listed and locked after a cursor, the invoices and the
// subscriptions (with phases) of a customer id range, and invoices found by many ids (with their
// lines) across more ids than one statement's IN list holds. Each is checked against what the
// one-at-a-time reads return, and never shows another tenant's rows.
#include <gtest/gtest.h>

#include <future>

#include "domain/time.hpp"
#include "storage/customers.hpp"
#include "storage/invoices.hpp"
#include "storage/sql_util.hpp"
#include "storage/subscriptions.hpp"
#include "storage/tenants.hpp"
#include "support/lock_waiters.hpp"
#include "support/test_db.hpp"

namespace neruba::storage {
namespace {

using test::Backend;
using test::TestDatabase;

Instant at(const char* text) { return *domain::parse_rfc3339(text); }

const TenantId kTenant("ten_a");
const TenantId kOther("ten_b");

std::string customer_id(int i) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "cus_%03d", i);
  return buffer;
}

InvoiceRecord invoice(const TenantId& tenant, const std::string& customer, const char* instant,
                      int lines) {
  const Instant billed = at(instant);
  InvoiceRecord out{tenant,
                    "inv_" + customer.substr(4) + "_" + std::string(instant).substr(0, 7),
                    CustomerId(customer),
                    billed,
                    *domain::Currency::of("EUR"),
                    InvoiceStatus::draft,
                    std::nullopt,
                    billed - std::chrono::hours(24 * 28),
                    billed,
                    0,
                    0,
                    0,
                    0,
                    billed,
                    billed,
                    std::nullopt,
                    std::nullopt,
                    std::nullopt,
                    std::string("run_1"),
                    {}};
  for (int i = 0; i < lines; ++i) {
    out.lines.push_back(InvoiceLineRecord{
        "il_" + out.id + "_" + std::to_string(i), std::string("sub_1"), std::nullopt, "usage",
        "API calls " + std::to_string(i), std::string("api_calls"), std::to_string(10 * i + 1),
        std::string("0.5"), 5 * i + 1, out.period_start, out.period_end,
        "{\"i\":" + std::to_string(i) + "}", std::string(64, 'a' + static_cast<char>(i % 6))});
    out.subtotal_minor += 5 * i + 1;
  }
  out.total_minor = out.subtotal_minor;
  return out;
}

class ChunkReads : public ::testing::TestWithParam<Backend> {
 protected:
  ChunkReads() : database_(GetParam()) {}

  std::unique_ptr<Tx> write() { return database_.db().begin(TxMode::write); }

  // Tenants ten_a and ten_b, each with customers cus_000 … cus_{count-1}.
  void customers(int count) {
    auto tx = write();
    for (const TenantId& tenant : {kTenant, kOther}) {
      ASSERT_TRUE(
          tenants::insert(*tx, TenantRecord{tenant, "Tenant", *domain::Currency::of("EUR"), "UTC",
                                            json::Value::object(), at("2026-01-01T00:00:00Z")}));
      for (int i = 0; i < count; ++i) {
        ASSERT_TRUE(customers::insert(
            *tx, CustomerRecord{tenant, CustomerId(customer_id(i)), "ext_" + customer_id(i),
                                "Customer", *domain::Currency::of("EUR"), "UTC",
                                json::Value::object(), at("2026-01-02T00:00:00Z")}));
      }
    }
    tx->commit();
  }

  TestDatabase database_;
};

std::vector<std::string> ids_of(const std::vector<CustomerRecord>& customers) {
  std::vector<std::string> out;
  for (const auto& c : customers) out.push_back(c.id.str());
  return out;
}

TEST_P(ChunkReads, CustomersAreListedAndFoundByIdWithinTheirTenant) {
  customers(5);
  auto tx = write();
  EXPECT_EQ(ids_of(customers::lock_by_id_after(*tx, kTenant, CustomerId("cus_001"), 2)),
            (std::vector<std::string>{"cus_002", "cus_003"}));
  EXPECT_EQ(ids_of(customers::lock_by_id_after(*tx, kTenant, CustomerId("cus_003"), 10)),
            (std::vector<std::string>{"cus_004"}));
  EXPECT_TRUE(customers::lock_by_id_after(*tx, TenantId("ten_c"), CustomerId(""), 10).empty());
  const std::vector<CustomerId> wanted{CustomerId("cus_004"), CustomerId("cus_000"),
                                       CustomerId("cus_999")};
  const auto found = customers::find_many(*tx, kTenant, wanted);
  ASSERT_EQ(found.size(), 2u);  // cus_999 is no customer
  EXPECT_EQ(found.at(CustomerId("cus_000")).external_id, "ext_cus_000");
  EXPECT_EQ(found.at(CustomerId("cus_004")).tenant, kTenant);
  EXPECT_TRUE(customers::find_many(*tx, TenantId("ten_c"), wanted).empty());
}

// The chunk's rows stay locked for its transaction: a customer's money movement (which locks
// the customer's row first) waits for the billing chunk, then goes on.
TEST_P(ChunkReads, ALockedChunkHoldsBackAWriterOfOneOfItsCustomers) {
  if (GetParam() == Backend::sqlite) GTEST_SKIP() << "SQLite's one writer holds the database";
  customers(3);
  auto chunk = write();
  ASSERT_EQ(customers::lock_by_id_after(*chunk, kTenant, CustomerId(""), 10).size(), 3u);
  auto payment = std::async(std::launch::async, [&] {
    auto tx = write();
    const auto customer = customers::find_for_update(*tx, kTenant, CustomerId("cus_001"));
    tx->commit();
    return customer.has_value();
  });
  EXPECT_EQ(test::wait_for_transaction_waiters(*chunk, 1), 1) << "the writer did not wait";
  EXPECT_EQ(payment.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  chunk->commit();
  EXPECT_TRUE(payment.get());
}

TEST_P(ChunkReads, InvoicesOfACustomerRangeComeByCustomerAndInstant) {
  customers(4);
  {
    auto tx = write();
    std::vector<InvoiceRecord> all;
    for (int c = 0; c < 4; ++c) {
      for (const char* month : {"2026-03-01T00:00:00Z", "2026-02-01T00:00:00Z"}) {
        all.push_back(invoice(kTenant, customer_id(c), month, 1));
      }
    }
    all.push_back(invoice(kOther, customer_id(1), "2026-02-01T00:00:00Z", 1));
    ASSERT_EQ(invoices::insert_many(*tx, all), static_cast<std::int64_t>(all.size()));
    tx->commit();
  }
  auto tx = write();
  const auto listed =
      invoices::of_customers_between(*tx, kTenant, CustomerId("cus_001"), CustomerId("cus_002"),
                                     Instant::min(), at("2026-03-01T00:00:00Z"));
  std::vector<std::string> ids;
  for (const auto& i : listed) ids.push_back(i.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"inv_001_2026-02", "inv_001_2026-03", "inv_002_2026-02",
                                           "inv_002_2026-03"}));
  // The instant bounds hold as of_customer_between's do: [from, to].
  const auto february =
      invoices::of_customers_between(*tx, kTenant, CustomerId("cus_000"), CustomerId("cus_003"),
                                     at("2026-02-01T00:00:00Z"), at("2026-02-28T00:00:00Z"));
  EXPECT_EQ(february.size(), 4u);
  for (int c = 0; c < 4; ++c) {
    const auto one =
        invoices::of_customer_between(*tx, kTenant, CustomerId(customer_id(c)),
                                      at("2026-02-01T00:00:00Z"), at("2026-02-28T00:00:00Z"));
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].id, february[static_cast<std::size_t>(c)].id);
    EXPECT_EQ(one[0].total_minor, february[static_cast<std::size_t>(c)].total_minor);
  }
  EXPECT_EQ(invoices::of_customers_between(*tx, kOther, CustomerId("cus_000"),
                                           CustomerId("cus_003"), Instant::min(), Instant::max())
                .size(),
            1u);
}

// More ids than one IN list holds, in an order of their own, with ids no invoice has and one id
// asked twice: the invoices come in the order asked, each once, with the lines find reads.
TEST_P(ChunkReads, InvoicesFoundByManyIdsKeepTheOrderAskedWithTheirLines) {
  const int count = static_cast<int>(sql::in_chunk) + 40;
  customers(count);
  std::vector<InvoiceRecord> all;
  {
    auto tx = write();
    for (int c = 0; c < count; ++c) {
      all.push_back(invoice(kTenant, customer_id(c), "2026-02-01T00:00:00Z", c % 3));
    }
    ASSERT_EQ(invoices::insert_many(*tx, all), count);
    tx->commit();
  }
  std::vector<std::string> asked;
  for (int c = count - 1; c >= 0; --c) asked.push_back(all[static_cast<std::size_t>(c)].id);
  asked.insert(asked.begin() + 3, "inv_missing");
  asked.push_back(all[5].id);  // again
  auto tx = write();
  const auto found = invoices::find_many(*tx, kTenant, asked);
  ASSERT_EQ(found.size(), static_cast<std::size_t>(count));
  for (int k = 0; k < count; ++k) {
    const InvoiceRecord& expected = all[static_cast<std::size_t>(count - 1 - k)];
    const InvoiceRecord& got = found[static_cast<std::size_t>(k)];
    EXPECT_EQ(got.id, expected.id);
    EXPECT_EQ(got.lines, expected.lines) << got.id;
    EXPECT_EQ(got.lines, invoices::find(*tx, kTenant, got.id)->lines) << got.id;
  }
  EXPECT_TRUE(invoices::find_many(*tx, kOther, asked).empty());
}

TEST_P(ChunkReads, SubscriptionsOfACustomerRangeComeWithTheirPhases) {
  customers(4);
  const Instant t1 = at("2026-01-15T09:00:00Z");
  const Instant t2 = at("2026-02-15T09:00:00Z");
  {
    auto tx = write();
    for (const TenantId& tenant : {kTenant, kOther}) {
      for (int c = 0; c < 4; ++c) {
        for (int s = 0; s < c % 3; ++s) {  // cus_000 and cus_003 have none
          SubscriptionRecord subscription{
              tenant,
              "sub_" + std::to_string(c) + "_" + std::to_string(s),
              CustomerId(customer_id(c)),
              t1,
              std::nullopt,
              std::nullopt,
              t1,
              {SubscriptionPhase{t1, "basic", 1 + s, t1, ChangeProration::prorate, t1}}};
          ASSERT_TRUE(subscriptions::insert(*tx, subscription));
          if (s == 1) {
            ASSERT_TRUE(subscriptions::add_phase(
                *tx, tenant, subscription.id,
                SubscriptionPhase{t2, "pro", 7, t2, ChangeProration::none, t2}));
          }
        }
      }
    }
    tx->commit();
  }
  auto tx = write();
  const auto range = subscriptions::of_customers_between(*tx, kTenant, CustomerId("cus_000"),
                                                         CustomerId("cus_002"));
  std::vector<std::string> ids;
  for (const auto& s : range) ids.push_back(s.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"sub_1_0", "sub_2_0", "sub_2_1"}));
  for (const auto& s : range) {
    const auto one = subscriptions::find(*tx, kTenant, s.id);
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(s.customer, one->customer);
    ASSERT_EQ(s.phases.size(), one->phases.size()) << s.id;
    for (std::size_t p = 0; p < s.phases.size(); ++p) {
      EXPECT_EQ(s.phases[p].plan_code, one->phases[p].plan_code);
      EXPECT_EQ(s.phases[p].seats, one->phases[p].seats);
      EXPECT_EQ(s.phases[p].effective_from, one->phases[p].effective_from);
      EXPECT_EQ(s.phases[p].proration, one->phases[p].proration);
    }
  }
  ASSERT_EQ(range[2].phases.size(), 2u);  // sub_2_1 was upgraded to pro, 7 seats
  EXPECT_EQ(range[2].phases[1].seats, 7);
  EXPECT_TRUE(subscriptions::of_customers_between(*tx, TenantId("ten_c"), CustomerId(""),
                                                  CustomerId("cus_999"))
                  .empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ChunkReads, ::testing::ValuesIn(test::test_backends()),
                         test::backend_name);

}  // namespace
}  // namespace neruba::storage
