#pragma once
// Billing (API.md "Money", "Billing semantics"; issue 17): billing runs that turn priced periods
// into invoices, the invoice lifecycle (draft → finalized → paid | void), credit grants and their
// draws, one-off charges and payments. Every money movement is one balanced ledger transaction
// (storage/ledger) written in the same database transaction as the business change and its audit
// record; storage enforces the balance rules at write time.
//
// Exactly once: an invoice's id is derived from its customer and billing instant, and the pair is
// unique; a ledger transaction's kind and cause are unique; a billing run works customer by
// customer under the tenant's billing lock (storage/locks.hpp), which a dead holder loses with its
// connection. Running a window again recomputes drafts and creates nothing new.
//
// Lock order: the tenant's billing lock (runs only) → the customer's row → its invoices' rows →
// the tenant row (audit chain head).
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "json/json.hpp"
#include "services/context.hpp"
#include "services/page.hpp"
#include "storage/billing_runs.hpp"
#include "storage/charges.hpp"
#include "storage/credit_grants.hpp"
#include "storage/db.hpp"
#include "storage/invoices.hpp"
#include "storage/payments.hpp"

namespace neruba::services::billing {

// An invoice as the API shows it: the stored invoice with its customer's external id, the credit
// draws and the payments against it.
struct Invoice {
  storage::InvoiceRecord record;
  std::string customer;  // external_id
  std::vector<storage::CreditDrawRecord> draws;
  std::vector<storage::PaymentRecord> payments;
};

// ---- Billing runs ----

// How many customers one transaction of a run bills.
inline constexpr std::size_t run_chunk_customers = 200;

struct RunRequest {
  Instant as_of;
  std::optional<std::string> customer;  // external_id: bill only this customer
  bool finalize = true;  // finalize the invoices whose grace period has ended by as_of
  // Not part of the API: tests make chunks small to see a run commit part of its work.
  std::size_t chunk_customers = run_chunk_customers;
};
// POST /v1/billing-runs body; `as_of` defaults to now and may not be in the future.
Result<RunRequest> parse_run_request(const json::Value& body, const RequestContext& ctx);

// A customer a run could not bill (an invoice amount beyond what a ledger holds, a balance rule,
// …): nothing of it was written by the run.
struct CustomerFailure {
  CustomerId customer;
  std::string external_id;
  Error error;
};

struct RunOutcome {
  std::string id;  // run_…
  RunRequest request;
  Instant started_at;
  std::int64_t customers = 0;
  std::int64_t invoices_created = 0;
  std::int64_t invoices_updated = 0;
  std::int64_t invoices_finalized = 0;
  std::vector<std::string> invoices;      // created, recomputed or finalized by this run, in order
  std::vector<CustomerFailure> failures;  // in the order the run met them
};

// Bills everything due at or before `as_of`, a chunk of customers per transaction (each under the
// tenant's billing lock). A customer whose billing fails with an expected error (a value, not an
// exception) is left out: its chunk is rolled back and billed again without it, and the run goes
// on, reporting it in `failures` — one customer never stops the tenant's billing. A run of one
// customer (`request.customer`) returns that customer's error instead. A storage failure (an
// exception) stops the run: what committed stays, and running again continues where it stopped
// without billing anything twice.
Result<RunOutcome> bill(storage::Db& db, const RequestContext& ctx, const RunRequest& request);

struct RunReport {
  storage::BillingRunRecord record;
  std::vector<Invoice> invoices;  // the first `report_invoices_max` the run touched, without lines
  bool invoices_truncated = false;
  std::int64_t customers_failed = 0;
  std::vector<CustomerFailure> failures;  // the first `report_failures_max`
};
inline constexpr std::size_t report_invoices_max = 1000;
inline constexpr std::size_t report_failures_max = 100;
// Records a finished run (its receipt and audit record) in the caller's transaction.
Result<RunReport> record_run(storage::Tx& tx, const RequestContext& ctx, const RunOutcome& run);

// bill, then record_run in a transaction of its own: `neruba bill-run` and the billing scheduler.
// (POST /v1/billing-runs records the run in the transaction that completes its Idempotency-Key.)
Result<RunReport> bill_and_record(storage::Db& db, const RequestContext& ctx,
                                  const RunRequest& request);

// ---- Invoices ----

Result<Invoice> get_invoice(storage::Tx& tx, const RequestContext& ctx, const std::string& id);
Result<Page<Invoice>> list_invoices(storage::Tx& tx, const RequestContext& ctx,
                                    const std::optional<std::string>& customer,
                                    const std::optional<std::string>& status,
                                    const std::string& cursor, std::size_t limit);
// POST /v1/invoices/{id}/finalize: a draft now, before its grace period ends.
Result<Invoice> finalize_invoice(storage::Tx& tx, const RequestContext& ctx, const std::string& id);
// POST /v1/invoices/{id}/void (operator): { reason_code, justification }.
Result<Invoice> void_invoice(storage::Tx& tx, const RequestContext& ctx, const std::string& id,
                             const json::Value& body);

// ---- Credits ----

// POST /v1/credit-grants
Result<storage::CreditGrantRecord> grant_credit(storage::Tx& tx, const RequestContext& ctx,
                                                const json::Value& body);
struct Balance {
  std::string customer;  // external_id
  domain::Currency currency;
  std::int64_t credit_balance_minor = 0;  // unexpired remaining credit now
  std::int64_t amount_due_minor = 0;      // finalized invoices not paid yet
  std::int64_t accrued_minor = 0;         // the open periods' upcoming invoices, so far
  std::int64_t pending_charges_minor = 0;
  std::vector<storage::CreditGrantRecord> grants;  // with credit remaining now, in draw order
};
// GET /v1/customers/{external_id}/balance
Result<Balance> balance(storage::Tx& tx, const RequestContext& ctx, const std::string& external_id);

// ---- Charges and payments ----

struct Charge {
  storage::ChargeRecord record;
  std::string customer;  // external_id
  bool created = true;   // false: the same charge was posted before with this key
};
// POST /v1/charges
Result<Charge> create_charge(storage::Tx& tx, const RequestContext& ctx, const json::Value& body);

struct Payment {
  storage::PaymentRecord record;
  Invoice invoice;                          // after the payment
  std::optional<std::string> credit_grant;  // the prepaid credit an overpayment became
};
// POST /v1/payments
Result<Payment> record_payment(storage::Tx& tx, const RequestContext& ctx, const json::Value& body);

// Ledger checks that involve invoices: every issued invoice's ledger effect equals its totals.
// The first violation, none when all hold (services/billing/ledger.hpp runs it with the rest).
std::optional<std::string> first_invoice_violation(storage::Tx& tx, const TenantId& tenant);

// Documents (the API's and the audit trail's shapes).
json::Value invoice_document(const Invoice& invoice, bool with_lines);
json::Value grant_document(const storage::CreditGrantRecord& grant, const std::string& customer);
json::Value charge_json(const Charge& charge);
json::Value payment_json(const storage::PaymentRecord& payment);

}  // namespace neruba::services::billing
