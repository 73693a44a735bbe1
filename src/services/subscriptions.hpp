#pragma once
// Subscriptions (API.md "Subscriptions"): a customer on a plan over time. Create, change and cancel
// extend the subscription's timeline (storage/subscriptions: phases, never edited); every write is
// in the audit trail with its effective date. The upcoming invoice is domain::pricing's invoice at
// the end of the current billing period, with the usage so far — the computation a billing run
// finalizes.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/error.hpp"
#include "domain/pricing/period.hpp"
#include "json/json.hpp"
#include "services/context.hpp"
#include "services/page.hpp"
#include "services/usage.hpp"
#include "storage/db.hpp"
#include "storage/meters.hpp"
#include "storage/subscriptions.hpp"

namespace neruba::services::subscriptions {

// A subscription as the API shows it: the stored timeline and what it means now.
struct Subscription {
  storage::SubscriptionRecord record;
  std::string customer;  // the customer's external_id
  std::string status;    // scheduled | trialing | active | canceled
  // The phase in force now (the first before the start, the last before the end after it).
  storage::SubscriptionPhase current;
  std::optional<domain::calendar::Period> current_period;  // none unless start <= now < end
};

// POST /v1/subscriptions
Result<Subscription> create(storage::Tx& tx, const RequestContext& ctx, const json::Value& body);
// POST /v1/subscriptions/{id}/changes
Result<Subscription> change(storage::Tx& tx, const RequestContext& ctx, const std::string& id,
                            const json::Value& body);
// POST /v1/subscriptions/{id}/cancel
Result<Subscription> cancel(storage::Tx& tx, const RequestContext& ctx, const std::string& id,
                            const json::Value& body);
// GET /v1/subscriptions/{id}
Result<Subscription> get(storage::Tx& tx, const RequestContext& ctx, const std::string& id);
// GET /v1/subscriptions?customer=
Result<Page<Subscription>> list(storage::Tx& tx, const RequestContext& ctx,
                                const std::string& customer, const std::string& cursor,
                                std::size_t limit);

struct Upcoming {
  std::string subscription;
  Instant usage_until;  // usage is read up to here: now, or the start before it
  domain::pricing::Invoice invoice;
};

// GET /v1/subscriptions/{id}/upcoming
Result<Upcoming> upcoming(storage::Tx& tx, const RequestContext& ctx, const std::string& id);

// The plan versions and meters a transaction has read, for a billing run pricing many
// subscriptions in one transaction: each plan and the meter list are read once. Valid for one
// transaction only (a later one may see new versions).
struct CatalogCache {
  std::map<std::string, std::vector<domain::pricing::PlanVersion>, std::less<>> plans;
  std::optional<std::vector<storage::MeterRecord>> meters;
};
// A subscription's due invoices in two steps, so that a billing run reads the usage of many
// subscriptions at once (services::usage::meter_usage_many): the scopes of its due billing
// instants, each with the usage windows it needs; then each priced with the usage read for them.
struct DueScopes {
  std::string subscription;
  std::vector<domain::pricing::InvoiceScope> scopes;  // by instant; each scope's `at`
  std::shared_ptr<const void> keep;  // what the scopes point into (timeline, catalog, meters)
  std::map<std::string, storage::MeterRecord, std::less<>> const* meters = nullptr;  // by code
};
Result<DueScopes> due_scopes(storage::Tx& tx, const TenantId& tenant,
                             const storage::SubscriptionRecord& record, const std::string& timezone,
                             Instant until, const std::function<bool(Instant)>& wanted,
                             CatalogCache& cache);
// The usage of one window from what meter_usage(_many) read for it; reads each event's amount
// when the window asks for them (a percentage charge clamped per event).
Result<domain::pricing::WindowUsage> window_usage(storage::Tx& tx, const TenantId& tenant,
                                                  const storage::MeterRecord& meter,
                                                  const CustomerId& customer,
                                                  const domain::pricing::UsageWindow& window,
                                                  const usage::MeterUsage& read);
Result<domain::pricing::Invoice> price_scope(const domain::pricing::InvoiceScope& scope,
                                             std::span<const domain::pricing::WindowUsage> usage);


// No double billing when a plan gains a version: for every subscription on the plan live after
// `effective_from`, no other subscription of its customer may price a meter `versions` (the plan's
// versions, the new one included) price. Takes each such customer's row, in customer id order;
// the caller holds the plan's row for update.
Status check_plan_version_meters(storage::Tx& tx, const TenantId& tenant,
                                 const std::string& plan_code,
                                 const std::vector<domain::pricing::PlanVersion>& versions,
                                 Instant effective_from);

// A subscription as the API shows it and the audit trail records it.
json::Value subscription_document(const Subscription& subscription);

}  // namespace neruba::services::subscriptions
