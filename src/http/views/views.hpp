#pragma once
// The JSON shapes of API.md, one function per resource: typed records from the use cases in,
// documents out. Nothing here reads storage or decides anything; a view only shows.
#include <functional>
#include <optional>
#include <string>

#include "json/json.hpp"
#include "services/audit_log.hpp"
#include "services/billing/billing.hpp"
#include "services/billing/ledger.hpp"
#include "services/catalog.hpp"
#include "services/customers.hpp"
#include "services/ingest.hpp"
#include "services/meters.hpp"
#include "services/page.hpp"
#include "services/platform.hpp"
#include "services/subscriptions.hpp"
#include "services/usage.hpp"

namespace neruba::http::views {

// A response body as the route answers it, and — when a replay of its Idempotency-Key must answer
// something else (a secret shown once) — the body a replay answers.
struct Rendered {
  int status = 200;
  json::Value body;
  std::optional<json::Value> replay_body;
};

// `{ "data": [ … ], "next_cursor": "…" | null }` (API.md "Lists").
template <typename T>
json::Value page(const services::Page<T>& page, const std::function<json::Value(const T&)>& item) {
  json::Value data = json::Value::array();
  for (const auto& entry : page.items) data.push_back(item(entry));
  json::Value out = json::Value::object();
  out.set("data", std::move(data));
  out.set("next_cursor",
          page.next_cursor ? json::Value::string(*page.next_cursor) : json::Value::null());
  return out;
}

json::Value tenant(const storage::TenantRecord& tenant);
json::Value settings(const storage::TenantRecord& tenant);  // GET /v1/settings
json::Value api_key(const storage::ApiKeyRecord& key);
// POST …/api-keys: the key with its secret; its replay shows the key without it.
Rendered created_api_key(const services::platform::CreatedApiKey& created);

json::Value customer(const storage::CustomerRecord& customer);
json::Value meter(const storage::MeterRecord& meter);
json::Value customer_usage(const services::usage::CustomerUsage& usage);

// A plan with every version (GET /v1/plans/{code}), or — in a list — with its latest only.
json::Value plan(const services::catalog::PlanWithVersions& plan);
json::Value plan_summary(const services::catalog::PlanWithVersions& plan);

json::Value subscription(const services::subscriptions::Subscription& subscription);
// GET /v1/subscriptions/{id}/upcoming: the invoice's lines, each with its explanation.
json::Value upcoming(const services::subscriptions::Upcoming& upcoming);

// Invoices: whole (GET /v1/invoices/{id}), or without lines (lists, runs, audit records).
json::Value invoice(const services::billing::Invoice& invoice);
json::Value invoice_summary(const services::billing::Invoice& invoice);
// GET /v1/invoices/{id}/explain: every line's inputs and digest, the credit draws, the payments.
json::Value invoice_explanation(const services::billing::Invoice& invoice);
json::Value billing_run(const services::billing::RunReport& report);
json::Value credit_grant(const storage::CreditGrantRecord& grant, const std::string& customer);
json::Value balance(const services::billing::Balance& balance);
json::Value charge(const services::billing::Charge& charge);
json::Value payment(const services::billing::Payment& payment);

// GET /v1/ledger/balances and GET /v1/ledger/transactions: amounts with the currency's digits.
json::Value ledger_balance(const services::ledger::AccountBalance& balance);
json::Value ledger_transaction(const services::ledger::Transaction& transaction);

json::Value ingest_report(const services::ingest::IngestReport& report);

json::Value audit_record(const storage::AuditRecord& record);
json::Value audit_verification(const services::audit::VerifyReport& report);

}  // namespace neruba::http::views
