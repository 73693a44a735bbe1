#pragma once
// A small tenant whose billing is computed by hand, and the checks that a billing run created
// every invoice, ledger transaction and audit record exactly once (issue 17, "Idempotent and
// lock-aware"). Shared by the billing run suites of tests/http.
//
// The world (clock 2026-01-05T10:00:00Z while it is made):
//   plan basic: 30.00 a month in advance, 10.00 a seat, tokens graduated 0.01 up to 1,000 then
//   0.005; c1 and c2 subscribe from 2026-01-01 with one seat, c3 has no subscription.
//   c1: a prepaid grant of 15.00; 1,500 tokens on 01-05; a one-off charge of 7.25 ("setup").
//   c2: a promotional grant of 50.00 expiring 03-01; a prepaid grant of 5.00 expiring 01-20.
//   c3: a one-off charge of 12.00 ("consulting").
// Billed at 2026-02-01T01:00:00Z, finalizing (no grace period):
//   c1 @01-01: 30.00 + 10.00 = 40.00; the prepaid 15.00 drawn; 25.00 due.
//   c1 @02-01: tokens 1,000 × 0.01 + 500 × 0.005 = 12.50, 30.00, 10.00, and the charge of 7.25
//              made on 01-05 (the first invoice at or after it): 59.75, nothing left to draw.
//   c2: the 5.00 grant expired on 01-20 before any run: it leaves as breakage first.
//   c2 @01-01: 40.00, all drawn from the promotional 50.00: paid.
//   c2 @02-01: 40.00, the promotional grant's last 10.00 drawn: 30.00 due.
//   c3 @02-01T01:00 (as_of: no subscription will bill c3 again): 12.00 due.
// Ledger: 3 grants (before the run); 1 expiry, 5 finalizations, 3 draws. Audit: 1
// credit_grant.expired, 5 invoice.finalized, and one billing_run.completed per recorded run.
// Billed as of the same instant by a process on the real clock (`neruba bill-run`, on or after
// 2026-03-01), the promotional grant has expired too before any draw: c2 owes both its invoices
// whole, and the promotional 50.00 leaves by reversing its expense.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "domain/time.hpp"
#include "http_test_support.hpp"
#include "services/audit_log.hpp"
#include "services/billing/billing.hpp"
#include "services/billing/ledger.hpp"
#include "storage/ledger.hpp"

namespace neruba::test::http_tests {

inline constexpr const char* kBasicPlan =
    R"({"code":"basic","name":"Basic","currency":"USD","interval":"month",)"
    R"("effective_from":"2025-01-01T00:00:00Z","charges":[)"
    R"({"type":"recurring","amount":"30.00","timing":"advance"},)"
    R"({"type":"seat","unit_price":"10.00"},)"
    R"({"type":"usage","meter":"tokens","model":"graduated","tiers":[)"
    R"({"up_to":"1000","unit_price":"0.01"},{"up_to":null,"unit_price":"0.005"}]}]})";

inline constexpr const char* kWorldStart = "2026-01-05T10:00:00Z";
inline constexpr const char* kWorldRun = "2026-02-01T01:00:00Z";

inline Instant instant(const char* text) { return *domain::parse_rfc3339(text); }

// The ids a world's checks need.
struct World {
  Tenant tenant;
  std::map<std::string, std::string> customers;  // external id → cus_…
  std::string c1_prepaid;                        // grt_… of c1's 15.00
  std::string c2_promotional;                    // 50.00, expiring 03-01
  std::string c2_expiring;                       // 5.00, expiring 01-20
};

// What billing the world must leave, by hand (see above).
struct WorldOutcome {
  std::vector<std::string> invoices;  // "customer instant status total credits due", sorted
  std::vector<std::string> drawn;     // the invoices ("customer instant") that drew credit
  std::vector<std::string> expired;   // the grants that expired: c2_expiring, c2_promotional
  std::string promotions_expense;
  std::string c2_receivable;
};

// Billed at kWorldRun on the test clock.
inline WorldOutcome billed_at_run() {
  return {{"c1 2026-01-01T00:00:00Z finalized total=40.00 credits=15.00 due=25.00",
           "c1 2026-02-01T00:00:00Z finalized total=59.75 credits=0.00 due=59.75",
           "c2 2026-01-01T00:00:00Z paid total=40.00 credits=40.00 due=0.00",
           "c2 2026-02-01T00:00:00Z finalized total=40.00 credits=10.00 due=30.00",
           "c3 2026-02-01T01:00:00Z finalized total=12.00 credits=0.00 due=12.00"},
          {"c1 2026-01-01T00:00:00Z", "c2 2026-01-01T00:00:00Z", "c2 2026-02-01T00:00:00Z"},
          {"c2_expiring"},
          "50.00",
          "30.00"};
}

// Billed as of kWorldRun by a process whose clock is past 2026-03-01.
inline WorldOutcome billed_after_expiry() {
  return {{"c1 2026-01-01T00:00:00Z finalized total=40.00 credits=15.00 due=25.00",
           "c1 2026-02-01T00:00:00Z finalized total=59.75 credits=0.00 due=59.75",
           "c2 2026-01-01T00:00:00Z finalized total=40.00 credits=0.00 due=40.00",
           "c2 2026-02-01T00:00:00Z finalized total=40.00 credits=0.00 due=40.00",
           "c3 2026-02-01T01:00:00Z finalized total=12.00 credits=0.00 due=12.00"},
          {"c1 2026-01-01T00:00:00Z"},
          {"c2_expiring", "c2_promotional"},
          "0.00",
          "80.00"};
}

class BillingRunTest : public HttpTest {
 protected:
  // Makes the world above for a new tenant (moves the clock to kWorldStart).
  World make_world(const std::string& name) {
    api().clock().set(instant(kWorldStart));
    World world;
    world.tenant = make_tenant(name);
    const Tenant& t = world.tenant;
    expect_created(api().post(
        "/v1/meters", t.key,
        R"({"code":"tokens","event_type":"completion","aggregation":"sum","field":"n"})"));
    expect_created(api().post("/v1/plans", t.key, kBasicPlan));
    for (const char* id : {"c1", "c2", "c3"}) {
      const auto customer =
          api().post("/v1/customers", t.key,
                     std::string(R"({"external_id":")") + id + R"(","name":"X","currency":"USD"})");
      expect_created(customer);
      world.customers[id] = customer.field("id");
    }
    for (const char* id : {"c1", "c2"}) {
      expect_created(api().post("/v1/subscriptions", t.key,
                                std::string(R"({"customer":")") + id +
                                    R"(","plan":"basic","start":"2026-01-01T00:00:00Z"})"));
    }
    world.c1_prepaid = grant(t, R"({"customer":"c1","amount":"15.00","currency":"USD",)"
                                R"("kind":"prepaid"})");
    world.c2_promotional = grant(t, R"({"customer":"c2","amount":"50.00","currency":"USD",)"
                                    R"("kind":"promotional","expires_at":"2026-03-01T00:00:00Z"})");
    world.c2_expiring = grant(t, R"({"customer":"c2","amount":"5.00","currency":"USD",)"
                                 R"("kind":"prepaid","expires_at":"2026-01-20T00:00:00Z"})");
    const auto sent = api().post("/v1/events", t.key,
                                 R"({"events":[{"event_id":"t1","customer":"c1",)"
                                 R"("type":"completion","timestamp":"2026-01-05T09:30:00Z",)"
                                 R"("properties":{"n":1500}}]})");
    EXPECT_EQ(sent.status, 200) << sent.body;
    expect_created(api().post("/v1/charges", t.key,
                              R"({"customer":"c1","charge_key":"setup","amount":"7.25",)"
                              R"("currency":"USD","description":"Setup fee"})"));
    expect_created(api().post("/v1/charges", t.key,
                              R"({"customer":"c3","charge_key":"consulting","amount":"12.00",)"
                              R"("currency":"USD","description":"Consulting"})"));
    return world;
  }

  static void expect_created(const TestResponse& response) {
    EXPECT_EQ(response.status, 201) << response.body;
  }

  std::string grant(const Tenant& tenant, const std::string& body) {
    const auto created = api().post("/v1/credit-grants", tenant.key, body);
    expect_created(created);
    return created.field("id");
  }

  // A customer "big" whose invoice cannot be billed: two one-off charges of 5 × 10^16 USD each,
  // whose sum, 10^19 cents, is more than a ledger amount holds (2^63 − 1).
  void add_unbillable_customer(const World& world) {
    expect_created(api().post("/v1/customers", world.tenant.key,
                              R"({"external_id":"big","name":"X","currency":"USD"})"));
    for (const char* key : {"a", "b"}) {
      expect_created(api().post("/v1/charges", world.tenant.key,
                                std::string(R"({"customer":"big","charge_key":")") + key +
                                    R"(","amount":"50000000000000000.00","currency":"USD",)"
                                    R"("description":"Too much"})"));
    }
  }

  // A context for calling the billing service directly, as `neruba bill-run` does: the platform
  // acting on `tenant`, at the test clock's now.
  services::RequestContext service_context(const std::string& tenant_id) {
    return services::platform_context(TenantId(tenant_id), "billing run test", api().clock().now(),
                                      api().api().ids());
  }

  // --- what is stored ---------------------------------------------------------------------------

  std::map<std::string, std::string> external_ids(const std::string& tenant_id) {
    std::map<std::string, std::string> out;
    for (const auto& row : query("SELECT customer_id, external_id FROM customers WHERE tenant_id "
                                 "= $1",
                                 {tenant_id})) {
      out[row.text(0)] = row.text(1);
    }
    return out;
  }

  // Every invoice of the tenant as "customer instant status total credits due", sorted.
  std::vector<std::string> invoices(const std::string& tenant_id) {
    const auto names = external_ids(tenant_id);
    std::vector<std::string> out;
    for (const auto& row :
         query("SELECT customer_id, billing_instant, status, total, credits_applied, amount_paid "
               "FROM invoices WHERE tenant_id = $1",
               {tenant_id})) {
      const auto usd = *domain::Currency::of("USD");
      const auto money = [&](std::int64_t minor) {
        return domain::from_minor_units(minor, usd).to_string();
      };
      out.push_back(names.at(row.text(0)) + " " +
                    domain::format_rfc3339(domain::from_unix_micros(row.integer(1))) + " " +
                    row.text(2) + " total=" + money(row.integer(3)) +
                    " credits=" + money(row.integer(4)) +
                    " due=" + money(row.integer(3) - row.integer(4) - row.integer(5)));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The invoice ids of the tenant by "customer instant".
  std::map<std::string, std::string> invoice_ids(const std::string& tenant_id) {
    const auto names = external_ids(tenant_id);
    std::map<std::string, std::string> out;
    for (const auto& row :
         query("SELECT customer_id, billing_instant, invoice_id FROM invoices WHERE tenant_id = $1",
               {tenant_id})) {
      out[names.at(row.text(0)) + " " +
          domain::format_rfc3339(domain::from_unix_micros(row.integer(1)))] = row.text(2);
    }
    return out;
  }

  // The causes of the tenant's ledger transactions of `kind`, sorted (duplicates kept).
  std::vector<std::string> ledger_causes(const std::string& tenant_id, const std::string& kind) {
    std::vector<std::string> out;
    for (const auto& row : query("SELECT cause FROM ledger_transactions WHERE tenant_id = $1 AND "
                                 "kind = $2",
                                 {tenant_id, kind})) {
      out.push_back(row.text(0));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The targets of the tenant's audit records of `action`, sorted (duplicates kept).
  std::vector<std::string> audit_targets(const std::string& tenant_id, const std::string& action) {
    std::vector<std::string> out;
    for (const auto& row :
         query("SELECT target FROM audit_records WHERE tenant_id = $1 AND action = $2",
               {tenant_id, action})) {
      out.push_back(row.text(0));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::string> run_ids(const std::string& tenant_id) {
    std::vector<std::string> out;
    for (const auto& row :
         query("SELECT run_id FROM billing_runs WHERE tenant_id = $1", {tenant_id})) {
      out.push_back(row.text(0));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The finalized numbers of the tenant, ascending.
  std::vector<std::int64_t> numbers(const std::string& tenant_id) {
    std::vector<std::int64_t> out;
    for (const auto& row : query("SELECT number FROM invoices WHERE tenant_id = $1 AND number IS "
                                 "NOT NULL ORDER BY number",
                                 {tenant_id})) {
      out.push_back(row.integer(0));
    }
    return out;
  }

  // The balance of an account on its normal side ("40.00"); "none" when it has no entries.
  std::string balance_of(const std::string& tenant_id, domain::ledger::AccountKind kind,
                         const std::optional<std::string>& customer) {
    auto tx = db().begin(storage::TxMode::read);
    const domain::ledger::Account account{kind, "USD", customer};
    const auto found = storage::ledger::balance(*tx, TenantId(tenant_id), account);
    if (!found) return "none";
    const auto usd = *domain::Currency::of("USD");
    return domain::ledger::balance_of(kind, domain::from_minor_units(found->debits_minor, usd),
                                      domain::from_minor_units(found->credits_minor, usd))
        ->to_string();
  }

  // How each table's rows changed from one fingerprint (HttpTest::fingerprint) to another:
  // "table +added -removed" for every table that changed, in table order.
  static std::vector<std::string> changed_tables(const std::string& before,
                                                 const std::string& after) {
    const auto tables = [](const std::string& text) {
      std::map<std::string, std::multiset<std::string>> out;
      std::string table;
      std::size_t at = 0;
      while (at < text.size()) {
        const auto end = text.find('\n', at);
        const std::string line = text.substr(at, end - at);
        at = end == std::string::npos ? text.size() : end + 1;
        if (!line.empty() && line.back() == ':' && line.find('|') == std::string::npos) {
          table = line.substr(0, line.size() - 1);
          out[table];
        } else {
          out[table].insert(line);
        }
      }
      return out;
    };
    const auto old_rows = tables(before);
    const auto new_rows = tables(after);
    std::vector<std::string> out;
    for (const auto& [table, rows] : new_rows) {
      // The usage roll-up's bookkeeping is derived state a run may move forward (each run rolls
      // up the days closed since the last one first): not a billing change.
      if (table.rfind("usage_rollups", 0) == 0 || table.rfind("usage_daily", 0) == 0) continue;
      const auto& old = old_rows.count(table) != 0 ? old_rows.at(table) : rows;
      std::vector<std::string> added;
      std::vector<std::string> removed;
      std::set_difference(rows.begin(), rows.end(), old.begin(), old.end(),
                          std::back_inserter(added));
      std::set_difference(old.begin(), old.end(), rows.begin(), rows.end(),
                          std::back_inserter(removed));
      if (!added.empty() || !removed.empty()) {
        out.push_back(table + " +" + std::to_string(added.size()) + " -" +
                      std::to_string(removed.size()));
      }
    }
    return out;
  }

  // What recording one more run that changed nothing adds: its receipt, its audit record, and
  // the tenant row's new audit chain head.
  static std::vector<std::string> one_run_recorded() {
    return {"audit_records +1 -0", "billing_runs +1 -0", "tenants +1 -1"};
  }

  // ledger verify and audit verify of the tenant: both hold.
  void expect_verified(const std::string& tenant_id, const std::string& context = "") {
    auto tx = db().begin(storage::TxMode::read);
    const auto violation = services::ledger::verify(*tx, TenantId(tenant_id));
    EXPECT_FALSE(violation.has_value()) << context << ": " << violation.value_or("");
    const auto audit = services::audit::verify(*tx, TenantId(tenant_id));
    EXPECT_TRUE(audit.ok) << context << ": audit record " << audit.first_broken_seq.value_or(0)
                          << ": " << audit.problem;
  }

  // Everything billing the world must leave, each exactly once (see the top of this file), and
  // one billing_run.completed record per recorded run.
  void expect_world_billed_once(const World& world, const std::string& context = "",
                                const WorldOutcome& expected = billed_at_run()) {
    const std::string& id = world.tenant.id;
    EXPECT_EQ(invoices(id), expected.invoices) << context;
    EXPECT_EQ(numbers(id), (std::vector<std::int64_t>{1, 2, 3, 4, 5})) << context;
    const auto ids = invoice_ids(id);
    std::vector<std::string> all;
    for (const auto& [key, invoice] : ids) all.push_back(invoice);
    std::sort(all.begin(), all.end());
    EXPECT_EQ(ledger_causes(id, "invoice_finalized"), all) << context;
    EXPECT_EQ(audit_targets(id, "invoice.finalized"), all) << context;
    std::vector<std::string> drawn;
    for (const auto& key : expected.drawn) {
      if (ids.count(key) != 0) drawn.push_back(ids.at(key));
    }
    std::sort(drawn.begin(), drawn.end());
    EXPECT_EQ(ledger_causes(id, "credit_draw"), drawn) << context;
    const std::map<std::string, std::string> grant_ids{{"c2_expiring", world.c2_expiring},
                                                       {"c2_promotional", world.c2_promotional}};
    std::vector<std::string> expired;
    for (const auto& name : expected.expired) expired.push_back(grant_ids.at(name));
    std::sort(expired.begin(), expired.end());
    EXPECT_EQ(ledger_causes(id, "credit_expiry"), expired) << context;
    EXPECT_EQ(audit_targets(id, "credit_grant.expired"), expired) << context;
    std::vector<std::string> grants{world.c1_prepaid, world.c2_promotional, world.c2_expiring};
    std::sort(grants.begin(), grants.end());
    EXPECT_EQ(ledger_causes(id, "credit_grant"), grants) << context;
    EXPECT_EQ(audit_targets(id, "billing_run.completed"), run_ids(id)) << context;
    // The ledger by hand: revenue is the five totals; the promotional grant's cost (reversed
    // when it expired whole); the expired 5.00 as breakage; each customer's receivable is what
    // it owes.
    using Kind = domain::ledger::AccountKind;
    EXPECT_EQ(balance_of(id, Kind::revenue, std::nullopt), "191.75") << context;
    EXPECT_EQ(balance_of(id, Kind::promotions_expense, std::nullopt), expected.promotions_expense)
        << context;
    EXPECT_EQ(balance_of(id, Kind::breakage, std::nullopt), "5.00") << context;
    EXPECT_EQ(balance_of(id, Kind::receivable, world.customers.at("c1")), "84.75") << context;
    EXPECT_EQ(balance_of(id, Kind::receivable, world.customers.at("c2")), expected.c2_receivable)
        << context;
    EXPECT_EQ(balance_of(id, Kind::receivable, world.customers.at("c3")), "12.00") << context;
    EXPECT_EQ(balance_of(id, Kind::prepaid_credit, world.customers.at("c2")), "0.00") << context;
    EXPECT_EQ(balance_of(id, Kind::promotional_credit, world.customers.at("c2")), "0.00")
        << context;
    expect_verified(id, context);
  }
};

}  // namespace neruba::test::http_tests
