#pragma once
// Shared by the billing service's files: ids derived from natural keys, ledger postings, the
// finalization of a draft and the expiry of credit. Not for use outside services/billing.
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/billing/billing.hpp"
#include "storage/customers.hpp"
#include "storage/ledger.hpp"

namespace neruba::services::billing::internal {

// prefix + the first 24 hex digits of SHA-256 over the parts: the same natural key gives the same
// id on every run and every backend (issue 17: determinism).
std::string derived_id(std::string_view prefix, std::initializer_list<std::string_view> parts);
std::string invoice_id_of(const TenantId& tenant, const CustomerId& customer, Instant at);

// One balanced ledger transaction; entries in minor units.
struct Movement {
  std::string kind;
  std::string cause;
  std::optional<std::string> corrects;
  std::optional<CustomerId> customer;
  domain::Currency currency;
  Instant effective_at;
  std::vector<storage::LedgerEntry> entries;
};
domain::ledger::Account customer_account(domain::ledger::AccountKind kind,
                                         const domain::Currency& currency,
                                         const CustomerId& customer);
domain::ledger::Account tenant_account(domain::ledger::AccountKind kind,
                                       const domain::Currency& currency);
// Checks (domain::ledger) and posts. A transaction that breaks a balance rule is a conflict
// (nothing written); one posted before for the same cause is a broken invariant (500).
Status post(storage::Tx& tx, const RequestContext& ctx, const TenantId& tenant, Movement movement);

// Where finalization and credit expiry put their ledger transactions and audit records: straight
// into storage, or — a billing run's chunk — held until flush() writes them all at once
// (storage::ledger::post_many, audit::append_many), in the order they came, with the audit ids
// taken as they came: the rows are the same either way.
class Journal {
 public:
  Journal(storage::Tx& tx, const RequestContext& ctx, bool buffered = false)
      : tx_(tx), ctx_(ctx), buffered_(buffered) {}
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Checked now (domain::ledger); buffered, written by flush() and never refused before it.
  Status post(Movement movement);
  void audit(audit::Entry entry);
  // A new invoice. Buffered, it is held (its finalization changes it in place) and inserted by
  // flush(); false when its customer and instant are taken (unbuffered: a refused flush, else).
  [[nodiscard]] bool insert_invoice(storage::InvoiceRecord invoice);
  // A draft's finalization (`invoice` as finalized — or paid — now): a held invoice changes in
  // place, a stored one is updated.
  Status finalize_invoice(const storage::InvoiceRecord& invoice);
  // The tenant's next invoice number. Buffered, the first locks the counter and the others count
  // on from it; flush() moves the counter past them.
  std::int64_t take_number();
  // Writes what is held. Its failure (a balance rule broken, an effect written before) names no
  // customer: the caller rolls the transaction back and bills again unbuffered to find it.
  Status flush();

 private:
  storage::Tx& tx_;
  const RequestContext& ctx_;
  bool buffered_;
  std::vector<storage::LedgerTransactionRecord> transactions_;
  std::vector<audit::Entry> entries_;
  std::vector<storage::InvoiceRecord> invoices_;
  std::map<std::string, std::size_t> held_;  // invoice id → its index in invoices_
  std::optional<std::int64_t> last_number_;  // buffered: the last number given
  std::int64_t numbers_held_ = 0;            // given after the first, not yet taken in storage
};

// Records the expiry of every grant of the customer whose expiry is at or before `at`: its
// remainder leaves the wallet in a ledger transaction effective at the expiry instant.
Status expire_credit(storage::Tx& tx, const RequestContext& ctx,
                     const storage::CustomerRecord& customer, Instant at, Journal& journal);

// A draft → finalized: its number, the ledger effect of its total, the credit it draws
// (priority, earliest expiry, oldest), paid when nothing is left due, and its audit record.
// `draft` is the invoice as stored, with its lines, read (or written) in `tx` with the
// customer's row locked; the finalization itself refuses one finalized meanwhile. A caller that
// knows the customer holds no credit grant says so (`may_hold_credit` false): no grant is read.
Status finalize_draft(storage::Tx& tx, const RequestContext& ctx,
                      const storage::CustomerRecord& customer, storage::InvoiceRecord draft,
                      Journal& journal, bool may_hold_credit = true);

Invoice invoice_view(storage::Tx& tx, const TenantId& tenant, storage::InvoiceRecord record,
                     const std::string& customer_external_id);
// The views of many invoices, in their order: customers' external ids, credit draws and payments
// read for all of them at once (a page of invoices, a billing run's report).
std::vector<Invoice> invoice_views(storage::Tx& tx, const TenantId& tenant,
                                   std::vector<storage::InvoiceRecord> records);

std::string money_text(std::int64_t minor, const domain::Currency& currency);

// A positive amount of the currency in a request field, in minor units (errors reported).
std::optional<std::int64_t> read_positive_amount(json::ObjectReader& reader, std::string_view name,
                                                 const domain::Currency& currency);

// The body's `customer` (an external id), its row locked as every money movement of the
// customer locks it; a not_found error on the field otherwise.
std::optional<storage::CustomerRecord> read_customer_for_update(storage::Tx& tx,
                                                                const TenantId& tenant,
                                                                json::ObjectReader& reader);
// The body's `currency`, which must be the customer's, and its positive `amount` in it (minor
// units). Without a customer the amount is only marked as known: its currency is unknown.
std::optional<std::int64_t> read_customer_amount(
    json::ObjectReader& reader, const std::optional<storage::CustomerRecord>& customer);

// A conflict naming the field at fault.
Error conflict(std::string slug, std::string field, std::string detail);

}  // namespace neruba::services::billing::internal
