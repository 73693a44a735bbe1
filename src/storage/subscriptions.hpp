#pragma once
// Subscriptions (API.md "Subscriptions"): a customer on a plan, as a timeline of phases — from each
// phase's instant on, a plan, a seat count and a billing anchor — that changes extend and a
// cancellation ends. Nothing of a timeline is edited: a change is a new phase.
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace neruba::storage {

// How a change weighs the part of a period it cuts off.
enum class ChangeProration { prorate, none };

struct SubscriptionPhase {
  Instant effective_from;
  std::string plan_code;
  std::int64_t seats = 0;
  Instant billing_anchor;  // periods run from here while this phase lasts
  ChangeProration proration = ChangeProration::prorate;  // of the change that began the phase
  Instant created_at;
};

struct SubscriptionRecord {
  TenantId tenant;
  std::string id;  // sub_…
  CustomerId customer;
  Instant start;
  std::optional<Instant> trial_end;
  std::optional<Instant> ends_at;  // a cancellation, effective then
  Instant created_at;
  std::vector<SubscriptionPhase> phases;  // by effective_from; the first starts at `start`
};

namespace subscriptions {
// Inserts the subscription and its phases. False when the id is taken.
[[nodiscard]] bool insert(Tx& tx, const SubscriptionRecord& subscription);
std::optional<SubscriptionRecord> find(Tx& tx, const TenantId& tenant, const std::string& id);
// find, locking the subscription's row for the rest of the transaction (PostgreSQL FOR UPDATE;
// SQLite's writer holds the database): changes of one subscription take turns.
std::optional<SubscriptionRecord> find_for_update(Tx& tx, const TenantId& tenant,
                                                  const std::string& id);
// A customer's subscriptions, in id order, after `after_id`.
// The subscriptions (with their phases) of the customers with ids in [first, last], by customer
// and id: a billing run's chunk in two reads.
std::vector<SubscriptionRecord> of_customers_between(Tx& tx, const TenantId& tenant,
                                                     const CustomerId& first,
                                                     const CustomerId& last);
std::vector<SubscriptionRecord> of_customer(Tx& tx, const TenantId& tenant,
                                            const CustomerId& customer, const std::string& after_id,
                                            std::size_t limit);
struct PlanSubscriber {
  CustomerId customer;
  std::string subscription;
};
// The subscriptions with a phase on the plan that are live after `live_after` (no end, or an end
// after it), by customer then id.
std::vector<PlanSubscriber> on_plan(Tx& tx, const TenantId& tenant, const std::string& plan_code,
                                    Instant live_after);
// Appends a phase. False when the subscription has a phase at that instant.
[[nodiscard]] bool add_phase(Tx& tx, const TenantId& tenant, const std::string& id,
                             const SubscriptionPhase& phase);
// Sets the end of a subscription that has none. False when it has one (or does not exist).
[[nodiscard]] bool end(Tx& tx, const TenantId& tenant, const std::string& id, Instant ends_at);
}  // namespace subscriptions

}  // namespace neruba::storage
