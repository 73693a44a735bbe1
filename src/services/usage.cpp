#include "services/usage.hpp"

#include <algorithm>
#include <numeric>
#include <set>
#include <string_view>
#include <unordered_map>

#include "common/assert.hpp"
#include "common/limits.hpp"
#include "storage/customers.hpp"
#include "storage/events.hpp"
#include "storage/locks.hpp"
#include "storage/usage.hpp"

namespace neruba::services::usage {
namespace {

using storage::usage::usage_day_length;
using storage::usage::usage_day_start;

Instant next_boundary(Instant at, Instant start, std::chrono::microseconds length) {
  return start == at ? at : start + length;
}

// How a window [from, to) is read: raw events over [from, head_to) and [tail_from, to), whole
// hours over [hours_from, hours_to) — of which the days [days_from, days_to) from the daily
// rollups (except stale days), the rest from the hourly buckets.
struct WindowParts {
  Instant from, head_to, tail_from, to;
  Instant hours_from, hours_to;
  Instant days_from, days_to;

  bool has_hours() const { return hours_from < hours_to; }
  bool has_days() const { return days_from < days_to; }
};

WindowParts split(Instant from, Instant to, std::optional<Instant> rolled_until) {
  WindowParts p{from, to, to, to, to, to, to, to};
  if (from >= to) return p;
  const Instant first_whole =
      next_boundary(from, domain::usage_bucket_start(from), domain::usage_bucket_length);
  const Instant last_whole_end = domain::usage_bucket_start(to);
  if (first_whole >= last_whole_end) return p;  // all raw
  p.head_to = first_whole;
  p.tail_from = last_whole_end;
  p.hours_from = first_whole;
  p.hours_to = last_whole_end;
  p.days_from = p.days_to = first_whole;
  if (!rolled_until) return p;
  const Instant first_day =
      next_boundary(first_whole, usage_day_start(first_whole), usage_day_length);
  const Instant days_end = std::min(usage_day_start(last_whole_end), *rolled_until);
  if (first_day < days_end) {
    p.days_from = first_day;
    p.days_to = days_end;
  }
  return p;
}

// The whole hours of a window read from the hourly buckets, given its stale days.
template <typename Add>
void hourly_ranges(const WindowParts& p, const std::set<Instant>& stale, Add add) {
  if (!p.has_hours()) return;
  if (p.hours_from < p.days_from) add(p.hours_from, p.days_from);
  for (const Instant day : stale) add(day, day + usage_day_length);
  if (p.days_to < p.hours_to) add(p.days_to, p.hours_to);
}

void add_event(const domain::MeterDefinition& meter, const storage::EventRecord& event,
               MeterUsage& usage) {
  const auto properties = json::parse(event.properties);
  if (!properties) return;
  const auto result = domain::contribute(meter, event.event_type, *properties);
  if (result.error != domain::ContributionError::none) return;
  usage.total.add(result.contribution, event.occurred_at, event.event_id);
  usage.groups[result.contribution.group_key].add(result.contribution, event.occurred_at,
                                                  event.event_id);
}

void add_bucket(const storage::UsageBucket& bucket, MeterUsage& usage) {
  usage.total.add(bucket.aggregate);
  usage.groups[bucket.group_key].add(bucket.aggregate);
}

void add_distinct(const storage::DistinctValue& value, MeterUsage& usage) {
  usage.total.distinct.insert(value.value);
  usage.groups[value.group_key].distinct.insert(value.value);
}

std::optional<Instant> rolled_until(storage::Tx& tx, const TenantId& tenant) {
  const auto state = storage::usage::rollup_state(tx, tenant);
  if (!state) return std::nullopt;
  return state->rolled_until;
}

void add_raw_events(storage::Tx& tx, const TenantId& tenant, const domain::MeterDefinition& meter,
                    const std::string& customer_id, Instant from, Instant to, MeterUsage& usage) {
  if (from >= to) return;
  for (const auto& event :
       storage::events::range(tx, tenant, customer_id, meter.event_type, from, to)) {
    add_event(meter, event, usage);
  }
}

}  // namespace

MeterUsage meter_usage(storage::Tx& tx, const TenantId& tenant, const storage::MeterRecord& meter,
                       const std::string& customer_id, Instant from, Instant to) {
  MeterUsage usage{meter, {}, {}};
  if (from >= to) return usage;
  const auto& d = meter.definition;
  const WindowParts p = split(from, to, rolled_until(tx, tenant));
  add_raw_events(tx, tenant, d, customer_id, p.from, p.head_to, usage);
  std::set<Instant> stale;
  if (p.has_days()) {
    const storage::usage::UsageRange days[] = {{customer_id, p.days_from, p.days_to}};
    for (const auto& [customer, day] : storage::usage::stale_days_many(tx, tenant, d.id, days)) {
      stale.insert(day);
    }
    for (const auto& row : storage::usage::daily_many(tx, tenant, d.id, days)) {
      if (!stale.contains(row.bucket_start)) add_bucket(row, usage);
    }
  }
  hourly_ranges(p, stale, [&](Instant range_from, Instant range_to) {
    for (const auto& bucket :
         storage::usage::buckets(tx, tenant, d.id, customer_id, range_from, range_to)) {
      add_bucket(bucket, usage);
    }
  });
  if (p.has_hours() && d.aggregation == domain::Aggregation::unique_count) {
    for (const auto& value :
         storage::usage::distinct(tx, tenant, d.id, customer_id, p.hours_from, p.hours_to)) {
      add_distinct(value, usage);
    }
  }
  add_raw_events(tx, tenant, d, customer_id, p.tail_from, p.to, usage);
  return usage;
}

namespace {

// One chunk of a set-based read: windows of distinct customers, so that every row a statement
// returns belongs to the window of its customer_id.
void read_chunk(storage::Tx& tx, const TenantId& tenant, const storage::MeterRecord& meter,
                std::optional<Instant> rolled, std::span<const CustomerWindow> windows,
                std::span<const std::size_t> chunk, std::vector<MeterUsage>& out) {
  const auto& d = meter.definition;
  std::unordered_map<std::string_view, std::size_t> slot;  // customer → position in chunk
  std::vector<WindowParts> parts;
  parts.reserve(chunk.size());
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const CustomerWindow& w = windows[chunk[i]];
    slot.emplace(w.customer_id, i);
    parts.push_back(split(w.from, w.to, rolled));
  }
  const auto usage_of = [&](const std::string& customer) -> MeterUsage& {
    const auto it = slot.find(customer);
    NERUBA_ASSERT_MSG(it != slot.end(), "a set-based read returned a row of another customer");
    return out[chunk[it->second]];
  };
  using Range = storage::usage::UsageRange;
  std::vector<Range> days;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    if (parts[i].has_days()) {
      days.push_back({windows[chunk[i]].customer_id, parts[i].days_from, parts[i].days_to});
    }
  }
  std::vector<std::set<Instant>> stale(chunk.size());
  for (const auto& [customer, day] : storage::usage::stale_days_many(tx, tenant, d.id, days)) {
    stale[slot.at(customer)].insert(day);
  }
  for (const auto& row : storage::usage::daily_many(tx, tenant, d.id, days)) {
    if (!stale[slot.at(row.customer_id)].contains(row.bucket_start)) {
      add_bucket(row, usage_of(row.customer_id));
    }
  }
  std::vector<Range> hours;
  std::vector<Range> whole_hours;
  std::vector<storage::events::CustomerRange> edges;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const std::string_view customer = windows[chunk[i]].customer_id;
    hourly_ranges(parts[i], stale[i], [&](Instant range_from, Instant range_to) {
      hours.push_back({customer, range_from, range_to});
    });
    if (parts[i].has_hours())
      whole_hours.push_back({customer, parts[i].hours_from, parts[i].hours_to});
    edges.push_back({customer, parts[i].from, parts[i].head_to});
    edges.push_back({customer, parts[i].tail_from, parts[i].to});
  }
  for (const auto& bucket : storage::usage::buckets_many(tx, tenant, d.id, hours)) {
    add_bucket(bucket, usage_of(bucket.customer_id));
  }
  if (d.aggregation == domain::Aggregation::unique_count) {
    for (const auto& value : storage::usage::distinct_many(tx, tenant, d.id, whole_hours)) {
      add_distinct(value, usage_of(value.customer_id));
    }
  }
  for (const auto& event : storage::events::range_many(tx, tenant, d.event_type, edges)) {
    add_event(d, event, usage_of(event.customer_id));
  }
}

}  // namespace

std::vector<MeterUsage> meter_usage_many(storage::Tx& tx, const TenantId& tenant,
                                         const storage::MeterRecord& meter,
                                         std::span<const CustomerWindow> windows) {
  std::vector<MeterUsage> out(windows.size(), MeterUsage{meter, {}, {}});
  // Sorted by customer and start, then dealt into rounds: a customer's k-th window goes to round
  // k, so a chunk never holds one customer twice.
  std::vector<std::size_t> order(windows.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(windows[a].customer_id, windows[a].from, a) <
           std::tie(windows[b].customer_id, windows[b].from, b);
  });
  std::vector<std::vector<std::size_t>> rounds;
  for (std::size_t i = 0, k = 0; i < order.size(); ++i) {
    const bool same = i > 0 && windows[order[i]].customer_id == windows[order[i - 1]].customer_id;
    k = same ? k + 1 : 0;
    if (windows[order[i]].from >= windows[order[i]].to) continue;  // empty: nothing to read
    if (rounds.size() <= k) rounds.resize(k + 1);
    rounds[k].push_back(order[i]);
  }
  const std::optional<Instant> rolled = rolled_until(tx, tenant);
  for (const auto& round : rounds) {
    for (std::size_t start = 0; start < round.size();
         start += limits::usage_read_windows_per_chunk) {
      const std::size_t count =
          std::min(limits::usage_read_windows_per_chunk, round.size() - start);
      read_chunk(tx, tenant, meter, rolled, windows,
                 std::span<const std::size_t>(round).subspan(start, count), out);
    }
  }
  return out;
}

namespace {

// Marks the closed days for rolling up: from now on a bucket write before `target` marks its day
// stale. Under the tenant's meters (shared) and bucket-merge locks, so a commit that wrote buckets
// before this is visible to the roll-up, and one after it sees the new mark.
storage::usage::RollupState mark_days(storage::Db& db, const TenantId& tenant, Instant target) {
  auto tx = db.begin(storage::TxMode::write);
  storage::locks::meters_shared(*tx, tenant);
  storage::locks::bucket_merge(*tx, tenant);
  auto state = storage::usage::rollup_state(*tx, tenant);
  if (!state) {
    const auto first = storage::usage::first_bucket_start(*tx, tenant);
    const Instant start = first ? std::min(usage_day_start(*first), target) : target;
    state = storage::usage::RollupState{target, start};
  } else {
    state->marked_until = std::max(state->marked_until, target);
  }
  storage::usage::set_rollup_state(*tx, tenant, *state);
  tx->commit();
  return *state;
}

// Rolls [from, to) up for every customer, a page of customers per transaction, without the
// tenant's ingest lock: a bucket written meanwhile marks its day stale (mark_days).
std::size_t roll_days(storage::Db& db, const TenantId& tenant, Instant from, Instant to) {
  std::size_t written = 0;
  std::string after;
  while (true) {
    auto tx = db.begin(storage::TxMode::write);
    const auto customers = storage::customers::list(*tx, tenant, after,
                                                    limits::usage_rollup_customers_per_transaction);
    if (customers.empty()) break;
    std::vector<storage::usage::UsageRange> ranges;
    ranges.reserve(customers.size());
    for (const auto& customer : customers) ranges.push_back({customer.id.str(), from, to});
    for (const auto& meter : storage::meters::list(*tx, tenant)) {
      written += storage::usage::roll_up_days(*tx, tenant, meter.definition.id, ranges);
    }
    tx->commit();
    after = customers.back().external_id;
    if (customers.size() < limits::usage_rollup_customers_per_transaction) break;
  }
  return written;
}

// Rolls stale days before rolled_until up again, under the locks (no bucket write meanwhile).
std::size_t reroll_stale(storage::Db& db, const TenantId& tenant, Instant rolled,
                         std::size_t& daily_rows) {
  auto tx = db.begin(storage::TxMode::write);
  storage::locks::meters_shared(*tx, tenant);
  storage::locks::bucket_merge(*tx, tenant);
  const auto stale =
      storage::usage::stale_days(*tx, tenant, rolled, limits::usage_rollup_stale_days_per_call);
  for (std::size_t start = 0; start < stale.size();) {
    const MeterId meter = stale[start].meter_id;
    std::vector<storage::usage::UsageRange> days;
    for (; start < stale.size() && stale[start].meter_id == meter; ++start) {
      days.push_back({stale[start].customer_id, stale[start].day_start,
                      stale[start].day_start + usage_day_length});
    }
    storage::usage::clear_stale_days(*tx, tenant, meter, days);
    daily_rows += storage::usage::roll_up_days(*tx, tenant, meter, days);
  }
  tx->commit();
  return stale.size();
}

}  // namespace

RollupReport roll_up(storage::Db& db, const TenantId& tenant, Instant now) {
  const Instant target =
      usage_day_start(now - std::chrono::minutes(limits::usage_rollup_lag_minutes));
  RollupReport report{};
  const auto state = mark_days(db, tenant, target);
  Instant rolled = state.rolled_until;
  if (rolled < target) {
    report.daily_rows += roll_days(db, tenant, rolled, target);
    auto tx = db.begin(storage::TxMode::write);
    storage::locks::meters_shared(*tx, tenant);
    storage::locks::bucket_merge(*tx, tenant);
    auto current = storage::usage::rollup_state(*tx, tenant);
    NERUBA_ASSERT(current.has_value());
    current->rolled_until = std::max(current->rolled_until, target);
    storage::usage::set_rollup_state(*tx, tenant, *current);
    tx->commit();
    rolled = current->rolled_until;
  }
  report.rolled_until = rolled;
  report.stale_days = reroll_stale(db, tenant, rolled, report.daily_rows);
  return report;
}

Result<CustomerUsage> customer_usage(storage::Tx& tx, const RequestContext& ctx,
                                     const std::string& external_id, Instant from, Instant to) {
  const TenantId& tenant = ctx.principal.tenant;
  const auto customer = storage::customers::find_by_external_id(tx, tenant, external_id);
  if (!customer) return Error::not_found("The customer");
  CustomerUsage out{external_id, from, to, {}};
  for (const auto& meter : storage::meters::list(tx, tenant)) {
    out.meters.push_back(meter_usage(tx, tenant, meter, customer->id.str(), from, to));
  }
  return out;
}

}  // namespace neruba::services::usage
