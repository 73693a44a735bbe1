#pragma once
// Credit grants — a customer's wallets (issue 17): prepaid (bought) and promotional (given)
// credit, each with what remains of it. The schema keeps `remaining` between zero and the grant's
// amount, so no draw can take a wallet below zero; the ledger's account rule says the same of
// the sum. Draws record which grant paid how much of which invoice, so a void restores them.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

struct CreditGrantRecord {
  TenantId tenant;
  std::string id;  // grt_…
  CustomerId customer;
  std::string kind;  // prepaid | promotional
  std::string currency;
  std::int64_t amount_minor = 0;
  std::int64_t remaining_minor = 0;
  std::int64_t priority = 0;  // lower draws first
  std::optional<Instant> expires_at;
  std::optional<Instant> expired_at;  // when its expiry was recorded (the remainder left)
  std::optional<std::string> reason_code;
  std::string source;  // api | overpayment | invoice_credit
  std::optional<std::string> source_id;
  Instant created_at;
};

struct CreditDrawRecord {
  std::string invoice;
  std::string grant;
  std::int64_t index = 0;
  std::int64_t amount_minor = 0;
};

namespace credit_grants {
[[nodiscard]] bool insert(Tx& tx, const CreditGrantRecord& grant);
// The customer's grants in the currency with something remaining, in draw order: priority, then
// earliest expiry (none last), then oldest, then id.
std::vector<CreditGrantRecord> drawable(Tx& tx, const TenantId& tenant, const CustomerId& customer,
                                        const std::string& currency);
// The customers with ids in [first, last] holding a grant whose expiry is not recorded: the only
// ones with credit to draw or to expire (a billing run's chunk asks once for all its customers).
std::set<CustomerId> holders_between(Tx& tx, const TenantId& tenant, const CustomerId& first,
                                     const CustomerId& last);
// The customer's grants with something remaining whose expiry is at or before `at` and not yet
// recorded, by expiry then id.
std::vector<CreditGrantRecord> due_to_expire(Tx& tx, const TenantId& tenant,
                                             const CustomerId& customer, Instant at);
// Every grant of the customer, by creation then id.
std::vector<CreditGrantRecord> of_customer(Tx& tx, const TenantId& tenant,
                                           const CustomerId& customer);
// Takes `amount` from a grant's remainder. False when less remains (nothing written).
[[nodiscard]] bool draw(Tx& tx, const TenantId& tenant, const std::string& id,
                        std::int64_t amount_minor);
// Gives `amount` back to a grant (a void). False when that would exceed the grant's amount.
[[nodiscard]] bool restore(Tx& tx, const TenantId& tenant, const std::string& id,
                           std::int64_t amount_minor);
// Records a grant's expiry: its remainder becomes zero. False when already recorded.
[[nodiscard]] bool expire(Tx& tx, const TenantId& tenant, const std::string& id, Instant at);
[[nodiscard]] bool insert_draw(Tx& tx, const TenantId& tenant, const CreditDrawRecord& draw);
// An invoice's draws, by index.
std::vector<CreditDrawRecord> draws_of(Tx& tx, const TenantId& tenant, const std::string& invoice);
// The draws of many invoices by invoice id, each's by index; an invoice without draws is absent.
std::map<std::string, std::vector<CreditDrawRecord>, std::less<>> draws_of_many(
    Tx& tx, const TenantId& tenant, std::span<const std::string> invoices);
}  // namespace credit_grants

}  // namespace neruba::storage
