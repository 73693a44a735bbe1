#pragma once
// Customers: the tenant's end customers (API.md Catalog). One path creates a customer, whoever
// asks — POST /v1/customers or ingest's auto-creation: the same checks, the same audit record.
#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "services/context.hpp"
#include "services/page.hpp"
#include "storage/customers.hpp"
#include "storage/db.hpp"

namespace neruba::services::customers {

struct NewCustomer {
  std::string external_id;
  std::string name;
  std::optional<domain::Currency> currency;  // the tenant's when absent
  std::optional<std::string> timezone;       // the tenant's when absent
  json::Value metadata = json::Value::object();
  std::optional<std::int64_t> invoice_grace_period_days;  // the tenant's setting when absent
  // Kept in the audit record: why the customer was created (ingest says it created it).
  std::optional<std::string> justification;
};

// A POST /v1/customers body, every problem reported.
Result<NewCustomer> parse_new_customer(const json::Value& body);

// Creates the customer and records it in the audit trail. already_exists when the external id is
// taken (also by a transaction that committed while this one waited for it).
Result<storage::CustomerRecord> create(storage::Tx& tx, const RequestContext& ctx,
                                       const NewCustomer& customer);

// The customer with this external id: the stored one, or — when there is none — one created by
// create(). When another transaction creates the same customer first, that one is returned and
// nothing is created or recorded here: one row, one audit record, whoever wins.
Result<storage::CustomerRecord> find_or_create(storage::Tx& tx, const RequestContext& ctx,
                                               const NewCustomer& customer);

// PATCH /v1/customers/{external_id}: `{ "invoice_grace_period_days": n | null }` sets the
// customer's own grace period (null: the tenant's applies again); a member left out keeps its
// value. Checks the body before anything else; audited as customer.updated with the customer
// before and after, unless nothing changed.
Result<storage::CustomerRecord> update(storage::Tx& tx, const RequestContext& ctx,
                                       const std::string& external_id, const json::Value& body);

Result<storage::CustomerRecord> get(storage::Tx& tx, const RequestContext& ctx,
                                    const std::string& external_id);
Page<storage::CustomerRecord> list(storage::Tx& tx, const RequestContext& ctx,
                                   const std::string& cursor, std::size_t limit);

// The document the audit trail records for a customer.
json::Value customer_document(const storage::CustomerRecord& customer);

// The days the invoices of a closed period of `customer` stay drafts (issue 17): its own
// override when it has one, else `tenant_days`, the tenant's invoice_grace_period_days.
std::int64_t invoice_grace_period_days(std::int64_t tenant_days,
                                       const storage::CustomerRecord& customer);

}  // namespace neruba::services::customers
