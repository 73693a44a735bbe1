#include "storage/subscriptions.hpp"

#include <map>

#include "domain/time.hpp"
#include "storage/sql_util.hpp"

namespace neruba::storage::subscriptions {
namespace {

using domain::from_unix_micros;
using domain::to_unix_micros;

constexpr std::string_view subscription_columns =
    "tenant_id, subscription_id, customer_id, start_at, trial_end, ends_at, created_at";

std::optional<Instant> optional_instant(const Row& row, std::size_t i) {
  if (row.is_null(i)) return std::nullopt;
  return from_unix_micros(row.integer(i));
}

Param optional_micros(const std::optional<Instant>& at) {
  if (at) return to_unix_micros(*at);
  return std::monostate{};
}

SubscriptionRecord subscription_from_row(const Row& row) {
  return SubscriptionRecord{TenantId(row.text(0)),
                            row.text(1),
                            CustomerId(row.text(2)),
                            from_unix_micros(row.integer(3)),
                            optional_instant(row, 4),
                            optional_instant(row, 5),
                            from_unix_micros(row.integer(6)),
                            {}};
}

constexpr std::string_view phase_columns =
    "effective_from, plan_code, seats, billing_anchor, proration, created_at";

// A phase from its columns, which start at column `at` of the row.
SubscriptionPhase phase_from_row(const Row& row, std::size_t at) {
  return SubscriptionPhase{
      from_unix_micros(row.integer(at)),
      row.text(at + 1),
      row.integer(at + 2),
      from_unix_micros(row.integer(at + 3)),
      row.text(at + 4) == "none" ? ChangeProration::none : ChangeProration::prorate,
      from_unix_micros(row.integer(at + 5))};
}

std::vector<SubscriptionPhase> phases_of(Tx& tx, const TenantId& tenant, const std::string& id) {
  const auto rows = tx.query(sql::select_from(phase_columns,
                                              "FROM subscription_phases WHERE tenant_id = $1 AND "
                                              "subscription_id = $2 ORDER BY effective_from"),
                             {tenant.str(), id});
  std::vector<SubscriptionPhase> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(phase_from_row(row, 0));
  return out;
}

std::optional<SubscriptionRecord> find_with(Tx& tx, const TenantId& tenant, const std::string& id,
                                            std::string_view suffix) {
  const auto rows =
      tx.query(sql::select_from(subscription_columns,
                                "FROM subscriptions WHERE tenant_id = $1 AND subscription_id = $2" +
                                    std::string(suffix)),
               {tenant.str(), id});
  if (rows.empty()) return std::nullopt;
  SubscriptionRecord record = subscription_from_row(rows.front());
  record.phases = phases_of(tx, tenant, id);
  return record;
}

}  // namespace

bool add_phase(Tx& tx, const TenantId& tenant, const std::string& id,
               const SubscriptionPhase& phase) {
  return tx.exec(
             "INSERT INTO subscription_phases (tenant_id, subscription_id, effective_from, "
             "plan_code, seats, billing_anchor, proration, created_at) VALUES ($1, $2, $3, $4, $5, "
             "$6, $7, $8) ON CONFLICT DO NOTHING",
             {tenant.str(), id, to_unix_micros(phase.effective_from), phase.plan_code, phase.seats,
              to_unix_micros(phase.billing_anchor),
              std::string(phase.proration == ChangeProration::none ? "none" : "prorate"),
              to_unix_micros(phase.created_at)}) == 1;
}

bool insert(Tx& tx, const SubscriptionRecord& s) {
  if (tx.exec("INSERT INTO subscriptions (tenant_id, subscription_id, customer_id, start_at, "
              "trial_end, ends_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO "
              "NOTHING",
              {s.tenant.str(), s.id, s.customer.str(), to_unix_micros(s.start),
               optional_micros(s.trial_end), optional_micros(s.ends_at),
               to_unix_micros(s.created_at)}) != 1) {
    return false;
  }
  for (const auto& phase : s.phases) {
    if (!add_phase(tx, s.tenant, s.id, phase)) {
      throw StorageError(StorageError::Kind::other,
                         "a new subscription's phases share an instant: " + s.id);
    }
  }
  return true;
}

std::optional<SubscriptionRecord> find(Tx& tx, const TenantId& tenant, const std::string& id) {
  return find_with(tx, tenant, id, "");
}

std::optional<SubscriptionRecord> find_for_update(Tx& tx, const TenantId& tenant,
                                                  const std::string& id) {
  return find_with(tx, tenant, id, tx.dialect() == Dialect::postgres ? " FOR UPDATE" : "");
}

std::vector<SubscriptionRecord> of_customer(Tx& tx, const TenantId& tenant,
                                            const CustomerId& customer, const std::string& after_id,
                                            std::size_t limit) {
  const auto rows =
      tx.query(sql::select_from(subscription_columns,
                                "FROM subscriptions WHERE tenant_id = $1 AND customer_id = $2 AND "
                                "subscription_id > $3 ORDER BY subscription_id LIMIT $4"),
               {tenant.str(), customer.str(), after_id, static_cast<std::int64_t>(limit)});
  std::vector<SubscriptionRecord> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back(subscription_from_row(row));
    out.back().phases = phases_of(tx, tenant, out.back().id);
  }
  return out;
}

std::vector<SubscriptionRecord> of_customers_between(Tx& tx, const TenantId& tenant,
                                                     const CustomerId& first,
                                                     const CustomerId& last) {
  const std::vector<Param> params{tenant.str(), first.str(), last.str()};
  const auto rows =
      tx.query(sql::select_from(subscription_columns,
                                "FROM subscriptions WHERE tenant_id = $1 AND customer_id >= $2 AND "
                                "customer_id <= $3 ORDER BY customer_id, subscription_id"),
               params);
  std::vector<SubscriptionRecord> out;
  out.reserve(rows.size());
  std::map<std::string, std::size_t, std::less<>> position;
  for (const auto& row : rows) {
    out.push_back(subscription_from_row(row));
    position.emplace(out.back().id, out.size() - 1);
  }
  if (out.empty()) return out;
  const auto phases = tx.query(
      "SELECT p.subscription_id, p.effective_from, p.plan_code, p.seats, p.billing_anchor, "
      "p.proration, p.created_at FROM subscriptions s JOIN subscription_phases p ON p.tenant_id = "
      "s.tenant_id AND p.subscription_id = s.subscription_id WHERE s.tenant_id = $1 AND "
      "s.customer_id >= $2 AND s.customer_id <= $3 ORDER BY p.subscription_id, p.effective_from",
      params);
  for (const auto& row : phases) {
    const auto at = position.find(row.text(0));
    // A subscription written between the two reads is not in `out`: its phases go with it.
    if (at == position.end()) continue;
    out[at->second].phases.push_back(phase_from_row(row, 1));
  }
  return out;
}

std::vector<PlanSubscriber> on_plan(Tx& tx, const TenantId& tenant, const std::string& plan_code,
                                    Instant live_after) {
  const auto rows = tx.query(
      "SELECT DISTINCT s.customer_id, s.subscription_id FROM subscriptions s JOIN "
      "subscription_phases p ON p.tenant_id = s.tenant_id AND p.subscription_id = "
      "s.subscription_id WHERE s.tenant_id = $1 AND p.plan_code = $2 AND (s.ends_at IS NULL OR "
      "s.ends_at > $3) ORDER BY s.customer_id, s.subscription_id",
      {tenant.str(), plan_code, to_unix_micros(live_after)});
  std::vector<PlanSubscriber> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(PlanSubscriber{CustomerId(row.text(0)), row.text(1)});
  return out;
}

bool end(Tx& tx, const TenantId& tenant, const std::string& id, Instant ends_at) {
  return tx.exec(
             "UPDATE subscriptions SET ends_at = $3 WHERE tenant_id = $1 AND subscription_id = $2 "
             "AND ends_at IS NULL",
             {tenant.str(), id, to_unix_micros(ends_at)}) == 1;
}

}  // namespace neruba::storage::subscriptions
