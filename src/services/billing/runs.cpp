// Billing runs: everything due at or before as_of, customer by customer (API.md "Billing
// semantics").
#include <map>

#include "common/assert.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/billing/internal.hpp"
#include "services/billing/line_inputs.hpp"
#include "services/settings.hpp"
#include "services/subscriptions.hpp"
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
                  const std::string& run_id, std::int64_t grace_days, RunOutcome& outcome)
      : tx_(tx),
        ctx_(ctx),
        tenant_(ctx.principal.tenant),
        request_(request),
        run_id_(run_id),
        grace_(std::chrono::hours(24 * grace_days)),
        outcome_(outcome) {}

  Status bill(const CustomerId& id) {
    auto customer = storage::customers::find_for_update(tx_, tenant_, id);
    if (!customer) return ok_status();  // customers are never deleted; nothing to bill
    if (auto expired = internal::expire_credit(tx_, ctx_, *customer, ctx_.now); !expired) {
      return expired;
    }
    // What is issued already is never recomputed: only drafts and new instants are wanted.
    std::map<Instant, storage::InvoiceRecord> existing;
    for (auto& invoice :
         storage::invoices::of_customer_between(tx_, tenant_, id, Instant::min(), request_.as_of)) {
      existing.emplace(invoice.billing_instant, std::move(invoice));
    }
    const auto wanted = [&](Instant at) {
      const auto found = existing.find(at);
      return found == existing.end() || found->second.status == storage::InvoiceStatus::draft;
    };
    std::map<Instant, Due> due;
    bool billed_later = false;  // a live subscription will bill an instant after as_of
    std::string after;
    for (;;) {
      auto page = storage::subscriptions::of_customer(tx_, tenant_, id, after, 100);
      for (const auto& subscription : page) {
        // One that never runs (cancelled at its start) bills nothing, now or later.
        if (!subscription.ends_at ||
            *subscription.ends_at > std::max(request_.as_of, subscription.start)) {
          billed_later = true;
        }
        auto invoices = subscriptions::due_invoices(tx_, tenant_, subscription, customer->timezone,
                                                    request_.as_of, wanted, catalog_);
        if (!invoices) return invoices.take_error();
        for (auto& invoice : *invoices) {
          due[invoice.at].subscriptions.emplace_back(subscription.id, std::move(invoice.invoice));
        }
      }
      if (page.size() < 100) break;
      after = page.back().id;
    }
    // Charges already on a draft stay on it; pending ones go on the first invoice at or after
    // their creation, or — when no subscription will bill the customer again — on one of their
    // own at as_of.
    for (auto& [at, invoice] : existing) {
      if (invoice.status != storage::InvoiceStatus::draft) continue;
      for (auto& charge : storage::charges::on_invoice(tx_, tenant_, invoice.id)) {
        due[at].charges.push_back(std::move(charge));
      }
    }
    for (auto& charge : storage::charges::pending(tx_, tenant_, id, request_.as_of)) {
      auto target = due.lower_bound(charge.created_at);
      if (target == due.end()) {
        // Waits for the next invoice; or, when as_of's own invoice is issued, for the next run.
        if (billed_later || !wanted(request_.as_of)) continue;
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
      if (auto billed = bill_instant(*customer, at, parts, existing); !billed) return billed;
    }
    return ok_status();
  }

 private:
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
    if (stored == existing.end()) {
      if (!storage::invoices::insert_draft(tx_, invoice)) {
        return internal::conflict("invoice_exists", "as_of",
                                  "Invoice " + invoice.id +
                                      " was created by another billing "
                                      "run meanwhile; run again.");
      }
      ++outcome_.invoices_created;
      outcome_.invoices.push_back(invoice.id);
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
      }
    }
    for (const auto& charge : parts.charges) {
      if (charge.invoice) continue;  // on this draft already
      if (!storage::charges::attach(tx_, tenant_, charge.id, invoice.id)) {
        return internal::conflict("charge_billed", "as_of",
                                  "Charge " + charge.id + " went on another invoice meanwhile.");
      }
    }
    if (request_.finalize && request_.as_of >= at + grace_) {
      if (auto finalized = internal::finalize_draft(tx_, ctx_, customer, invoice.id); !finalized) {
        return finalized;
      }
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
  std::chrono::microseconds grace_;
  RunOutcome& outcome_;
  subscriptions::CatalogCache catalog_;  // this transaction's plans and meters
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

Result<RunOutcome> bill(storage::Db& db, const RequestContext& ctx, const RunRequest& request) {
  const TenantId& tenant = ctx.principal.tenant;
  RunOutcome outcome;
  outcome.id = ctx.new_id("run_");
  outcome.request = request;
  outcome.started_at = ctx.now;
  std::int64_t grace_days = 0;
  std::optional<CustomerId> only;
  {
    auto tx = db.begin(storage::TxMode::read);
    const auto record = storage::tenants::find(*tx, tenant);
    if (!record) return Error::not_found("The tenant");
    grace_days = grace_days_of(*record);
    if (request.customer) {
      const auto customer = storage::customers::find_by_external_id(*tx, tenant, *request.customer);
      if (!customer) {
        return Error::invalid(
            {FieldError{"customer",
                        "not_found",
                        "no customer has external_id \"" + *request.customer + "\"",
                        {}}});
      }
      only = customer->id;
    }
  }
  CustomerId after;
  for (;;) {
    auto tx = db.begin(storage::TxMode::write);
    // One run of the tenant at a time: a second waits here, then finds the first's invoices.
    storage::locks::billing(*tx, tenant);
    std::vector<CustomerId> chunk;
    if (only) {
      chunk.push_back(*only);
    } else {
      for (auto& customer :
           storage::customers::by_id_after(*tx, tenant, after, run_chunk_customers)) {
        chunk.push_back(std::move(customer.id));
      }
    }
    if (chunk.empty()) break;
    RunOutcome step = outcome;
    step.invoices.clear();
    CustomerBilling billing(*tx, ctx, request, outcome.id, grace_days, step);
    for (const CustomerId& id : chunk) {
      if (auto billed = billing.bill(id); !billed) return billed.take_error();
    }
    tx->commit();
    outcome.customers = step.customers;
    outcome.invoices_created = step.invoices_created;
    outcome.invoices_updated = step.invoices_updated;
    outcome.invoices_finalized = step.invoices_finalized;
    outcome.invoices.insert(outcome.invoices.end(), step.invoices.begin(), step.invoices.end());
    if (only || chunk.size() < run_chunk_customers) break;
    after = chunk.back();
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
  std::map<CustomerId, std::string> external_ids;
  for (const auto& id : run.invoices) {
    if (report.invoices.size() == report_invoices_max) {
      report.invoices_truncated = true;
      break;
    }
    auto invoice = storage::invoices::find(tx, tenant, id);
    if (!invoice) continue;
    auto& external = external_ids[invoice->customer];
    if (external.empty()) {
      const auto found = storage::customers::find(tx, tenant, invoice->customer);
      if (found) external = found->external_id;
    }
    report.invoices.push_back(internal::invoice_view(tx, tenant, std::move(*invoice), external));
  }
  json::Value after = json::Value::object();
  after.set("as_of", json::Value::string(text(run.request.as_of)));
  if (run.request.customer) after.set("customer", json::Value::string(*run.request.customer));
  after.set("finalize", json::Value::boolean(run.request.finalize));
  after.set("customers", json::Value::number(run.customers));
  after.set("invoices_created", json::Value::number(run.invoices_created));
  after.set("invoices_updated", json::Value::number(run.invoices_updated));
  after.set("invoices_finalized", json::Value::number(run.invoices_finalized));
  audit::append(tx, ctx, tenant,
                {"billing_run.completed", run.id, std::nullopt, std::move(after), std::nullopt,
                 std::nullopt});
  return report;
}

}  // namespace neruba::services::billing
