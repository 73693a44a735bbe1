// Billing runs: everything due at or before as_of, customer by customer (API.md "Billing
// semantics").
#include <algorithm>
#include <map>
#include <set>
#include <span>

#include "common/assert.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/billing/internal.hpp"
#include "services/billing/line_inputs.hpp"
#include "services/customers.hpp"
#include "services/settings.hpp"
#include "services/subscriptions.hpp"
#include "services/usage.hpp"
#include "storage/locks.hpp"
#include "storage/subscriptions.hpp"
#include "storage/tenants.hpp"

namespace neruba::services::billing {
namespace {

namespace pricing = domain::pricing;
using internal::money_text;

std::string text(Instant at) { return domain::format_rfc3339(at); }

// A line as stored: its shown fields, and its inputs — everything it was computed from — as
// canonical JSON with their digest.
storage::InvoiceLineRecord subscription_line(const std::string& invoice_id, std::size_t index,
                                             const std::string& subscription,
                                             const pricing::PricedLine& line,
                                             const domain::Currency& currency,
                                             std::int64_t amount_minor) {
  storage::InvoiceLineRecord out;
  out.id = internal::derived_id("il_", {invoice_id, std::to_string(index)});
  out.subscription = subscription;
  out.charge_type = std::string(pricing::line_type_name(line.type));
  out.description = line.description;
  out.meter = line.meter;
  out.quantity = line.quantity.to_string();
  if (line.unit_price) out.unit_price = line.unit_price->to_string();
  out.amount_minor = amount_minor;
  out.period_start = line.period.start;
  out.period_end = line.period.end;
  json::Value inputs = json::Value::object();
  inputs.set("subscription", json::Value::string(subscription));
  inputs.set("charge_type", json::Value::string(out.charge_type));
  inputs.set("description", json::Value::string(out.description));
  if (out.meter) inputs.set("meter", json::Value::string(*out.meter));
  inputs.set("quantity", json::Value::string(out.quantity));
  if (out.unit_price) inputs.set("unit_price", json::Value::string(*out.unit_price));
  inputs.set("amount", json::Value::string(money_text(amount_minor, currency)));
  inputs.set("period_start", json::Value::string(text(out.period_start)));
  inputs.set("period_end", json::Value::string(text(out.period_end)));
  inputs.set("explanation", line_explanation(line, currency));
  auto canonical = line_inputs(inputs);
  out.inputs = std::move(canonical.canonical);
  out.digest = std::move(canonical.digest);
  return out;
}

storage::InvoiceLineRecord charge_line(const std::string& invoice_id, std::size_t index,
                                       const storage::ChargeRecord& charge,
                                       const domain::Currency& currency) {
  storage::InvoiceLineRecord out;
  out.id = internal::derived_id("il_", {invoice_id, std::to_string(index)});
  out.charge = charge.id;
  out.charge_type = charge.kind;
  out.description = charge.description;
  out.quantity = "1";
  out.unit_price = money_text(charge.amount_minor, currency);
  out.amount_minor = charge.amount_minor;
  out.period_start = charge.created_at;
  out.period_end = charge.created_at;
  json::Value inputs = json::Value::object();
  inputs.set("charge", json::Value::string(charge.id));
  inputs.set("charge_key", json::Value::string(charge.charge_key));
  inputs.set("charge_type", json::Value::string(charge.kind));
  inputs.set("description", json::Value::string(charge.description));
  inputs.set("amount", json::Value::string(money_text(charge.amount_minor, currency)));
  inputs.set("created_at", json::Value::string(text(charge.created_at)));
  auto canonical = line_inputs(inputs);
  out.inputs = std::move(canonical.canonical);
  out.digest = std::move(canonical.digest);
  return out;
}

// What one billing instant of a customer carries.
struct Due {
  std::vector<std::pair<std::string, pricing::Invoice>> subscriptions;  // by subscription id
  std::vector<storage::ChargeRecord> charges;
};

std::int64_t grace_days_of(const storage::TenantRecord& tenant) {
  const json::Value* value = tenant.settings.find("invoice_grace_period_days");
  const auto days = value == nullptr ? std::nullopt : value->as_int64();
  return std::clamp<std::int64_t>(days.value_or(0), 0, settings::invoice_grace_period_days_max);
}

Error amount_out_of_range(const std::string& invoice_id) {
  return Error{ErrorCode::out_of_range,
               "Invoice " + invoice_id +
                   " has an amount beyond what a ledger stores (2^63 minor "
                   "units).",
               {FieldError{"as_of", "amount_out_of_range", "an invoice amount is too large", {}}},
               {}};
}

class CustomerBilling {
 public:
  CustomerBilling(storage::Tx& tx, const RequestContext& ctx, const RunRequest& request,
                  const std::string& run_id, std::int64_t grace_days, RunOutcome& outcome,
                  bool batched)
      : tx_(tx),
        ctx_(ctx),
        tenant_(ctx.principal.tenant),
        request_(request),
        run_id_(run_id),
        tenant_grace_days_(grace_days),
        outcome_(outcome),
        journal_(tx, ctx, batched) {}

  // What a chunk's billing came to: done, a customer that could not be billed, or — batched —
  // the chunk's ledger and audit writes refused as a whole, naming no customer.
  struct ChunkResult {
    std::optional<CustomerFailure> failure;
    bool batch_refused = false;
  };

  // Bills a chunk of customers, but the `skipped`, in three passes: each customer's due billing
  // instants and their usage windows; the usage of every window of the chunk, one set-based read
  // per meter; then each customer's invoices priced, stored and finalized, their ledger
  // transactions and audit records (batched) written together at the end. On a failure the
  // transaction holds part of the chunk's work: the caller rolls it back.
  ChunkResult bill(const std::vector<storage::CustomerRecord>& customers,
                   const std::set<CustomerId>& skipped) {
    std::vector<Pending> chunk;
    chunk.reserve(customers.size());
    std::map<CustomerId, std::vector<storage::InvoiceRecord>> invoices;
    std::map<CustomerId, std::vector<storage::SubscriptionRecord>> subscriptions;
    if (!customers.empty()) {
      // The chunk's customers come in id order: what billing reads of each — invoices,
      // subscriptions with their phases, and whether it holds credit or has one-off charges
      // pending (most do not: their own reads of grants and charges are left out) — is read for
      // the id range at once.
      const CustomerId& first = customers.front().id;
      const CustomerId& last = customers.back().id;
      grant_holders_ = storage::credit_grants::holders_between(tx_, tenant_, first, last);
      charged_ = storage::charges::pending_between(tx_, tenant_, first, last, request_.as_of);
      // What is issued already is never recomputed: only drafts and new instants are wanted.
      for (auto& invoice : storage::invoices::of_customers_between(
               tx_, tenant_, first, last, Instant::min(), request_.as_of)) {
        invoices[invoice.customer].push_back(std::move(invoice));
      }
      for (auto& subscription :
           storage::subscriptions::of_customers_between(tx_, tenant_, first, last)) {
        subscriptions[subscription.customer].push_back(std::move(subscription));
      }
    }
    for (const auto& customer : customers) {
      if (skipped.count(customer.id) != 0) continue;
      auto prepared = prepare(customer, invoices[customer.id], subscriptions[customer.id]);
      if (!prepared) return {failure_of(customer, prepared.take_error())};
      chunk.push_back(std::move(*prepared));
    }
    if (auto failure = read_usage(chunk)) return {std::move(failure)};
    for (Pending& pending : chunk) {
      if (auto billed = bill_customer(pending); !billed) {
        return {failure_of(pending.customer, billed.take_error())};
      }
    }
    if (!journal_.flush()) return {std::nullopt, true};
    return {};
  }

 private:
  static std::optional<CustomerFailure> failure_of(const storage::CustomerRecord& customer,
                                                   Error error) {
    return CustomerFailure{customer.id, customer.external_id, std::move(error)};
  }

  // One customer of a chunk between the passes.
  struct Pending {
    storage::CustomerRecord customer;
    std::map<Instant, storage::InvoiceRecord> existing;  // by billing instant
    std::vector<subscriptions::DueScopes> subscriptions;
    // usage[s][i][w]: subscription s, its scope i, that scope's window w.
    std::vector<std::vector<std::vector<pricing::WindowUsage>>> usage;
    bool billed_later = false;  // a live subscription will bill an instant after as_of
  };

  bool wanted(const Pending& pending, Instant at) const {
    const auto found = pending.existing.find(at);
    return found == pending.existing.end() || found->second.status == storage::InvoiceStatus::draft;
  }

  // A customer's due billing instants, from its (locked) row, invoices and subscriptions.
  Result<Pending> prepare(const storage::CustomerRecord& customer,
                          std::vector<storage::InvoiceRecord>& invoices,
                          const std::vector<storage::SubscriptionRecord>& subscriptions) {
    if (grant_holders_.count(customer.id) != 0) {
      if (auto expired = internal::expire_credit(tx_, ctx_, customer, ctx_.now, journal_);
          !expired) {
        return expired.take_error();
      }
    }
    Pending pending{customer, {}, {}, {}, false};
    for (auto& invoice : invoices) {
      pending.existing.emplace(invoice.billing_instant, std::move(invoice));
    }
    for (const auto& subscription : subscriptions) {
      // Cancelled at or before its start, a subscription never runs: it bills nothing.
      if (subscription.ends_at && *subscription.ends_at <= subscription.start) continue;
      if (!subscription.ends_at || *subscription.ends_at > request_.as_of) {
        pending.billed_later = true;
      }
      auto scopes = subscriptions::due_scopes(
          tx_, tenant_, subscription, pending.customer.timezone, request_.as_of,
          [&](Instant at) { return wanted(pending, at); }, catalog_);
      if (!scopes) return scopes.take_error();
      if (!scopes->scopes.empty()) pending.subscriptions.push_back(std::move(*scopes));
    }
    return pending;
  }

  // Every usage window of the chunk, read per meter in one set-based pass. The first customer
  // whose usage could not be read, with its error.
  std::optional<CustomerFailure> read_usage(std::vector<Pending>& chunk) {
    struct Slot {
      Pending* pending;
      std::size_t subscription, scope, window;
    };
    std::map<std::string, std::vector<usage::CustomerWindow>, std::less<>> windows;
    std::map<std::string, std::vector<Slot>, std::less<>> slots;
    for (Pending& pending : chunk) {
      pending.usage.resize(pending.subscriptions.size());
      for (std::size_t s = 0; s < pending.subscriptions.size(); ++s) {
        const auto& scopes = pending.subscriptions[s].scopes;
        pending.usage[s].resize(scopes.size());
        for (std::size_t i = 0; i < scopes.size(); ++i) {
          pending.usage[s][i].resize(scopes[i].usage.size());
          for (std::size_t w = 0; w < scopes[i].usage.size(); ++w) {
            const pricing::UsageWindow& window = scopes[i].usage[w];
            windows[window.meter].push_back(
                {pending.customer.id.str(), window.window.start, window.window.end});
            slots[window.meter].push_back(Slot{&pending, s, i, w});
          }
        }
      }
    }
    for (auto& [meter_code, requested] : windows) {
      const std::string& code = meter_code;  // clang 14 cannot capture a structured binding
      const auto& meters = *chunk_meters();
      const auto meter = std::find_if(meters.begin(), meters.end(),
                                      [&](const auto& m) { return m.definition.code == code; });
      NERUBA_ASSERT_MSG(meter != meters.end(), "a plan prices a meter that does not exist");
      const auto reads = usage::meter_usage_many(tx_, tenant_, *meter, requested);
      const auto& targets = slots[code];
      for (std::size_t k = 0; k < reads.size(); ++k) {
        const Slot& slot = targets[k];
        const auto& scope = slot.pending->subscriptions[slot.subscription].scopes[slot.scope];
        auto usage = subscriptions::window_usage(tx_, tenant_, *meter, slot.pending->customer.id,
                                                 scope.usage[slot.window], reads[k]);
        if (!usage) return failure_of(slot.pending->customer, usage.take_error());
        slot.pending->usage[slot.subscription][slot.scope][slot.window] = std::move(*usage);
      }
    }
    return std::nullopt;
  }

  const std::vector<storage::MeterRecord>* chunk_meters() {
    if (!catalog_.meters) catalog_.meters = storage::meters::list(tx_, tenant_);
    return &*catalog_.meters;
  }

  Status bill_customer(Pending& pending) {
    const CustomerId& id = pending.customer.id;
    std::map<Instant, Due> due;
    for (std::size_t s = 0; s < pending.subscriptions.size(); ++s) {
      const auto& scopes = pending.subscriptions[s].scopes;
      for (std::size_t i = 0; i < scopes.size(); ++i) {
        auto invoice = subscriptions::price_scope(scopes[i], pending.usage[s][i]);
        if (!invoice) return invoice.take_error();
        due[scopes[i].at].subscriptions.emplace_back(pending.subscriptions[s].subscription,
                                                     std::move(*invoice));
      }
    }
    // Charges already on a draft stay on it; pending ones go on the first invoice at or after
    // their creation, or — when no subscription will bill the customer again — on one of their
    // own at as_of.
    for (auto& [at, invoice] : pending.existing) {
      if (invoice.status != storage::InvoiceStatus::draft) continue;
      for (auto& charge : storage::charges::on_invoice(tx_, tenant_, invoice.id)) {
        due[at].charges.push_back(std::move(charge));
      }
    }
    auto pending_charges = charged_.count(id) != 0
                               ? storage::charges::pending(tx_, tenant_, id, request_.as_of)
                               : std::vector<storage::ChargeRecord>();
    for (auto& charge : pending_charges) {
      auto target = due.lower_bound(charge.created_at);
      if (target == due.end()) {
        // Waits for the next invoice; or, when as_of's own invoice is issued, for the next run.
        if (pending.billed_later || !wanted(pending, request_.as_of)) continue;
        target = due.try_emplace(request_.as_of).first;
      }
      target->second.charges.push_back(std::move(charge));
    }
    bool counted = false;
    for (auto& [at, parts] : due) {
      if (!counted) {
        ++outcome_.customers;
        counted = true;
      }
      if (auto billed = bill_instant(pending.customer, at, parts, pending.existing); !billed) {
        return billed;
      }
    }
    return ok_status();
  }

  Status bill_instant(const storage::CustomerRecord& customer, Instant at, Due& parts,
                      const std::map<Instant, storage::InvoiceRecord>& existing) {
    storage::InvoiceRecord invoice{tenant_,
                                   internal::invoice_id_of(tenant_, customer.id, at),
                                   customer.id,
                                   at,
                                   customer.currency,
                                   storage::InvoiceStatus::draft,
                                   std::nullopt,
                                   at,
                                   at,
                                   0,
                                   0,
                                   0,
                                   0,
                                   ctx_.now,
                                   ctx_.now,
                                   std::nullopt,
                                   std::nullopt,
                                   std::nullopt,
                                   run_id_,
                                   {}};
    std::sort(parts.subscriptions.begin(), parts.subscriptions.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    bool first_period = true;
    std::int64_t total = 0;
    const auto add = [&](std::int64_t amount) {
      return !__builtin_add_overflow(total, amount, &total);
    };
    for (const auto& [subscription, priced] : parts.subscriptions) {
      // The invoice's period: what it closes, or (the first invoice) what it opens.
      const auto& period = priced.closing ? priced.closing : priced.opening;
      if (period) {
        invoice.period_start =
            first_period ? period->start : std::min(invoice.period_start, period->start);
        invoice.period_end = first_period ? period->end : std::max(invoice.period_end, period->end);
        first_period = false;
      }
      for (const auto& line : priced.lines) {
        const auto minor = domain::to_minor_units(line.amount, customer.currency);
        if (!minor || !add(*minor)) return amount_out_of_range(invoice.id);
        invoice.lines.push_back(subscription_line(invoice.id, invoice.lines.size(), subscription,
                                                  line, customer.currency, *minor));
      }
    }
    for (const auto& charge : parts.charges) {
      if (!add(charge.amount_minor)) return amount_out_of_range(invoice.id);
      invoice.lines.push_back(
          charge_line(invoice.id, invoice.lines.size(), charge, customer.currency));
    }
    invoice.subtotal_minor = total;
    invoice.total_minor = total;

    const auto stored = existing.find(at);
    std::optional<storage::InvoiceRecord> draft;  // the invoice as stored now
    if (stored == existing.end()) {
      if (!journal_.insert_invoice(invoice)) {
        return internal::conflict("invoice_exists", "as_of",
                                  "Invoice " + invoice.id +
                                      " was created by another billing "
                                      "run meanwhile; run again.");
      }
      ++outcome_.invoices_created;
      outcome_.invoices.push_back(invoice.id);
      draft = invoice;
    } else {
      auto current = storage::invoices::find(tx_, tenant_, invoice.id);
      NERUBA_ASSERT_MSG(current.has_value(), "a listed invoice vanished");
      const bool same = current->lines == invoice.lines &&
                        current->total_minor == invoice.total_minor &&
                        current->period_start == invoice.period_start &&
                        current->period_end == invoice.period_end;
      if (!same) {
        invoice.created_at = current->created_at;
        if (!storage::invoices::replace_draft(tx_, invoice)) {
          return internal::conflict("invoice_not_draft", "as_of",
                                    "Invoice " + invoice.id + " was finalized meanwhile.");
        }
        ++outcome_.invoices_updated;
        outcome_.invoices.push_back(invoice.id);
        draft = invoice;
      } else {
        draft = std::move(*current);
      }
    }
    for (const auto& charge : parts.charges) {
      if (charge.invoice) continue;  // on this draft already
      if (!storage::charges::attach(tx_, tenant_, charge.id, invoice.id)) {
        return internal::conflict("charge_billed", "as_of",
                                  "Charge " + charge.id + " went on another invoice meanwhile.");
      }
    }
    // The customer's own grace period, else the tenant's: read with the customer's row locked.
    const std::chrono::hours grace(
        24 * customers::invoice_grace_period_days(tenant_grace_days_, customer));
    if (request_.finalize && request_.as_of >= at + grace) {
      const bool holds_credit = grant_holders_.count(customer.id) != 0;
      if (auto finalized = internal::finalize_draft(tx_, ctx_, customer, std::move(*draft),
                                                    journal_, holds_credit);
          !finalized) {
        return finalized;
      }
      // A negative total left the customer credit that its later invoices draw.
      if (invoice.total_minor < 0) grant_holders_.insert(customer.id);
      ++outcome_.invoices_finalized;
      if (outcome_.invoices.empty() || outcome_.invoices.back() != invoice.id) {
        outcome_.invoices.push_back(invoice.id);
      }
    }
    return ok_status();
  }

  storage::Tx& tx_;
  const RequestContext& ctx_;
  const TenantId& tenant_;
  const RunRequest& request_;
  const std::string& run_id_;
  const std::int64_t tenant_grace_days_;
  RunOutcome& outcome_;
  subscriptions::CatalogCache catalog_;  // this transaction's plans and meters
  internal::Journal journal_;
  std::set<CustomerId> grant_holders_;  // the chunk's customers holding credit
  std::set<CustomerId> charged_;        // the chunk's customers with pending one-off charges
};

}  // namespace

Result<RunRequest> parse_run_request(const json::Value& body, const RequestContext& ctx) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  RunRequest out;
  out.as_of = ctx.now;
  if (const auto as_of = reader.optional_string("as_of", 64)) {
    const auto parsed = domain::parse_rfc3339(*as_of);
    if (!parsed) {
      reader.add_error("as_of", "invalid_value", "must be an RFC 3339 instant");
    } else if (*parsed > ctx.now) {
      reader.add_error("as_of", "invalid_value",
                       "must not be in the future (now is " + text(ctx.now) +
                           "): a run bills what is due, not what will be");
    } else {
      out.as_of = *parsed;
    }
  }
  out.customer = reader.optional_string("customer", 256);
  if (const auto finalize = reader.optional_bool("finalize")) out.finalize = *finalize;
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  return out;
}

namespace {

// What a run reads once, before its chunks: the tenant's grace period (customers may override it)
// and the one customer asked for, if any.
struct RunSetup {
  std::int64_t grace_days = 0;
  std::optional<storage::CustomerRecord> only;
};

Result<RunSetup> run_setup(storage::Db& db, const TenantId& tenant, const RunRequest& request) {
  auto tx = db.begin(storage::TxMode::read);
  const auto record = storage::tenants::find(*tx, tenant);
  if (!record) return Error::not_found("The tenant");
  RunSetup setup;
  setup.grace_days = grace_days_of(*record);
  if (request.customer) {
    setup.only = storage::customers::find_by_external_id(*tx, tenant, *request.customer);
    if (!setup.only) {
      return Error::invalid({FieldError{"customer",
                                        "not_found",
                                        "no customer has external_id \"" + *request.customer + "\"",
                                        {}}});
    }
  }
  return setup;
}

}  // namespace

Result<RunOutcome> bill(storage::Db& db, const RequestContext& ctx, const RunRequest& request) {
  NERUBA_ASSERT_MSG(request.chunk_customers > 0, "a billing run chunk of no customers");
  const TenantId& tenant = ctx.principal.tenant;
  RunOutcome outcome;
  outcome.id = ctx.new_id("run_");
  outcome.request = request;
  outcome.started_at = ctx.now;
  const auto setup = run_setup(db, tenant, request);
  if (!setup) return setup.error();
  // Closed days roll up first (derived state, idempotent): a period then costs a row per day
  // rather than per hour for every customer read below.
  (void)usage::roll_up(db, tenant, ctx.now);
  // The roll-up, and the days since the last run, changed what the chunks read: on SQLite the
  // planner's statistics are refreshed first (PostgreSQL's autovacuum keeps its own).
  storage::refresh_statistics(db);
  std::set<CustomerId> skipped;  // customers whose billing failed: billed by no chunk
  CustomerId after;
  bool batched = true;  // off for a chunk whose batched writes were refused: it finds the customer
  for (;;) {
    auto tx = db.begin(storage::TxMode::write);
    // One run of the tenant at a time: a second waits here, then finds the first's invoices.
    storage::locks::billing(*tx, tenant);
    // The chunk's customer rows are locked for the transaction: a customer's money movements
    // (payments, grants, charges) wait for its billing, and its billing for them.
    std::vector<storage::CustomerRecord> chunk;
    if (setup->only) {
      auto only = storage::customers::find_for_update(*tx, tenant, setup->only->id);
      NERUBA_ASSERT_MSG(only.has_value(), "a customer vanished (customers are never deleted)");
      chunk.push_back(std::move(*only));
    } else {
      chunk = storage::customers::lock_by_id_after(*tx, tenant, after, request.chunk_customers);
    }
    if (chunk.empty()) break;
    RunOutcome step = outcome;
    step.invoices.clear();
    CustomerBilling billing(*tx, ctx, request, outcome.id, setup->grace_days, step, batched);
    auto result = billing.bill(chunk, skipped);
    if (result.batch_refused) {
      // Billed again customer by customer, the refusal names its customer.
      NERUBA_ASSERT_MSG(batched, "an unbatched chunk's writes were refused as a batch");
      tx.reset();
      batched = false;
      continue;
    }
    if (auto& failure = result.failure) {
      if (setup->only) return std::move(failure->error);
      // What this chunk wrote goes with its transaction; the chunk is billed again without the
      // customer, whose failure the run reports.
      tx.reset();
      skipped.insert(failure->customer);
      outcome.failures.push_back(std::move(*failure));
      continue;
    }
    tx->commit();
    batched = true;
    outcome.customers = step.customers;
    outcome.invoices_created = step.invoices_created;
    outcome.invoices_updated = step.invoices_updated;
    outcome.invoices_finalized = step.invoices_finalized;
    outcome.invoices.insert(outcome.invoices.end(), step.invoices.begin(), step.invoices.end());
    if (setup->only || chunk.size() < request.chunk_customers) break;
    after = chunk.back().id;
  }
  return outcome;
}

Result<RunReport> record_run(storage::Tx& tx, const RequestContext& ctx, const RunOutcome& run) {
  const TenantId& tenant = ctx.principal.tenant;
  RunReport report;
  std::optional<CustomerId> customer;
  if (run.request.customer) {
    const auto found = storage::customers::find_by_external_id(tx, tenant, *run.request.customer);
    if (found) customer = found->id;
  }
  report.record = storage::BillingRunRecord{tenant,
                                            run.id,
                                            run.request.as_of,
                                            customer,
                                            run.request.finalize,
                                            run.customers,
                                            run.invoices_created,
                                            run.invoices_updated,
                                            run.invoices_finalized,
                                            run.started_at,
                                            ctx.now};
  if (!storage::billing_runs::insert(tx, report.record)) {
    return Error::make(ErrorCode::internal, "Billing run " + run.id + " was recorded twice.");
  }
  std::span<const std::string> listed = run.invoices;
  if (listed.size() > report_invoices_max) {
    listed = listed.first(report_invoices_max);
    report.invoices_truncated = true;
  }
  report.invoices =
      internal::invoice_views(tx, tenant, storage::invoices::find_many(tx, tenant, listed));
  json::Value after = json::Value::object();
  after.set("as_of", json::Value::string(text(run.request.as_of)));
  if (run.request.customer) after.set("customer", json::Value::string(*run.request.customer));
  after.set("finalize", json::Value::boolean(run.request.finalize));
  after.set("customers", json::Value::number(run.customers));
  after.set("invoices_created", json::Value::number(run.invoices_created));
  after.set("invoices_updated", json::Value::number(run.invoices_updated));
  after.set("invoices_finalized", json::Value::number(run.invoices_finalized));
  report.customers_failed = static_cast<std::int64_t>(run.failures.size());
  after.set("customers_failed", json::Value::number(report.customers_failed));
  if (!run.failures.empty()) {
    json::Value failures = json::Value::array();
    for (const auto& failure : run.failures) {
      if (report.failures.size() == report_failures_max) break;
      report.failures.push_back(failure);
      json::Value item = json::Value::object();
      item.set("customer", json::Value::string(failure.external_id));
      item.set("detail", json::Value::string(failure.error.detail));
      failures.push_back(std::move(item));
    }
    after.set("failures", std::move(failures));
  }
  audit::append(tx, ctx, tenant,
                {"billing_run.completed", run.id, std::nullopt, std::move(after), std::nullopt,
                 std::nullopt});
  return report;
}

Result<RunReport> bill_and_record(storage::Db& db, const RequestContext& ctx,
                                  const RunRequest& request) {
  auto run = bill(db, ctx, request);
  if (!run) return run.take_error();
  auto tx = db.begin(storage::TxMode::write);
  auto report = record_run(*tx, ctx, *run);
  if (!report) return report;
  tx->commit();
  return report;
}

}  // namespace neruba::services::billing
