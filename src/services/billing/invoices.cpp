// The invoice lifecycle after a run: read, list, finalize early, void; and the invoice checks of
// `ledger verify`.
#include <algorithm>
#include <map>

#include "common/assert.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/billing/internal.hpp"
#include "services/operator/reasons.hpp"

namespace neruba::services::billing {
namespace {

using domain::ledger::AccountKind;
using domain::ledger::Side;
using internal::customer_account;
using internal::money_text;
using internal::tenant_account;

std::string text(Instant at) { return domain::format_rfc3339(at); }

Error invoice_not_found() { return Error::not_found("The invoice"); }

json::Value money(std::int64_t minor, const domain::Currency& currency) {
  return json::Value::string(money_text(minor, currency));
}

std::string customer_external_id(storage::Tx& tx, const TenantId& tenant,
                                 const CustomerId& customer) {
  const auto found = storage::customers::find(tx, tenant, customer);
  NERUBA_ASSERT_MSG(found.has_value(), "an invoice without its customer");
  return found->external_id;
}

}  // namespace

json::Value invoice_document(const Invoice& invoice, bool with_lines) {
  const storage::InvoiceRecord& r = invoice.record;
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(r.id));
  out.set("number", r.number ? json::Value::string(storage::invoice_number_text(*r.number))
                             : json::Value::null());
  out.set("customer", json::Value::string(invoice.customer));
  out.set("currency", json::Value::string(r.currency.code()));
  out.set("status", json::Value::string(std::string(storage::invoice_status_name(r.status))));
  out.set("billing_instant", json::Value::string(text(r.billing_instant)));
  out.set("period_start", json::Value::string(text(r.period_start)));
  out.set("period_end", json::Value::string(text(r.period_end)));
  if (with_lines) {
    json::Value lines = json::Value::array();
    for (const auto& line : r.lines) {
      json::Value l = json::Value::object();
      l.set("id", json::Value::string(line.id));
      l.set("description", json::Value::string(line.description));
      l.set("charge_type", json::Value::string(line.charge_type));
      if (line.meter) l.set("meter", json::Value::string(*line.meter));
      l.set("quantity", json::Value::string(line.quantity));
      if (line.unit_price) l.set("unit_price", json::Value::string(*line.unit_price));
      l.set("amount", money(line.amount_minor, r.currency));
      l.set("period_start", json::Value::string(text(line.period_start)));
      l.set("period_end", json::Value::string(text(line.period_end)));
      if (line.subscription) l.set("subscription", json::Value::string(*line.subscription));
      if (line.charge) l.set("charge", json::Value::string(*line.charge));
      lines.push_back(std::move(l));
    }
    out.set("lines", std::move(lines));
  }
  out.set("subtotal", money(r.subtotal_minor, r.currency));
  out.set("credits_applied", money(r.credits_applied_minor, r.currency));
  out.set("total", money(r.total_minor, r.currency));
  out.set("amount_paid", money(r.amount_paid_minor, r.currency));
  // A void invoice owes nothing; what it once showed due is in its history.
  out.set("amount_due",
          money(r.status == storage::InvoiceStatus::void_ ? 0 : r.amount_due_minor(), r.currency));
  out.set("finalized_at",
          r.finalized_at ? json::Value::string(text(*r.finalized_at)) : json::Value::null());
  out.set("paid_at", r.paid_at ? json::Value::string(text(*r.paid_at)) : json::Value::null());
  out.set("voided_at", r.voided_at ? json::Value::string(text(*r.voided_at)) : json::Value::null());
  return out;
}

Result<Invoice> get_invoice(storage::Tx& tx, const RequestContext& ctx, const std::string& id) {
  const TenantId& tenant = ctx.principal.tenant;
  auto record = storage::invoices::find(tx, tenant, id);
  if (!record) return invoice_not_found();
  const std::string external = customer_external_id(tx, tenant, record->customer);
  return internal::invoice_view(tx, tenant, std::move(*record), external);
}

Result<Page<Invoice>> list_invoices(storage::Tx& tx, const RequestContext& ctx,
                                    const std::optional<std::string>& customer,
                                    const std::optional<std::string>& status,
                                    const std::string& cursor, std::size_t limit) {
  const TenantId& tenant = ctx.principal.tenant;
  storage::InvoiceFilter filter;
  filter.after_id = cursor;
  filter.limit = limit + 1;
  std::vector<FieldError> errors;
  if (status) {
    filter.status = storage::parse_invoice_status(*status);
    if (!filter.status) {
      errors.push_back(
          FieldError{"status", "invalid_value", "must be one of draft, finalized, paid, void", {}});
    }
  }
  if (customer) {
    const auto found = storage::customers::find_by_external_id(tx, tenant, *customer);
    if (!found) return Page<Invoice>{};  // no such customer: no invoices of it
    filter.customer = found->id;
  }
  if (!errors.empty()) return Error::invalid(std::move(errors));
  auto rows = storage::invoices::page(tx, tenant, filter);
  auto page = page_of(std::move(rows), limit,
                      [](const storage::InvoiceRecord& invoice) { return invoice.id; });
  Page<Invoice> out;
  out.next_cursor = page.next_cursor;
  out.items = internal::invoice_views(tx, tenant, std::move(page.items));
  return out;
}

Result<Invoice> finalize_invoice(storage::Tx& tx, const RequestContext& ctx,
                                 const std::string& id) {
  const TenantId& tenant = ctx.principal.tenant;
  const auto found = storage::invoices::find(tx, tenant, id);
  if (!found) return invoice_not_found();
  const auto customer = storage::customers::find_for_update(tx, tenant, found->customer);
  NERUBA_ASSERT_MSG(customer.has_value(), "an invoice without its customer");
  internal::Journal journal(tx, ctx);
  if (auto expired = internal::expire_credit(tx, ctx, *customer, ctx.now, journal); !expired) {
    return expired.take_error();
  }
  auto draft = storage::invoices::find_for_update(tx, tenant, id);
  NERUBA_ASSERT_MSG(draft.has_value(), "an invoice read in this transaction vanished");
  if (auto finalized = internal::finalize_draft(tx, ctx, *customer, std::move(*draft), journal);
      !finalized) {
    return finalized.take_error();
  }
  return get_invoice(tx, ctx, id);
}

Result<Invoice> void_invoice(storage::Tx& tx, const RequestContext& ctx, const std::string& id,
                             const json::Value& body) {
  const TenantId& tenant = ctx.principal.tenant;
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto reason = read_operator_reason(tx, tenant, reader);
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));

  const auto found = storage::invoices::find(tx, tenant, id);
  if (!found) return invoice_not_found();
  const auto customer = storage::customers::find_for_update(tx, tenant, found->customer);
  NERUBA_ASSERT_MSG(customer.has_value(), "an invoice without its customer");
  auto invoice = storage::invoices::find_for_update(tx, tenant, id);
  const auto status = storage::invoice_status_name(invoice->status);
  if (invoice->status == storage::InvoiceStatus::draft ||
      invoice->status == storage::InvoiceStatus::void_) {
    return internal::conflict("invoice_not_voidable", "id",
                              "Invoice " + id + " is " + std::string(status) +
                                  ": only a finalized invoice can be voided.");
  }
  if (invoice->amount_paid_minor > 0) {
    return internal::conflict("invoice_has_payments", "id",
                              "Invoice " + id + " has payments of " +
                                  money_text(invoice->amount_paid_minor, invoice->currency) + " " +
                                  invoice->currency.code() + ": refund them before voiding it.");
  }
  // Expiries due by now are recorded first (as a finalization does), so that credit given back
  // to a grant that has expired meanwhile leaves with it, rather than landing in a wallet as
  // credit nobody can draw.
  internal::Journal journal(tx, ctx);
  if (auto expired = internal::expire_credit(tx, ctx, *customer, ctx.now, journal); !expired) {
    return expired.take_error();
  }
  const Invoice before = internal::invoice_view(tx, tenant, *invoice, customer->external_id);
  const domain::Currency& currency = invoice->currency;
  const std::int64_t total = invoice->total_minor;
  internal::Movement reversal{"invoice_void",
                              id,
                              internal::derived_id("ltx_", {tenant.str(), "invoice_finalized", id}),
                              customer->id,
                              currency,
                              ctx.now,
                              {}};
  if (total > 0) {
    // The finalization reversed, and every credit it drew given back to its grant.
    reversal.entries.push_back(
        {tenant_account(AccountKind::revenue, currency), Side::debit, total});
    reversal.entries.push_back(
        {customer_account(AccountKind::receivable, currency, customer->id), Side::credit, total});
    for (const auto& draw : before.draws) {
      const auto grants = storage::credit_grants::of_customer(tx, tenant, customer->id);
      const auto grant = std::find_if(grants.begin(), grants.end(),
                                      [&](const auto& g) { return g.id == draw.grant; });
      NERUBA_ASSERT_MSG(grant != grants.end(), "a draw from a grant that does not exist");
      const AccountKind wallet =
          grant->kind == "prepaid" ? AccountKind::prepaid_credit : AccountKind::promotional_credit;
      reversal.entries.push_back({customer_account(AccountKind::receivable, currency, customer->id),
                                  Side::debit, draw.amount_minor});
      if (grant->expired_at) {
        // Its grant expired meanwhile: the credit given back expires at once, as it would have.
        reversal.entries.push_back(
            {tenant_account(wallet == AccountKind::prepaid_credit ? AccountKind::breakage
                                                                  : AccountKind::promotions_expense,
                            currency),
             Side::credit, draw.amount_minor});
      } else {
        reversal.entries.push_back(
            {customer_account(wallet, currency, customer->id), Side::credit, draw.amount_minor});
        if (!storage::credit_grants::restore(tx, tenant, draw.grant, draw.amount_minor)) {
          return Error::make(ErrorCode::internal, "Credit could not be restored to " + draw.grant);
        }
      }
    }
  } else if (total < 0) {
    // The credit the invoice granted is taken back: only while none of it was used.
    const std::string grant_id = internal::derived_id("grt_", {tenant.str(), "invoice_credit", id});
    const auto grants = storage::credit_grants::of_customer(tx, tenant, customer->id);
    const auto grant =
        std::find_if(grants.begin(), grants.end(), [&](const auto& g) { return g.id == grant_id; });
    if (grant == grants.end() || grant->remaining_minor != -total || grant->expired_at ||
        !storage::credit_grants::draw(tx, tenant, grant_id, -total)) {
      return internal::conflict("invoice_credit_used", "id",
                                "Invoice " + id +
                                    " granted credit that has been used since: it "
                                    "can no longer be voided.");
    }
    reversal.entries.push_back(
        {customer_account(AccountKind::prepaid_credit, currency, customer->id), Side::debit,
         -total});
    reversal.entries.push_back(
        {tenant_account(AccountKind::revenue, currency), Side::credit, -total});
  }
  if (!reversal.entries.empty()) {
    if (auto posted = internal::post(tx, ctx, tenant, std::move(reversal)); !posted) {
      return posted.take_error();
    }
  }
  if (!storage::invoices::void_invoice(tx, tenant, id, ctx.now)) {
    return Error::make(ErrorCode::internal, "Invoice " + id + " could not be voided.");
  }
  auto after = get_invoice(tx, ctx, id);
  if (!after) return after;
  audit::append(tx, ctx, tenant,
                {"invoice.voided", id, invoice_document(before, false),
                 invoice_document(*after, false), reason.code, reason.justification});
  return after;
}

std::optional<std::string> first_invoice_violation(storage::Tx& tx, const TenantId& tenant) {
  std::string after;
  for (;;) {
    const auto page = storage::invoices::issued_page(tx, tenant, after, 500);
    for (const auto& invoice : page) {
      const domain::Currency& currency = invoice.currency;
      const auto lines = storage::invoices::find(tx, tenant, invoice.id)->lines;
      std::int64_t sum = 0;
      for (const auto& line : lines) sum += line.amount_minor;
      if (sum != invoice.subtotal_minor || invoice.subtotal_minor != invoice.total_minor) {
        return "invoice " + invoice.id + ": its lines add up to " + money_text(sum, currency) +
               " but its subtotal is " + money_text(invoice.subtotal_minor, currency) +
               " and its total " + money_text(invoice.total_minor, currency);
      }
      const auto effect =
          storage::ledger::find_by_cause(tx, tenant, "invoice_finalized", invoice.id);
      const auto receivable = customer_account(AccountKind::receivable, currency, invoice.customer);
      const auto revenue = tenant_account(AccountKind::revenue, currency);
      std::int64_t booked = 0;  // revenue the finalization booked (negative: a credit)
      if (effect) {
        for (const auto& entry : effect->entries) {
          if (entry.account == revenue) {
            booked += entry.side == Side::credit ? entry.amount_minor : -entry.amount_minor;
          }
        }
      }
      if (booked != invoice.total_minor) {
        return "invoice " + invoice.id + ": its total is " +
               money_text(invoice.total_minor, currency) + " but its finalization booked " +
               money_text(booked, currency) + " of revenue";
      }
      std::int64_t drawn = 0;
      if (const auto draws =
              storage::ledger::find_by_cause(tx, tenant, "credit_draw", invoice.id)) {
        for (const auto& entry : draws->entries) {
          if (entry.account == receivable && entry.side == Side::credit)
            drawn += entry.amount_minor;
        }
      }
      const std::int64_t expected_drawn =
          invoice.credits_applied_minor > 0 ? invoice.credits_applied_minor : 0;
      if (drawn != expected_drawn) {
        return "invoice " + invoice.id + ": credits_applied is " +
               money_text(invoice.credits_applied_minor, currency) + " but the ledger drew " +
               money_text(drawn, currency);
      }
      const bool voided =
          storage::ledger::find_by_cause(tx, tenant, "invoice_void", invoice.id).has_value();
      if (voided != (invoice.status == storage::InvoiceStatus::void_) && invoice.total_minor != 0) {
        return "invoice " + invoice.id + " is " +
               std::string(storage::invoice_status_name(invoice.status)) +
               (voided ? " but the ledger reversed it" : " but the ledger never reversed it");
      }
    }
    if (page.size() < 500) break;
    after = page.back().id;
  }
  return std::nullopt;
}

}  // namespace neruba::services::billing
