#pragma once
// Invoices and their lines (API.md "Money"; issue 17). One invoice per customer and billing
// instant (unique). A draft's lines are derived state, replaced when a billing run recomputes it;
// a finalized invoice's lines and totals are never written again — finalization, payment and void
// only move its status and its credit/payment columns, each under a condition on its status, and
// the schema refuses an invoice paid or credited beyond its total. Money is in minor units.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "domain/currency.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

enum class InvoiceStatus { draft, finalized, paid, void_ };
std::string_view invoice_status_name(InvoiceStatus status);
[[nodiscard]] std::optional<InvoiceStatus> parse_invoice_status(std::string_view name);
// An invoice number as documents show it: "INV-000042" (at least six digits).
std::string invoice_number_text(std::int64_t number);

struct InvoiceLineRecord {
  std::string id;  // il_…, derived from the invoice id and the index
  std::optional<std::string> subscription;
  std::optional<std::string> charge;  // a one-off charge's id
  std::string charge_type;            // recurring | seat | usage | proration | minimum_commitment
                                      // | one_off
  std::string description;
  std::optional<std::string> meter;
  std::string quantity;  // exact decimal text
  std::optional<std::string> unit_price;
  std::int64_t amount_minor = 0;
  Instant period_start;
  Instant period_end;
  std::string inputs;  // canonical JSON of everything the line was computed from
  std::string digest;  // SHA-256 (hex) of `inputs`
  friend bool operator==(const InvoiceLineRecord&, const InvoiceLineRecord&) = default;
};

struct InvoiceRecord {
  TenantId tenant;
  std::string id;  // inv_…, derived from the customer and the billing instant
  CustomerId customer;
  Instant billing_instant;
  domain::Currency currency;
  InvoiceStatus status = InvoiceStatus::draft;
  std::optional<std::int64_t> number;  // once finalized
  Instant period_start;
  Instant period_end;
  std::int64_t subtotal_minor = 0;
  std::int64_t total_minor = 0;
  std::int64_t credits_applied_minor = 0;
  std::int64_t amount_paid_minor = 0;
  Instant created_at;
  Instant updated_at;
  std::optional<Instant> finalized_at;
  std::optional<Instant> paid_at;
  std::optional<Instant> voided_at;
  std::optional<std::string> run_id;  // the billing run that last computed it
  std::vector<InvoiceLineRecord> lines;

  std::int64_t amount_due_minor() const {
    return total_minor - credits_applied_minor - amount_paid_minor;
  }
};

struct InvoiceFilter {
  std::optional<CustomerId> customer;
  std::optional<InvoiceStatus> status;
  std::string after_id;  // cursor: invoices after this id, in id order
  std::size_t limit = 100;
};

namespace invoices {
// Inserts a draft with its lines. False when the customer has an invoice at that billing instant
// (or the id is taken).
[[nodiscard]] bool insert_draft(Tx& tx, const InvoiceRecord& invoice);
// Inserts invoices as they are (a billing run's chunk: drafts, or invoices finalized in the same
// transaction) with their lines. Returns how many were inserted: fewer than given when one's
// customer and instant (or id) is taken — then no line is written and the caller rolls back.
[[nodiscard]] std::int64_t insert_many(Tx& tx, std::span<const InvoiceRecord> invoices);
// Replaces a draft's lines, period and totals. False when the invoice is not a draft (anymore).
[[nodiscard]] bool replace_draft(Tx& tx, const InvoiceRecord& invoice);
[[nodiscard]] std::optional<InvoiceRecord> find(Tx& tx, const TenantId& tenant,
                                                const std::string& id);
// find, locking the invoice's row for the rest of the transaction (PostgreSQL FOR UPDATE).
[[nodiscard]] std::optional<InvoiceRecord> find_for_update(Tx& tx, const TenantId& tenant,
                                                           const std::string& id);
// The customer's invoices (without lines) at billing instants in [from, to], by instant.
std::vector<InvoiceRecord> of_customer_between(Tx& tx, const TenantId& tenant,
                                               const CustomerId& customer, Instant from,
                                               Instant to);
// The invoices (without lines) of the customers with ids in [first, last] at billing instants in
// [from, to], by customer and instant: a billing run's chunk in one read.
std::vector<InvoiceRecord> of_customers_between(Tx& tx, const TenantId& tenant,
                                                const CustomerId& first, const CustomerId& last,
                                                Instant from, Instant to);
// The invoices with these ids, with their lines, in the order asked (each once); an id no
// invoice has is left out. A few statements for any number of invoices.
std::vector<InvoiceRecord> find_many(Tx& tx, const TenantId& tenant,
                                     std::span<const std::string> ids);
// A page in id order, without lines.
std::vector<InvoiceRecord> page(Tx& tx, const TenantId& tenant, const InvoiceFilter& filter);
// Every non-draft invoice of the tenant (without lines) after `after_id`, in id order.
std::vector<InvoiceRecord> issued_page(Tx& tx, const TenantId& tenant, const std::string& after_id,
                                       std::size_t limit);

// The last of the tenant's next `count` invoice numbers, taken for this transaction (its counter
// row stays locked until it ends): numbers given to transactions that roll back are given again,
// so finalized numbers have no gaps.
[[nodiscard]] std::int64_t take_number(Tx& tx, const TenantId& tenant, std::int64_t count = 1);
// draft → finalized with its number. False when the invoice is not a draft.
[[nodiscard]] bool finalize(Tx& tx, const TenantId& tenant, const std::string& id,
                            std::int64_t number, std::int64_t credits_applied_minor, Instant at);
// Adds a payment to a finalized invoice; it becomes paid when nothing is due. False when the
// invoice is not finalized or the payment is more than its amount due.
[[nodiscard]] bool add_payment(Tx& tx, const TenantId& tenant, const std::string& id,
                               std::int64_t amount_minor, Instant at);
// finalized, or paid by credit alone (nothing paid) → void. False otherwise.
[[nodiscard]] bool void_invoice(Tx& tx, const TenantId& tenant, const std::string& id, Instant at);
// finalized with nothing due → paid (an invoice its credits covered). False otherwise.
[[nodiscard]] bool mark_paid(Tx& tx, const TenantId& tenant, const std::string& id, Instant at);
}  // namespace invoices

}  // namespace neruba::storage
