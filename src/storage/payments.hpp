#pragma once
// Payments against invoices (API.md POST /v1/payments): unique per tenant, provider and provider
// payment id. `applied` went to the invoice, `excess` (an overpayment) to the customer's prepaid
// credit; the schema keeps applied + excess = amount.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct PaymentRecord {
  TenantId tenant;
  std::string id;  // pay_…
  std::string invoice;
  CustomerId customer;
  std::string provider;  // manual | stripe
  std::string provider_payment_id;
  std::string currency;
  std::int64_t amount_minor = 0;
  std::int64_t applied_minor = 0;
  std::int64_t excess_minor = 0;
  Instant created_at;
};

namespace payments {
// False when the provider payment id is taken.
[[nodiscard]] bool insert(Tx& tx, const PaymentRecord& payment);
std::optional<PaymentRecord> find_by_provider_id(Tx& tx, const TenantId& tenant,
                                                 const std::string& provider,
                                                 const std::string& provider_payment_id);
std::vector<PaymentRecord> of_invoice(Tx& tx, const TenantId& tenant, const std::string& invoice);
// The payments of many invoices by invoice id, each's in payment order; an invoice without
// payments is absent.
std::map<std::string, std::vector<PaymentRecord>, std::less<>> of_invoices(
    Tx& tx, const TenantId& tenant, std::span<const std::string> invoices);
}  // namespace payments

}  // namespace neruba::storage
