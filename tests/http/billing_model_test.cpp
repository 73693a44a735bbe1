// A randomized model test of billing (issue 17, "Tests") on both backends: a random catalog (plans
// with recurring advance and arrears fees, seats, a graduated usage charge, an optional minimum;
// monthly and yearly), then a random sequence of steps through the API — subscriptions created
// (a customer may hold several, where no meter is billed twice), changed and cancelled, events,
// credit grants of both kinds (priorities, expiries), one-off charges, payments (partial, exact,
// over), voids, explicit finalizations and billing runs, of the tenant or of one customer, at
// as_of instants moving forward with a clock that only moves forward. After every step:
//   - ledger verify (with the invoice checks) and audit verify hold;
//   - no wallet is negative, and each wallet holds exactly its grants' remainders, each in
//     [0, amount];
//   - revenue equals the totals of the finalized and paid invoices (void and draft ones count
//     for nothing; promotional credit is a liability funded by promotions_expense, so revenue
//     reconciles before credits);
//   - each customer's receivable equals the amounts due of its issued invoices;
//   - each customer's cash equals its payments plus the prepaid credit it bought;
//   - each issued invoice adds up (lines, credits drawn, amount due, paid when nothing is due),
//     and its number, lines (their input digests), totals and draws never change;
//   - invoice numbers are INV-000001 … INV-n without a gap;
//   - GET …/balance is exact at that moment: the credit of the grants not expired by now, the
//     amounts due of the issued invoices;
// and a billing run repeated at once creates, recomputes and finalizes nothing.
// The model keeps only what it paid and bought; everything else is read back and related.
// A failure prints the shrunk scenario (the plans and the steps) and what the steps did.
// RC_PARAMS="max_success=200" runs more scenarios (the default here is 12, to stay fast: about
// 15 s on SQLite and 35 s on PostgreSQL on the 2-core machine); NERUBA_MODEL_LOG=1 shows what
// each scenario did.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "domain/ledger/ledger.hpp"
#include "domain/time.hpp"
#include "http_test_support.hpp"
#include "storage/credit_grants.hpp"
#include "storage/invoices.hpp"
#include "storage/ledger.hpp"
#include "support/billing_checks.hpp"

namespace neruba::test::http_tests {

// ---- The scenario: what RapidCheck generates, shrinks and shows ----

struct PlanShape {
  bool yearly = false;
  bool by_days = false;
  int advance_cents = 0;  // a recurring advance fee; 0: none
  int arrears_cents = 0;  // a recurring arrears fee; 0: none
  int seat_cents = 0;     // 0: no seat charge
  int usage_price = 0;    // graduated calls: 0.00x up to 100, then half of it; 0: none
  int minimum_cents = 0;  // 0: no minimum commitment
};

enum class Op {
  advance,
  subscribe,
  change,
  cancel,
  events,
  grant,
  charge,
  pay,
  void_,
  bill,
  finalize
};

// One step; what `a`, `b` and `c` mean depends on the operation: the functions below read them,
// for the run and for operator<< alike.
struct Command {
  Op op = Op::advance;
  int customer = 0;
  int a = 0;
  int b = 0;
  int c = 0;

  int plan() const { return a % 3; }  // taken modulo the scenario's plans
  int seats() const { return 1 + b % 3; }
  int days() const { return a % 16; }        // advance
  int hours() const { return b % 24; }       // advance
  int days_ago() const { return c % 10; }    // subscribe: the start
  bool trial() const { return c % 4 == 3; }  // subscribe: a 7-day trial
  int change_mode() const { return c % 3; }  // 0 now, 1 at period end, 2 now without proration
  bool cancel_now() const { return a % 2 == 0; }
  int calls() const { return 1 + a; }                          // events
  int minutes_ago() const { return b % 2 == 0 ? b : 60 * b; }  // events: up to 25 days late
  bool prepaid() const { return b % 2 == 0; }                  // grant
  int priority() const { return b / 2 % 4; }                   // grant
  int expires_in_days() const { return c; }                    // grant; 0: never
  int cents() const { return 1 + a; }                          // grant, charge
  int pay_mode() const { return b % 3; }                       // 0 in part, 1 exactly, 2 over
  int hours_back() const { return a % 72; }  // bill: as_of = now − hours_back (never backwards)
  bool finalize() const { return b % 4 != 0; }      // bill
  bool one_customer() const { return c % 3 == 0; }  // bill: this customer only
};

struct Scenario {
  int grace_days = 0;
  std::vector<PlanShape> plans;
  std::vector<Command> steps;
};

std::ostream& operator<<(std::ostream& out, const PlanShape& p) {
  return out << (p.yearly ? "year" : "month") << (p.by_days ? "/days" : "/seconds")
             << " advance=" << p.advance_cents << "c arrears=" << p.arrears_cents
             << "c seat=" << p.seat_cents << "c usage=" << p.usage_price
             << " minimum=" << p.minimum_cents << "c";
}

std::ostream& operator<<(std::ostream& out, const Command& c) {
  const std::string who = " c" + std::to_string(c.customer);
  switch (c.op) {
    case Op::advance:
      return out << "advance the clock " << c.days() << " d " << c.hours() << " h 1 min";
    case Op::subscribe:
      return out << "subscribe" << who << " to plan #" << c.plan() << ", " << c.seats()
                 << " seats, start " << c.days_ago() << " d ago"
                 << (c.trial() ? ", 7-day trial" : "");
    case Op::change:
      return out << "change" << who << " to plan #" << c.plan() << ", " << c.seats() << " seats, "
                 << (c.change_mode() == 1   ? "at period end"
                     : c.change_mode() == 2 ? "now without proration"
                                            : "now");
    case Op::cancel:
      return out << "cancel" << who << (c.cancel_now() ? " now" : " at period end");
    case Op::events:
      return out << "event" << who << " n=" << c.calls() << ", " << c.minutes_ago() << " min ago";
    case Op::grant:
      return out << "grant" << who << (c.prepaid() ? " prepaid " : " promotional ") << c.cents()
                 << "c priority " << c.priority()
                 << (c.expires_in_days() == 0
                         ? ", no expiry"
                         : ", expires in " + std::to_string(c.expires_in_days()) + " d");
    case Op::charge:
      return out << "one-off charge" << who << " " << c.cents() << "c";
    case Op::pay:
      return out << "pay" << who << "'s open invoice #" << c.a << " (modulo)"
                 << (c.pay_mode() == 0   ? " in part"
                     : c.pay_mode() == 1 ? " exactly"
                                         : " over");
    case Op::void_:
      return out << "void" << who << "'s voidable invoice #" << c.a << " (modulo)";
    case Op::bill:
      return out << "bill as_of now - " << c.hours_back() << " h"
                 << (c.one_customer() ? ", only" + who : "")
                 << (c.finalize() ? "" : ", finalize false");
    case Op::finalize:
      return out << "finalize" << who << "'s draft #" << c.a << " (modulo)";
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, const Scenario& s) {
  out << "grace " << s.grace_days << " d\n";
  for (std::size_t i = 0; i < s.plans.size(); ++i)
    out << "plan " << i << ": " << s.plans[i] << "\n";
  for (std::size_t i = 0; i < s.steps.size(); ++i)
    out << "step " << i << ": " << s.steps[i] << "\n";
  return out;
}

}  // namespace neruba::test::http_tests

namespace rc {

using neruba::test::http_tests::Command;
using neruba::test::http_tests::Op;
using neruba::test::http_tests::PlanShape;
using neruba::test::http_tests::Scenario;

template <>
struct Arbitrary<PlanShape> {
  static Gen<PlanShape> arbitrary() {
    return gen::build<PlanShape>(
        gen::set(&PlanShape::yearly, gen::weightedElement<bool>({{4, false}, {1, true}})),
        gen::set(&PlanShape::by_days, gen::arbitrary<bool>()),
        gen::set(&PlanShape::advance_cents, gen::element(0, 999, 3000, 4999)),
        gen::set(&PlanShape::arrears_cents, gen::element(0, 0, 500, 1234)),
        gen::set(&PlanShape::seat_cents, gen::element(0, 1000, 1550)),
        gen::set(&PlanShape::usage_price, gen::element(0, 1, 7)),
        gen::set(&PlanShape::minimum_cents, gen::element(0, 0, 10000)));
  }
};

template <>
struct Arbitrary<Command> {
  static Gen<Command> arbitrary() {
    return gen::build<Command>(
        gen::set(&Command::op, gen::weightedElement<Op>({{6, Op::advance},
                                                         {3, Op::subscribe},
                                                         {2, Op::change},
                                                         {1, Op::cancel},
                                                         {4, Op::events},
                                                         {2, Op::grant},
                                                         {1, Op::charge},
                                                         {3, Op::pay},
                                                         {1, Op::void_},
                                                         {5, Op::bill},
                                                         {1, Op::finalize}})),
        gen::set(&Command::customer, gen::inRange(0, 3)),
        gen::set(&Command::a, gen::inRange(0, 5000)), gen::set(&Command::b, gen::inRange(0, 600)),
        gen::set(&Command::c, gen::inRange(0, 40)));
  }
};

template <>
struct Arbitrary<Scenario> {
  static Gen<Scenario> arbitrary() {
    return gen::build<Scenario>(
        gen::set(&Scenario::grace_days, gen::element(0, 0, 2)),
        gen::set(&Scenario::plans,
                 gen::resize(3, gen::nonEmpty(gen::container<std::vector<PlanShape>>(
                                    gen::arbitrary<PlanShape>())))),
        // Up to 50 steps, each drawn from the full ranges of its numbers.
        gen::set(&Scenario::steps, gen::resize(50, gen::container<std::vector<Command>>(gen::resize(
                                                       100, gen::arbitrary<Command>())))));
  }
};

}  // namespace rc

namespace neruba::test::http_tests {
namespace {

using domain::ledger::AccountKind;

constexpr int customers_count = 3;
const char* const customer_zones[customers_count] = {"UTC", "America/New_York", "Europe/Berlin"};

std::string money(std::int64_t cents) {
  const bool negative = cents < 0;
  const std::int64_t magnitude = negative ? -cents : cents;
  std::string fraction = std::to_string(magnitude % 100);
  if (fraction.size() < 2) fraction.insert(0, "0");
  return (negative ? "-" : "") + std::to_string(magnitude / 100) + "." + fraction;
}

// "-12.34" → −1234 (the API writes USD with exactly two digits).
std::int64_t cents_of(const std::string& text) {
  const bool negative = !text.empty() && text[0] == '-';
  const std::string digits = negative ? text.substr(1) : text;
  const std::size_t dot = digits.find('.');
  if (dot == std::string::npos || digits.size() - dot != 3) {
    throw std::runtime_error("not an amount in cents: " + text);
  }
  const std::int64_t value =
      std::stoll(digits.substr(0, dot)) * 100 + std::stoll(digits.substr(dot + 1));
  return negative ? -value : value;
}

std::string plan_json(const PlanShape& shape, std::size_t index) {
  std::string charges;
  const auto add = [&](const std::string& charge) {
    charges += (charges.empty() ? "" : ",") + charge;
  };
  // Every plan charges something: an advance fee when it would charge nothing else.
  const bool nothing = shape.advance_cents == 0 && shape.arrears_cents == 0 &&
                       shape.seat_cents == 0 && shape.usage_price == 0;
  const int advance = nothing ? 2500 : shape.advance_cents;
  if (advance > 0) {
    add(R"({"type":"recurring","amount":")" + money(advance) + R"(","timing":"advance"})");
  }
  if (shape.arrears_cents > 0) {
    add(R"({"type":"recurring","amount":")" + money(shape.arrears_cents) +
        R"(","timing":"arrears"})");
  }
  if (shape.seat_cents > 0)
    add(R"({"type":"seat","unit_price":")" + money(shape.seat_cents) + "\"}");
  if (shape.usage_price > 0) {
    const std::string first = "0.00" + std::to_string(shape.usage_price * 2);
    const std::string rest = "0.00" + std::to_string(shape.usage_price);
    add(R"({"type":"usage","meter":"calls","model":"graduated","tiers":[{"up_to":"100","unit_price":")" +
        first + R"("},{"up_to":null,"unit_price":")" + rest + R"("}]})");
  }
  std::string out =
      R"({"code":"p)" + std::to_string(index) + R"(","name":"Plan","currency":"USD",)" +
      R"("interval":")" + (shape.yearly ? "year" : "month") + R"(","proration":")" +
      (shape.by_days ? "day" : "second") + R"(","effective_from":"2025-01-01T00:00:00Z",)";
  if (shape.minimum_cents > 0) {
    out += R"("minimum_commitment":")" + money(shape.minimum_cents) + "\",";
  }
  return out + R"("charges":[)" + charges + "]}";
}

// An invoice as a list shows it.
struct InvoiceRow {
  std::string id;
  std::string number;  // empty for a draft
  std::string status;
  Instant billing_instant;
  std::int64_t total = 0;
  std::int64_t credits_applied = 0;
  std::int64_t amount_paid = 0;
  std::int64_t amount_due = 0;
};

// Runs a scenario against a fresh tenant and checks the invariants after every step.
class ModelRun {
 public:
  ModelRun(TestApi& api, const Scenario& scenario) : api_(api), scenario_(scenario) {}

  void run() {
    tenant_ = api_.create_tenant("Model " + std::to_string(++tenants_made_));
    api_.clock().set(*domain::parse_rfc3339("2026-01-05T10:00:00Z"));
    last_as_of_ = api_.clock().now();
    setup();
    check_invariants("after the setup");
    for (std::size_t i = 0; i < scenario_.steps.size(); ++i) {
      std::ostringstream what;
      what << "step " << i << ": " << scenario_.steps[i];
      log_ += what.str();
      execute(scenario_.steps[i]);
      log_ += "\n";
      check_invariants(what.str());
    }
    // NERUBA_MODEL_LOG=1 shows what each scenario did (to see what the generator reaches).
    if (std::getenv("NERUBA_MODEL_LOG") != nullptr) std::cerr << log_ << "---\n";
  }

 private:
  static inline int tenants_made_ = 0;

  void fail(const std::string& message) {
    RC_FAIL(message + "\n--- what the steps did (clock " +
            domain::format_rfc3339(api_.clock().now()) + ") ---\n" + log_);
  }

  TestResponse post(const std::string& path, const std::string& body) {
    return api_.post(path, tenant_.key, body);
  }
  TestResponse get(const std::string& path) { return api_.get(path, tenant_.key); }

  // A refusal is a problem document with a 4xx status, never a 5xx.
  void expect_success_or_refusal(const TestResponse& response, int success) {
    if (response.status == success) return;
    if (response.status >= 400 && response.status < 500 &&
        text_of(response.json, "type").starts_with("https://neruba.dev/errors/")) {
      log_ +=
          " → refused " + std::to_string(response.status) + " " + text_of(response.json, "detail");
      return;
    }
    fail("unexpected answer " + std::to_string(response.status) + ": " + response.body);
  }
  void expect_status(const TestResponse& response, int success) {
    if (response.status != success) {
      fail("expected " + std::to_string(success) + ", got " + std::to_string(response.status) +
           ": " + response.body);
    }
  }

  static std::string customer(int index) { return "c" + std::to_string(index); }

  void setup() {
    expect_status(api_.call("PATCH", "/v1/tenants/" + tenant_.id, test_admin_key,
                            R"({"settings":{"invoice_grace_period_days":)" +
                                std::to_string(scenario_.grace_days) + "}}"),
                  200);
    expect_status(post("/v1/meters",
                       R"({"code":"calls","event_type":"call","aggregation":"sum","field":"n"})"),
                  201);
    for (std::size_t i = 0; i < scenario_.plans.size(); ++i) {
      const std::string body = plan_json(scenario_.plans[i], i);
      const auto response = post("/v1/plans", body);
      if (response.status != 201) fail("plan refused: " + body + "\n" + response.body);
    }
    for (int i = 0; i < customers_count; ++i) {
      expect_status(post("/v1/customers", R"({"external_id":")" + customer(i) +
                                              R"(","name":"Customer","timezone":")" +
                                              customer_zones[i] + "\"}"),
                    201);
      customer_ids_[i] = get("/v1/customers/" + customer(i)).field("id");
    }
  }

  std::string plan_code(int index) const {
    return "p" + std::to_string(static_cast<std::size_t>(index) % scenario_.plans.size());
  }
  std::string now_text(std::chrono::microseconds before = {}) const {
    return domain::format_rfc3339(api_.clock().now() - before);
  }

  void execute(const Command& c) {
    using std::chrono::hours;
    using std::chrono::minutes;
    const std::string who = customer(c.customer);
    switch (c.op) {
      case Op::advance:
        api_.clock().advance(hours(24 * c.days() + c.hours()) + minutes(1));
        return;
      case Op::subscribe: {
        const auto start = api_.clock().now() - hours(24 * c.days_ago());
        std::string body = R"({"customer":")" + who + R"(","plan":")" + plan_code(c.plan()) +
                           R"(","seats":)" + std::to_string(c.seats()) + R"(,"start":")" +
                           domain::format_rfc3339(start) + "\"";
        if (c.trial()) {
          body += R"(,"trial_end":")" + domain::format_rfc3339(start + hours(24 * 7)) + "\"";
        }
        const auto response = post("/v1/subscriptions", body + "}");
        expect_success_or_refusal(response, 201);
        if (response.status == 201) subscriptions_[c.customer] = response.field("id");
        return;
      }
      case Op::change: {
        if (!subscriptions_.contains(c.customer)) return log_ += " (skipped)", void();
        const int mode = c.change_mode();
        const auto response = post("/v1/subscriptions/" + subscriptions_[c.customer] + "/changes",
                                   R"({"plan":")" + plan_code(c.plan()) + R"(","seats":)" +
                                       std::to_string(c.seats()) + R"(,"effective":")" +
                                       (mode == 1 ? "period_end" : "now") + "\"" +
                                       (mode == 2 ? R"(,"proration":"none")" : "") + "}");
        expect_success_or_refusal(response, 200);
        return;
      }
      case Op::cancel: {
        if (!subscriptions_.contains(c.customer)) return log_ += " (skipped)", void();
        const auto response =
            post("/v1/subscriptions/" + subscriptions_[c.customer] + "/cancel",
                 std::string(R"({"at":")") + (c.cancel_now() ? "now" : "period_end") + "\"}");
        expect_success_or_refusal(response, 200);
        return;
      }
      case Op::events: {
        const auto response =
            post("/v1/events", R"({"events":[{"event_id":"e)" + std::to_string(++events_sent_) +
                                   R"(","customer":")" + who + R"(","type":"call","timestamp":")" +
                                   now_text(minutes(c.minutes_ago())) + R"(","properties":{"n":)" +
                                   std::to_string(c.calls()) + "}}]}");
        expect_status(response, 200);
        if (int_of(response.json, "accepted") != 1)
          fail("an event was not accepted: " + response.body);
        return;
      }
      case Op::grant: {
        const bool prepaid = c.prepaid();
        const std::int64_t amount = c.cents();
        std::string body = R"({"customer":")" + who + R"(","currency":"USD","amount":")" +
                           money(amount) + R"(","kind":")" + (prepaid ? "prepaid" : "promotional") +
                           R"(","priority":)" + std::to_string(c.priority());
        if (c.expires_in_days() > 0) {
          body += R"(,"expires_at":")" + now_text(-hours(24 * c.expires_in_days())) + "\"";
        }
        const auto response = post("/v1/credit-grants", body + "}");
        expect_status(response, 201);
        if (prepaid) cash_[c.customer] += amount;
        return;
      }
      case Op::charge: {
        const auto response =
            post("/v1/charges", R"({"customer":")" + who + R"(","charge_key":"k)" +
                                    std::to_string(++charges_made_) + R"(","currency":"USD",)" +
                                    R"("amount":")" + money(c.cents()) +
                                    R"(","description":"One-off"})");
        expect_status(response, 201);
        return;
      }
      case Op::pay:
        return pay(c);
      case Op::void_:
        return void_invoice(c);
      case Op::bill: {
        // as_of moves forward and never passes now.
        auto as_of = api_.clock().now() - hours(c.hours_back());
        if (as_of < last_as_of_) as_of = last_as_of_;
        last_as_of_ = as_of;
        const std::string body =
            R"({"as_of":")" + domain::format_rfc3339(as_of) + "\"" +
            (c.one_customer() ? R"(,"customer":")" + who + "\"" : std::string()) +
            (c.finalize() ? "" : R"(,"finalize":false)") + "}";
        const auto response = post("/v1/billing-runs", body);
        expect_status(response, 201);
        log_ += " → created " + std::to_string(int_of(response.json, "invoices_created")) +
                ", updated " + std::to_string(int_of(response.json, "invoices_updated")) +
                ", finalized " + std::to_string(int_of(response.json, "invoices_finalized"));
        // The same run again finds everything done.
        const auto again = post("/v1/billing-runs", body);
        expect_status(again, 201);
        if (int_of(again.json, "invoices_created") != 0 ||
            int_of(again.json, "invoices_updated") != 0 ||
            int_of(again.json, "invoices_finalized") != 0) {
          fail("the same run again changed something: " + again.body);
        }
        return;
      }
      case Op::finalize: {
        const auto drafts =
            invoices_of(c.customer, [](const InvoiceRow& r) { return r.status == "draft"; });
        if (drafts.empty()) return log_ += " (skipped: no draft)", void();
        const auto& invoice = drafts[static_cast<std::size_t>(c.a) % drafts.size()];
        expect_status(post("/v1/invoices/" + invoice.id + "/finalize", "{}"), 200);
        return;
      }
    }
  }

  void pay(const Command& c) {
    const auto open = invoices_of(c.customer, [](const InvoiceRow& r) {
      return r.status == "finalized" && r.amount_due > 0;
    });
    if (open.empty()) return log_ += " (skipped: nothing due)", void();
    const auto& invoice = open[static_cast<std::size_t>(c.a) % open.size()];
    const int mode = c.pay_mode();
    const std::int64_t amount = mode == 0   ? std::max<std::int64_t>(1, invoice.amount_due / 2)
                                : mode == 1 ? invoice.amount_due
                                            : invoice.amount_due + 1 + c.a % 2000;
    const auto response =
        post("/v1/payments", R"({"invoice":")" + invoice.id + R"(","amount":")" + money(amount) +
                                 R"(","provider":"manual","provider_payment_id":"p)" +
                                 std::to_string(++payments_made_) + "\"}");
    expect_status(response, 201);
    cash_[c.customer] += amount;
    const std::int64_t applied = cents_of(response.field("applied"));
    const std::int64_t excess = cents_of(response.field("excess"));
    if (applied != std::min(amount, invoice.amount_due) || applied + excess != amount) {
      fail("payment of " + money(amount) + " on " + money(invoice.amount_due) +
           " due: " + response.body);
    }
    log_ += " → " + money(amount) + " on " + invoice.number;
  }

  void void_invoice(const Command& c) {
    const auto voidable = invoices_of(c.customer, [](const InvoiceRow& r) {
      return (r.status == "finalized" || r.status == "paid") && r.amount_paid == 0;
    });
    if (voidable.empty()) return log_ += " (skipped: none voidable)", void();
    const auto& invoice = voidable[static_cast<std::size_t>(c.a) % voidable.size()];
    const auto response = post("/v1/invoices/" + invoice.id + "/void",
                               R"({"reason_code":"billing_error","justification":"model"})");
    log_ += " → " + invoice.number + " (" + money(invoice.total) + ")";
    // Only a negative invoice whose credit has been used since may refuse.
    if (response.status == 409 && invoice.total < 0 &&
        has_field_error(response, "id", "invoice_credit_used")) {
      log_ += " refused: its credit was used";
      return;
    }
    expect_status(response, 200);
  }

  template <typename Predicate>
  std::vector<InvoiceRow> invoices_of(int index, Predicate keep) {
    std::vector<InvoiceRow> out;
    for (const auto& row : invoices(index)) {
      if (keep(row)) out.push_back(row);
    }
    return out;
  }

  // The customer's invoices by billing instant.
  std::vector<InvoiceRow> invoices(int index) {
    const auto response = get("/v1/invoices?customer=" + customer(index) + "&limit=1000");
    expect_status(response, 200);
    std::vector<InvoiceRow> rows;
    for (const auto& item : member(response.json, "data").items()) {
      InvoiceRow row;
      row.id = text_of(item, "id");
      row.number = member(item, "number").is_null() ? "" : text_of(item, "number");
      row.status = text_of(item, "status");
      row.billing_instant = *domain::parse_rfc3339(text_of(item, "billing_instant"));
      row.total = cents_of(text_of(item, "total"));
      row.credits_applied = cents_of(text_of(item, "credits_applied"));
      row.amount_paid = cents_of(text_of(item, "amount_paid"));
      row.amount_due = cents_of(text_of(item, "amount_due"));
      rows.push_back(std::move(row));
    }
    std::sort(rows.begin(), rows.end(), [](const InvoiceRow& x, const InvoiceRow& y) {
      return x.billing_instant < y.billing_instant;
    });
    return rows;
  }

  // One invoice's own arithmetic: lines, draws, amount due, status (read again only when it
  // changed since it was last checked).
  void check_invoice(const InvoiceRow& row, const std::string& where) {
    const std::string seen = row.status + " " + std::to_string(row.total) + " " +
                             std::to_string(row.amount_paid) + " " + row.number;
    if (checked_[row.id] == seen) return;
    checked_[row.id] = seen;
    const auto invoice = get("/v1/invoices/" + row.id);
    const auto explained = get("/v1/invoices/" + row.id + "/explain");
    std::int64_t lines = 0;
    for (const auto& line : member(invoice.json, "lines").items())
      lines += cents_of(text_of(line, "amount"));
    std::int64_t drawn = 0;
    for (const auto& draw : member(explained.json, "credit_draws").items()) {
      drawn += cents_of(text_of(draw, "amount"));
    }
    const auto problem = [&](const std::string& what) {
      fail(where + ": invoice " + row.id + " " + what + "\n" + invoice.body + "\n" +
           explained.body);
    };
    if (lines != row.total || cents_of(invoice.field("subtotal")) != row.total) {
      problem("does not add up: lines " + money(lines));
    }
    if (row.status == "draft") {
      if (!row.number.empty() || row.credits_applied != 0 || row.amount_paid != 0) {
        problem("is a draft with a number, credit or payment");
      }
      return;
    }
    if (row.number.empty()) problem("is issued without a number");
    // Issued, its number, lines, totals and the credit it drew never change (a void keeps them).
    std::string issued = row.number + " " + std::to_string(row.total) + " " +
                         std::to_string(row.credits_applied) + " " + explained.field("subtotal");
    for (const auto& line : member(explained.json, "lines").items()) {
      issued += " " + text_of(line, "input_digest");
    }
    for (const auto& draw : member(explained.json, "credit_draws").items()) {
      issued += " " + text_of(draw, "grant") + ":" + text_of(draw, "amount");
    }
    const auto [first, inserted] = issued_.emplace(row.id, issued);
    if (!inserted && first->second != issued) {
      problem("changed after it was issued: it was " + first->second + ", it is " + issued);
    }
    if (row.status == "void") {
      if (row.amount_due != 0) problem("is void with something due");
      return;
    }
    // A negative total is credit given: credits_applied = total and nothing is due.
    const std::int64_t expected_drawn = row.total < 0 ? 0 : row.credits_applied;
    if (drawn != expected_drawn || (row.total < 0 && row.credits_applied != row.total)) {
      problem("drew " + money(drawn) + " of credit but shows " + money(row.credits_applied));
    }
    if (row.total >= 0 && row.credits_applied > row.total) problem("drew more than its total");
    if (row.amount_due != row.total - row.credits_applied - row.amount_paid || row.amount_due < 0) {
      problem("has a wrong amount due");
    }
    if ((row.status == "paid") != (row.amount_due == 0)) problem("is " + row.status);
  }

  std::int64_t balance_cents(const storage::AccountBalance& b) {
    const auto currency = *domain::Currency::of(b.account.currency);
    const auto balance = domain::ledger::balance_of(
        b.account.kind, domain::from_minor_units(b.debits_minor, currency),
        domain::from_minor_units(b.credits_minor, currency));
    if (!balance) fail("an unreadable balance of " + storage::ledger::account_id(b.account));
    return *domain::to_minor_units(*balance, currency);
  }

  void check_invariants(const std::string& where) {
    auto tx = db().begin(storage::TxMode::read);
    const TenantId tenant(tenant_.id);
    if (const auto violation = first_billing_violation(*tx, tenant))
      fail(where + ": " + *violation);

    // Balances by "kind" (tenant) or "kind customer-index".
    std::map<std::string, std::int64_t> ledger;
    for (const auto& b : storage::ledger::balances(*tx, tenant, std::nullopt)) {
      std::string name(domain::ledger::account_kind_name(b.account.kind));
      if (b.account.customer) {
        for (int i = 0; i < customers_count; ++i) {
          if (*b.account.customer == customer_ids_[i]) name += " " + std::to_string(i);
        }
      }
      ledger[name] = balance_cents(b);
    }
    std::int64_t revenue = 0;
    std::set<std::string> numbers;
    std::size_t issued = 0;
    for (int i = 0; i < customers_count; ++i) {
      const std::string index = " " + std::to_string(i);
      std::int64_t due = 0;
      for (const auto& row : invoices(i)) {
        check_invoice(row, where);
        if (row.status == "draft") continue;
        ++issued;
        numbers.insert(row.number);
        due += row.amount_due;
        if (row.status != "void") revenue += row.total;
      }
      if (ledger["receivable" + index] != due) {
        fail(where + ": receivable of c" + std::to_string(i) + " is " +
             money(ledger["receivable" + index]) + ", its invoices owe " + money(due));
      }
      if (ledger["cash" + index] != cash_[i]) {
        fail(where + ": cash of c" + std::to_string(i) + " is " + money(ledger["cash" + index]) +
             ", paid and bought " + money(cash_[i]));
      }
      std::map<std::string, std::int64_t> remaining;
      for (const auto& grant :
           storage::credit_grants::of_customer(*tx, tenant, CustomerId(customer_ids_[i]))) {
        if (grant.remaining_minor < 0 || grant.remaining_minor > grant.amount_minor) {
          fail(where + ": grant " + grant.id + " has " + money(grant.remaining_minor) + " of " +
               money(grant.amount_minor) + " left");
        }
        remaining[grant.kind == "prepaid" ? "prepaid_credit" : "promotional_credit"] +=
            grant.remaining_minor;
      }
      // The balance, exact at this moment: the credit of the grants not expired by now, what
      // the issued invoices owe.
      std::int64_t usable = 0;
      for (const auto& grant :
           storage::credit_grants::of_customer(*tx, tenant, CustomerId(customer_ids_[i]))) {
        if (!grant.expires_at || *grant.expires_at > api_.clock().now()) {
          usable += grant.remaining_minor;
        }
      }
      const auto balance = get("/v1/customers/" + customer(i) + "/balance");
      if (cents_of(balance.field("credit_balance")) != usable ||
          cents_of(balance.field("amount_due")) != due) {
        fail(where + ": the balance of c" + std::to_string(i) + " is " + balance.body +
             ", its grants hold " + money(usable) + " usable and its invoices owe " + money(due));
      }
      for (const char* wallet : {"prepaid_credit", "promotional_credit"}) {
        const std::int64_t held = ledger[std::string(wallet) + index];
        if (held < 0 || held != remaining[wallet]) {
          fail(where + ": " + wallet + " of c" + std::to_string(i) + " is " + money(held) +
               ", its grants hold " + money(remaining[wallet]));
        }
      }
    }
    if (ledger["revenue"] != revenue) {
      fail(where + ": revenue is " + money(ledger["revenue"]) +
           ", the finalized and paid invoices total " + money(revenue));
    }
    std::set<std::string> expected;
    for (std::size_t n = 1; n <= issued; ++n) {
      expected.insert(storage::invoice_number_text(static_cast<std::int64_t>(n)));
    }
    if (numbers != expected) {
      std::string listed;
      for (const auto& number : numbers) listed += " " + number;
      fail(where + ": invoice numbers with a gap or twice:" + listed);
    }
  }

  storage::Db& db() { return api_.database().db(); }

  TestApi& api_;
  const Scenario& scenario_;
  TestTenant tenant_;
  std::string customer_ids_[customers_count];
  std::map<int, std::string> subscriptions_;  // each customer's newest subscription
  std::map<int, std::int64_t> cash_;
  std::map<std::string, std::string> checked_;  // what each invoice was when last checked
  std::map<std::string, std::string> issued_;   // each issued invoice as it was issued
  Instant last_as_of_;
  std::string log_;
  int events_sent_ = 0;
  int charges_made_ = 0;
  int payments_made_ = 0;
};

class BillingModel : public HttpTest {};

TEST_P(BillingModel, EveryStepKeepsTheLedgerTheInvoicesAndTheWalletsInAgreement) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  const char* configured = std::getenv("RC_PARAMS");
  if (configured == nullptr || std::string(configured).find("max_success") == std::string::npos) {
    params.maxSuccess = 12;
  }
  rc::detail::TestMetadata metadata;
  metadata.id = "BillingModel/" + to_string(GetParam());
  metadata.description = metadata.id;
  const auto result =
      rc::detail::checkProperty(rc::detail::toProperty([this](const Scenario& scenario) {
                                  ModelRun run(api(), scenario);
                                  run.run();
                                }),
                                metadata, params);
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream message;
    rc::detail::printResultMessage(result, message);
    FAIL() << message.str();
  }
}

// The checks the model and the invoice data files rely on do find a broken ledger, invoice and
// audit trail (each tampered with through raw SQL, then put back).
class BillingChecks : public HttpTest {
 protected:
  std::optional<std::string> violation() {
    auto tx = db().begin(storage::TxMode::read);
    return first_billing_violation(*tx, TenantId(tenant_.id));
  }
  void tamper(const std::string& statement, const std::string& undo, const std::string& expected) {
    ASSERT_EQ(
        api().database().raw_exec(statement + " WHERE tenant_id = '" + tenant_.id + "'" + where_),
        1)
        << statement;
    const auto found = violation();
    ASSERT_TRUE(found.has_value()) << statement;
    EXPECT_NE(found->find(expected), std::string::npos) << *found;
    ASSERT_EQ(api().database().raw_exec(undo + " WHERE tenant_id = '" + tenant_.id + "'" + where_),
              1);
    EXPECT_FALSE(violation().has_value()) << *violation();
  }

  TestTenant tenant_;
  std::string where_;
};

TEST_P(BillingChecks, FindATamperedLedgerEntryInvoiceTotalAndAuditRecord) {
  tenant_ = api().create_tenant("Checks");
  ASSERT_EQ(api()
                .post("/v1/plans", tenant_.key,
                      R"({"code":"flat","name":"Flat","currency":"USD","interval":"month",)"
                      R"("effective_from":"2025-01-01T00:00:00Z","charges":[{"type":"recurring",)"
                      R"("amount":"30.00","timing":"advance"}]})")
                .status,
            201);
  ASSERT_EQ(api().post("/v1/customers", tenant_.key, R"({"external_id":"acme","name":"A"})").status,
            201);
  ASSERT_EQ(api()
                .post("/v1/subscriptions", tenant_.key,
                      R"({"customer":"acme","plan":"flat","start":"2026-01-01T00:00:00Z"})")
                .status,
            201);
  ASSERT_EQ(api().post("/v1/billing-runs", tenant_.key, "{}").status, 201);
  ASSERT_FALSE(violation().has_value()) << *violation();
  where_ = " AND entry_index = 0";
  tamper("UPDATE ledger_entries SET amount = amount + 1",
         "UPDATE ledger_entries SET amount = amount - 1", "ledger verify");
  where_ = "";
  tamper("UPDATE invoices SET total = total + 1", "UPDATE invoices SET total = total - 1",
         "and its total");
  where_ = " AND seq = 1";
  tamper("UPDATE audit_records SET action = action || 'x'",
         "UPDATE audit_records SET action = substr(action, 1, length(action) - 1)", "audit verify");
}

INSTANTIATE_TEST_SUITE_P(Backends, BillingModel, ::testing::ValuesIn(test_backends()),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, BillingChecks, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
