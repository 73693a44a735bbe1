// The billing area's blocks (tests/data/README.md, area `billing`): a catalog, subscriptions with
// their changes and cancellations, credit grants, one-off charges, billing runs, invoices and
// their lines, payments, voids, balances and ledger accounts — all through the in-process API of
// the case's tenant (the ledger's balances through storage, which is what the API reads). After
// every case, and at the end of the file, the tenant's ledger verify (with the invoice checks)
// and audit verify must hold.
#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/currency.hpp"
#include "domain/ledger/ledger.hpp"
#include "domain/time.hpp"
#include "json/json.hpp"
#include "storage/credit_grants.hpp"
#include "storage/ledger.hpp"
#include "support/billing_checks.hpp"
#include "support/data_api.hpp"
#include "support/data_blocks.hpp"
#include "support/data_words.hpp"
#include "support/event_json.hpp"
#include "support/json_access.hpp"

namespace neruba::test::data {
namespace {

// Labels of what the case created (subscriptions, grants), the invoice the last `invoice_of`
// read (which `invoice_line` looks into), and the tenant to verify when the case ends.
class BillingState final : public AreaState {
 public:
  explicit BillingState(Session& session) : session_(session), api_(session.state<ApiState>()) {}

  ApiState& api() { return api_; }
  const std::string& key() { return tenant().key; }

  const TestTenant& tenant() {
    const TestTenant& tenant = api_.tenant();
    tenant_id_ = tenant.id;
    return tenant;
  }
  void at_step(const Step& step) { last_line_ = step.line; }

  void start_case(const std::string&) override {
    verify();
    subscriptions.clear();
    grants.clear();
    invoice = json::Value();
    explanation = json::Value();
  }
  void finish() override { verify(); }

  std::map<std::string, std::string> subscriptions;  // label → sub_…
  std::map<std::string, std::string> grants;         // label → grt_…
  json::Value invoice;                               // GET /v1/invoices/{id}
  json::Value explanation;                           // GET /v1/invoices/{id}/explain

 private:
  // The ledger's own rules, every issued invoice's ledger effect, and the audit chain.
  void verify() {
    if (tenant_id_.empty()) return;
    const TenantId tenant(tenant_id_);
    tenant_id_.clear();
    auto tx = api_.api().database().db().begin(storage::TxMode::read);
    if (const auto violation = first_billing_violation(*tx, tenant)) {
      session_.fail(last_line_, "after the case, " + *violation);
    }
  }

  Session& session_;
  ApiState& api_;
  std::string tenant_id_;
  int last_line_ = 0;
};

BillingState& state_of(Session& session, const Step& step) {
  auto& state = session.state<BillingState>();
  state.at_step(step);
  return state;
}

bool is_instant(std::string_view value) { return domain::parse_rfc3339(value).has_value(); }
bool is_word(std::string_view value) { return !value.empty(); }
bool is_bool(std::string_view value) { return value == "true" || value == "false"; }
bool is_sign(std::string_view value) { return value == "credit" || value == "charge"; }
bool is_account_kind(std::string_view value) {
  return domain::ledger::parse_account_kind(value).has_value();
}

Outcome error_outcome(std::string slug, std::string detail, std::string context = {}) {
  Outcome outcome;
  outcome.error = ErrorOutcome{std::move(slug), {}, std::move(detail)};
  outcome.context = std::move(context);
  return outcome;
}

// The invoice of `customer` at the billing instant `at`: its id, or empty.
std::string invoice_id_at(BillingState& state, const std::string& customer, const std::string& at) {
  const auto list =
      state.api().api().get("/v1/invoices?customer=" + customer + "&limit=1000", state.key());
  const auto wanted = domain::parse_rfc3339(at);
  for (const auto& item : member(list.json, "data").items()) {
    if (domain::parse_rfc3339(text_of(item, "billing_instant")) == wanted) {
      return text_of(item, "id");
    }
  }
  return {};
}

Outcome no_invoice(BillingState& state, const std::string& customer, const std::string& at) {
  const auto list = state.api().api().get("/v1/invoices?customer=" + customer, state.key());
  return error_outcome("no_such_invoice", "no invoice of " + customer + " at " + at, list.body);
}

// A label of the case for a grant id, or the grant's source (an overpayment's or an invoice's
// credit) when the case made it through no `grant`.
std::string grant_label(BillingState& state, const std::string& customer,
                        const std::string& grant_id) {
  for (const auto& [label, id] : state.grants) {
    if (id == grant_id) return label;
  }
  const auto found = state.api().api().get("/v1/customers/" + customer, state.key());
  auto tx = state.api().api().database().db().begin(storage::TxMode::read);
  for (const auto& grant : storage::credit_grants::of_customer(*tx, TenantId(state.tenant().id),
                                                               CustomerId(found.field("id")))) {
    if (grant.id == grant_id) return grant.source;
  }
  return grant_id;
}

Outcome invoice_outcome(BillingState& state, const TestResponse& response) {
  Outcome outcome = ApiState::outcome_of(response, 200);
  if (outcome.error) return outcome;
  const json::Value& invoice = response.json;
  for (const char* name :
       {"number", "status", "subtotal", "credits_applied", "total", "amount_paid", "amount_due"}) {
    const json::Value& value = member(invoice, name);
    outcome.named[name] = value.is_null() ? "null" : value.text();
  }
  outcome.named["lines"] = std::to_string(member(invoice, "lines").items().size());
  outcome.named["period"] = text_of(invoice, "period_start") + "/" + text_of(invoice, "period_end");
  const auto explained =
      state.api().api().get("/v1/invoices/" + text_of(invoice, "id") + "/explain", state.key());
  std::string draws;
  for (const auto& draw : member(explained.json, "credit_draws").items()) {
    if (!draws.empty()) draws += ",";
    draws += grant_label(state, text_of(invoice, "customer"), text_of(draw, "grant")) + ":" +
             text_of(draw, "amount");
  }
  outcome.named["draws"] = draws.empty() ? "none" : draws;
  state.invoice = invoice;
  state.explanation = explained.json;
  return outcome;
}

// What a line shows and what explains it, as `invoice_line` answers and selects.
std::map<std::string, std::string> line_facts(const json::Value& line,
                                              const json::Value& explained) {
  std::map<std::string, std::string> facts;
  facts["type"] = text_of(line, "charge_type");
  facts["amount"] = text_of(line, "amount");
  facts["quantity"] = text_of(line, "quantity");
  facts["unit_price"] = member(line, "unit_price").is_null() ? "none" : text_of(line, "unit_price");
  facts["meter"] = member(line, "meter").is_null() ? "none" : text_of(line, "meter");
  facts["from"] = text_of(line, "period_start");
  facts["to"] = text_of(line, "period_end");
  facts["period"] = facts["from"] + "/" + facts["to"];
  facts["sign"] = facts["amount"].starts_with("-") ? "credit" : "charge";
  const json::Value& explanation = member(member(explained, "inputs"), "explanation");
  facts["plan"] = explanation.is_null() ? "none" : text_of(explanation, "plan");
  facts["of"] =
      member(explanation, "credit_of").is_null() ? "none" : text_of(explanation, "credit_of");
  const json::Value& proration = member(explanation, "proration");
  facts["factor"] = proration.is_null() ? "none" : text_of(proration, "factor");
  facts["trial"] = member(explanation, "trial").is_null()
                       ? "none"
                       : (member(explanation, "trial").as_bool() ? "true" : "false");
  return facts;
}

constexpr OptionSpec line_selectors[] = {
    {"type", is_word}, {"plan", is_word},    {"of", is_word},   {"meter", is_word},
    {"sign", is_sign}, {"from", is_instant}, {"to", is_instant}};

Outcome line_outcome(BillingState& state, const Step& step) {
  if (state.invoice.is_null()) throw std::runtime_error("no `invoice_of` before `invoice_line`");
  const auto& lines = member(state.invoice, "lines").items();
  const auto& explained = member(state.explanation, "lines").items();
  std::vector<std::map<std::string, std::string>> matches;
  std::string shown;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto facts = line_facts(lines[i], i < explained.size() ? explained[i] : json::Value());
    shown += "\n    " + facts.at("type") + " " + facts.at("amount") + " plan=" + facts.at("plan") +
             " of=" + facts.at("of") + " period=" + facts.at("period") +
             " quantity=" + facts.at("quantity") + " factor=" + facts.at("factor");
    const bool selected = std::all_of(step.words.begin(), step.words.end(), [&](const auto& word) {
      const std::size_t equals = word.find('=');
      const std::string name = word.substr(0, equals);
      const std::string value = word.substr(equals + 1);
      if (name == "from" || name == "to") {
        return domain::parse_rfc3339(facts.at(name)) == domain::parse_rfc3339(value);
      }
      return facts.at(name) == value;
    });
    if (selected) matches.push_back(facts);
  }
  const std::string context = "the invoice's lines:" + shown;
  if (matches.size() != 1) {
    return error_outcome(matches.empty() ? "no_such_line" : "several_lines",
                         std::to_string(matches.size()) + " lines match", context);
  }
  Outcome outcome;
  outcome.context = context;
  for (const char* name : {"type", "amount", "quantity", "unit_price", "meter", "period", "plan",
                           "of", "factor", "trial"}) {
    outcome.named[name] = matches.front().at(name);
  }
  return outcome;
}

// The balance of an account on its normal side, "none" when it has no entry; with several
// currencies, the one of `currency=`.
Outcome ledger_outcome(BillingState& state, const Step& step) {
  const auto kind = *domain::ledger::parse_account_kind(step.words[0]);
  std::optional<CustomerId> customer;
  if (step.words.size() > 1 && !(step.words[1].find('=') != std::string::npos)) {
    const auto found = state.api().api().get("/v1/customers/" + step.words[1], state.key());
    if (found.status != 200) return ApiState::outcome_of(found, 200);
    customer = CustomerId(found.field("id"));
  }
  const auto currency = option(step, "currency");
  auto tx = state.api().api().database().db().begin(storage::TxMode::read);
  std::vector<std::string> balances;
  std::string context;
  for (const auto& b : storage::ledger::balances(*tx, TenantId(state.tenant().id), customer)) {
    if (b.account.kind != kind || (!customer && b.account.customer)) continue;
    if (currency && b.account.currency != *currency) continue;
    const auto money = *domain::Currency::of(b.account.currency);
    const auto balance =
        domain::ledger::balance_of(kind, domain::from_minor_units(b.debits_minor, money),
                                   domain::from_minor_units(b.credits_minor, money));
    balances.push_back(balance ? balance->to_string() : "(unreadable)");
    context += " " + storage::ledger::account_id(b.account);
  }
  if (balances.size() > 1) {
    return error_outcome("several_currencies", "write currency=<code>", "accounts:" + context);
  }
  Outcome outcome;
  outcome.value = balances.empty() ? "none" : balances.front();
  outcome.context = "accounts:" + context;
  return outcome;
}

Outcome bill(BillingState& state, const Step& step) {
  std::string body = R"({"as_of":)" + json_quoted(step.words[0]);
  if (const auto customer = option(step, "customer")) {
    body += R"(,"customer":)" + json_quoted(std::string(*customer));
  }
  if (const auto finalize = option(step, "finalize"))
    body += R"(,"finalize":)" + std::string(*finalize);
  const auto response = state.api().api().post("/v1/billing-runs", state.key(), body + "}");
  Outcome outcome = ApiState::outcome_of(response, 201);
  if (outcome.error) return outcome;
  outcome.named["created"] = std::to_string(int_of(response.json, "invoices_created"));
  outcome.named["updated"] = std::to_string(int_of(response.json, "invoices_updated"));
  outcome.named["finalized"] = std::to_string(int_of(response.json, "invoices_finalized"));
  outcome.named["customers"] = std::to_string(int_of(response.json, "customers"));
  return outcome;
}

// The customer's invoices by billing instant: how many, and each one's number (or its status
// while it has none).
Outcome invoices_outcome(BillingState& state, const Step& step) {
  const auto response =
      state.api().api().get("/v1/invoices?customer=" + step.words[0] + "&limit=1000", state.key());
  Outcome outcome = ApiState::outcome_of(response, 200);
  if (outcome.error) return outcome;
  std::vector<std::pair<Instant, std::string>> rows;
  for (const auto& item : member(response.json, "data").items()) {
    const std::string number = member(item, "number").is_null() ? "" : text_of(item, "number");
    rows.emplace_back(*domain::parse_rfc3339(text_of(item, "billing_instant")),
                      (number.empty() ? "" : number + ":") + text_of(item, "status"));
  }
  std::sort(rows.begin(), rows.end());
  std::string listed;
  for (const auto& [at, text] : rows) listed += (listed.empty() ? "" : ",") + text;
  outcome.value = std::to_string(rows.size());
  outcome.named["invoices"] = listed.empty() ? "none" : listed;
  return outcome;
}

// A POST of the JSON that ends the step, answered with `success`.
Outcome post_json(BillingState& state, const std::string& path, const std::string& body,
                  int success) {
  return ApiState::outcome_of(state.api().api().post(path, state.key(), body), success);
}

// `<directive> <label> <json>`: creates what the JSON describes, remembers its id under the
// label, and answers `field=` of what was created.
Outcome create_labelled(BillingState& state, const Step& step, const std::string& path,
                        std::map<std::string, std::string>& labels, const char* field) {
  const auto response = state.api().api().post(path, state.key(), step.rest_after(1));
  Outcome outcome = ApiState::outcome_of(response, 201);
  if (outcome.error) return outcome;
  labels[step.words[0]] = response.field("id");
  outcome.named[field] = response.field(field);
  return outcome;
}

// `change` and `cancel`: the labelled subscription's `action`.
Outcome subscription_action(BillingState& state, const Step& step, const std::string& action) {
  const auto found = state.subscriptions.find(step.words[0]);
  if (found == state.subscriptions.end()) {
    throw std::runtime_error("no subscription labelled `" + step.words[0] + "` in this case");
  }
  return post_json(state, "/v1/subscriptions/" + found->second + "/" + action, step.rest_after(1),
                   200);
}

// What `invoice_of`, `finalize` and `void` answer (a function: the kinds are gathered while other
// files' statics are initialized).
Accepts invoice_answers() {
  return {.names = {"number", "status", "lines", "subtotal", "credits_applied", "total",
                    "amount_paid", "amount_due", "period", "draws"},
          .error = true};
}

// The invoice of the step's customer at its billing instant, answered by `request(id)`.
template <typename Request>
Outcome on_invoice(BillingState& state, const Step& step, Request request) {
  const std::string id = invoice_id_at(state, step.words[0], step.words[1]);
  if (id.empty()) return no_invoice(state, step.words[0], step.words[1]);
  return invoice_outcome(state, request(id));
}

std::optional<std::string> labelled_json(const Step& step) { return json_after(step, 1); }

std::optional<std::string> customer_and_instant(const Step& step) { return instant_at(step, 1); }

}  // namespace

std::vector<BlockKind> billing_blocks() {
  return {
      {"new_plan", "<plan json>", Needs::database, 1, any_words, Accepts{.error = true},
       [](const Step& step) { return json_after(step, 0); },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return post_json(state_of(session, step), "/v1/plans", step.rest_after(0), 201);
       }},
      {"new_version", "<plan code> <version json>", Needs::database, 2, any_words,
       Accepts{.error = true}, labelled_json,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return post_json(state_of(session, step), "/v1/plans/" + step.words[0] + "/versions",
                          step.rest_after(1), 201);
       }},
      {"subscribe", "<label> <subscription json>", Needs::database, 2, any_words,
       Accepts{.names = {"status"}, .error = true}, labelled_json,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = state_of(session, step);
         return create_labelled(state, step, "/v1/subscriptions", state.subscriptions, "status");
       }},
      {"change", "<label> <change json>", Needs::database, 2, any_words, Accepts{.error = true},
       labelled_json,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return subscription_action(state_of(session, step), step, "changes");
       }},
      {"cancel", "<label> <cancel json>", Needs::database, 2, any_words, Accepts{.error = true},
       labelled_json,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return subscription_action(state_of(session, step), step, "cancel");
       }},
      {"grant", "<label> <credit grant json>", Needs::database, 2, any_words,
       Accepts{.names = {"remaining"}, .error = true}, labelled_json,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = state_of(session, step);
         return create_labelled(state, step, "/v1/credit-grants", state.grants, "remaining");
       }},
      {"one_off", "<charge json>", Needs::database, 1, any_words, Accepts{.error = true},
       [](const Step& step) { return json_after(step, 0); },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return post_json(state_of(session, step), "/v1/charges", step.rest_after(0), 201);
       }},
      {"bill", "<as_of> [customer=<external_id>] [finalize=true|false]", Needs::database, 1, 3,
       Accepts{.names = {"created", "updated", "finalized", "customers"}, .error = true},
       [](const Step& step) {
         static constexpr OptionSpec options[] = {{"customer", is_word}, {"finalize", is_bool}};
         auto problem = instant_at(step, 0);
         return problem ? problem : check_options(step, 1, options);
       },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return bill(state_of(session, step), step);
       }},
      {"invoices", "<customer>", Needs::database, 1, 1,
       Accepts{.value = true, .names = {"invoices"}, .error = true}, nullptr,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return invoices_outcome(state_of(session, step), step);
       }},
      {"invoice_of", "<customer> <billing instant>", Needs::database, 2, 2, invoice_answers(),
       customer_and_instant,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = state_of(session, step);
         state.invoice = json::Value();
         return on_invoice(state, step, [&](const std::string& id) {
           return state.api().api().get("/v1/invoices/" + id, state.key());
         });
       }},
      {"invoice_line",
       "[type=…] [plan=…] [of=recurring|seat] [meter=…] [sign=credit|charge] [from=…] [to=…]",
       Needs::database, 0, 7,
       Accepts{.names = {"type", "amount", "quantity", "unit_price", "meter", "period", "plan",
                         "of", "factor", "trial"},
               .error = true},
       [](const Step& step) { return check_options(step, 0, line_selectors); },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return line_outcome(state_of(session, step), step);
       }},
      {"finalize", "<customer> <billing instant>", Needs::database, 2, 2, invoice_answers(),
       customer_and_instant,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = state_of(session, step);
         return on_invoice(state, step, [&](const std::string& id) {
           return state.api().api().post("/v1/invoices/" + id + "/finalize", state.key(), "{}");
         });
       }},
      {"void", "<customer> <billing instant> <reason_code>", Needs::database, 3, 3,
       invoice_answers(), customer_and_instant,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = state_of(session, step);
         return on_invoice(state, step, [&](const std::string& id) {
           return state.api().api().post("/v1/invoices/" + id + "/void", state.key(),
                                         R"({"reason_code":)" + json_quoted(step.words[2]) +
                                             R"(,"justification":"a data-file case"})");
         });
       }},
      {"pay", "<customer> <billing instant> <amount> <provider_payment_id>", Needs::database, 4, 4,
       Accepts{.names = {"applied", "excess", "status", "amount_due"}, .error = true},
       customer_and_instant,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = state_of(session, step);
         const std::string id = invoice_id_at(state, step.words[0], step.words[1]);
         if (id.empty()) return no_invoice(state, step.words[0], step.words[1]);
         const auto response = state.api().api().post(
             "/v1/payments", state.key(),
             R"({"invoice":)" + json_quoted(id) + R"(,"amount":)" + json_quoted(step.words[2]) +
                 R"(,"provider":"manual","provider_payment_id":)" + json_quoted(step.words[3]) +
                 "}");
         Outcome outcome = ApiState::outcome_of(response, 201);
         if (outcome.error) return outcome;
         outcome.named["applied"] = response.field("applied");
         outcome.named["excess"] = response.field("excess");
         outcome.named["status"] = text_of(member(response.json, "invoice_after"), "status");
         outcome.named["amount_due"] =
             text_of(member(response.json, "invoice_after"), "amount_due");
         return outcome;
       }},
      {"balance", "<customer>", Needs::database, 1, 1,
       Accepts{.names = {"credit_balance", "amount_due", "accrued", "pending_charges"},
               .error = true},
       nullptr,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = state_of(session, step);
         const auto response =
             state.api().api().get("/v1/customers/" + step.words[0] + "/balance", state.key());
         Outcome outcome = ApiState::outcome_of(response, 200);
         if (outcome.error) return outcome;
         for (const char* name : {"credit_balance", "amount_due", "accrued", "pending_charges"}) {
           outcome.named[name] = response.field(name);
         }
         return outcome;
       }},
      {"ledger", "<account kind> [<customer>] [currency=<code>]", Needs::database, 1, 3,
       Accepts{.value = true, .error = true},
       [](const Step& step) -> std::optional<std::string> {
         if (!is_account_kind(step.words[0])) return "`" + step.words[0] + "` is no account kind";
         for (std::size_t i = 1; i < step.words.size(); ++i) {
           const bool is_option = (step.words[i].find('=') != std::string::npos);
           if (is_option ? !step.words[i].starts_with("currency=") : i != 1) {
             return "`" + step.words[i] + "` is neither the customer nor currency=<code>";
           }
         }
         return std::nullopt;
       },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return ledger_outcome(state_of(session, step), step);
       }},
  };
}

}  // namespace neruba::test::data
