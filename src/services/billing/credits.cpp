// Credit grants and a customer's balance.
#include "common/assert.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/billing/internal.hpp"
#include "services/operator/reasons.hpp"
#include "services/subscriptions.hpp"
#include "storage/subscriptions.hpp"

namespace neruba::services::billing {
namespace {

using domain::ledger::AccountKind;
using domain::ledger::Side;
using internal::customer_account;
using internal::money_text;
using internal::tenant_account;

constexpr std::int64_t priority_max = 1'000'000;

std::string text(Instant at) { return domain::format_rfc3339(at); }

// A positive amount of the customer's currency, in minor units.
std::optional<std::int64_t> read_amount(json::ObjectReader& reader, std::string_view name,
                                        const domain::Currency& currency) {
  const auto value = reader.required_string(name, 64);
  if (!value) return std::nullopt;
  const auto amount = domain::parse_amount(*value, currency.code());
  if (!amount) {
    reader.add_error(name,
                     amount.error == domain::MoneyError::too_many_fraction_digits
                         ? "too_many_fraction_digits"
                         : "invalid_value",
                     "must be an amount of " + currency.code() + " with at most " +
                         std::to_string(currency.minor_unit_digits()) + " fraction digits");
    return std::nullopt;
  }
  const auto minor = domain::to_minor_units(*amount, currency);
  if (!minor || *minor <= 0) {
    reader.add_error(name, minor ? "invalid_value" : "out_of_range",
                     minor ? "must be greater than zero" : "is too large");
    return std::nullopt;
  }
  return minor;
}

}  // namespace

namespace internal {
std::optional<std::int64_t> read_positive_amount(json::ObjectReader& reader, std::string_view name,
                                                 const domain::Currency& currency) {
  return read_amount(reader, name, currency);
}

std::optional<storage::CustomerRecord> read_customer_for_update(storage::Tx& tx,
                                                                const TenantId& tenant,
                                                                json::ObjectReader& reader) {
  const auto external_id = reader.required_string("customer", 256);
  if (!external_id) return std::nullopt;
  auto customer = storage::customers::find_by_external_id_for_update(tx, tenant, *external_id);
  if (!customer) {
    reader.add_error("customer", "not_found",
                     "no customer has external_id \"" + *external_id + "\"");
  }
  return customer;
}

std::optional<std::int64_t> read_customer_amount(
    json::ObjectReader& reader, const std::optional<storage::CustomerRecord>& customer) {
  const auto currency_code = reader.required_string("currency", 3);
  if (customer && currency_code && *currency_code != customer->currency.code()) {
    reader.add_error("currency", "currency_mismatch",
                     "must be the customer's currency, " + customer->currency.code());
  }
  if (!customer) {
    reader.get("amount");
    return std::nullopt;
  }
  return read_amount(reader, "amount", customer->currency);
}
}  // namespace internal

json::Value grant_document(const storage::CreditGrantRecord& grant, const std::string& customer) {
  const auto currency = *domain::Currency::of(grant.currency);
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(grant.id));
  out.set("customer", json::Value::string(customer));
  out.set("kind", json::Value::string(grant.kind));
  out.set("currency", json::Value::string(grant.currency));
  out.set("amount", json::Value::string(money_text(grant.amount_minor, currency)));
  out.set("remaining", json::Value::string(money_text(grant.remaining_minor, currency)));
  out.set("priority", json::Value::number(grant.priority));
  out.set("expires_at",
          grant.expires_at ? json::Value::string(text(*grant.expires_at)) : json::Value::null());
  out.set("expired_at",
          grant.expired_at ? json::Value::string(text(*grant.expired_at)) : json::Value::null());
  out.set("reason_code",
          grant.reason_code ? json::Value::string(*grant.reason_code) : json::Value::null());
  out.set("source", json::Value::string(grant.source));
  if (grant.source_id) out.set("source_id", json::Value::string(*grant.source_id));
  out.set("created_at", json::Value::string(text(grant.created_at)));
  return out;
}

Result<storage::CreditGrantRecord> grant_credit(storage::Tx& tx, const RequestContext& ctx,
                                                const json::Value& body) {
  const TenantId& tenant = ctx.principal.tenant;
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto customer = internal::read_customer_for_update(tx, tenant, reader);
  const auto amount = internal::read_customer_amount(reader, customer);
  const auto kind = reader.optional_enum("kind", {"prepaid", "promotional"});
  if (!reader.get("kind"))
    reader.add_error("kind", "required", "is required: prepaid or promotional");
  const auto priority = reader.optional_integer("priority", 0, priority_max);
  std::optional<Instant> expires_at;
  if (const auto text_value = reader.optional_string("expires_at", 64)) {
    expires_at = domain::parse_rfc3339(*text_value);
    if (!expires_at) {
      reader.add_error("expires_at", "invalid_value", "must be an RFC 3339 instant");
    } else if (*expires_at <= ctx.now) {
      reader.add_error("expires_at", "invalid_value",
                       "must be in the future (now is " + text(ctx.now) + ")");
    }
  }
  const auto reason_code = read_optional_reason_code(tx, tenant, reader);
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));

  const domain::Currency& currency = customer->currency;
  storage::CreditGrantRecord grant{tenant,          ctx.new_id("grt_"),
                                   customer->id,    *kind,
                                   currency.code(), *amount,
                                   *amount,         priority.value_or(0),
                                   expires_at,      std::nullopt,
                                   reason_code,     "api",
                                   std::nullopt,    ctx.now};
  if (!storage::credit_grants::insert(tx, grant)) {
    return Error::make(ErrorCode::internal, "A fresh grant id was taken.");
  }
  // Prepaid credit was bought: cash in, a liability to deliver. Promotional credit was given:
  // an expense of the tenant's, the same liability.
  const bool prepaid = grant.kind == "prepaid";
  internal::Movement movement{
      "credit_grant",
      grant.id,
      std::nullopt,
      customer->id,
      currency,
      ctx.now,
      {{prepaid ? customer_account(AccountKind::cash, currency, customer->id)
                : tenant_account(AccountKind::promotions_expense, currency),
        Side::debit, grant.amount_minor},
       {customer_account(prepaid ? AccountKind::prepaid_credit : AccountKind::promotional_credit,
                         currency, customer->id),
        Side::credit, grant.amount_minor}}};
  if (auto posted = internal::post(tx, ctx, tenant, std::move(movement)); !posted) {
    return posted.take_error();
  }
  audit::append(tx, ctx, tenant,
                {"credit_grant.created", grant.id, std::nullopt,
                 grant_document(grant, customer->external_id), grant.reason_code, std::nullopt});
  return grant;
}

Result<Balance> balance(storage::Tx& tx, const RequestContext& ctx,
                        const std::string& external_id) {
  const TenantId& tenant = ctx.principal.tenant;
  const auto customer = storage::customers::find_by_external_id(tx, tenant, external_id);
  if (!customer) return Error::not_found("The customer");
  Balance out{external_id, customer->currency, 0, 0, 0, 0, {}};
  // Exact now, whether or not an expiry has been recorded yet: a grant past its expiry counts
  // for nothing.
  for (auto& grant :
       storage::credit_grants::drawable(tx, tenant, customer->id, customer->currency.code())) {
    if (grant.expires_at && *grant.expires_at <= ctx.now) continue;
    out.credit_balance_minor += grant.remaining_minor;
    out.grants.push_back(std::move(grant));
  }
  storage::InvoiceFilter filter;
  filter.customer = customer->id;
  filter.status = storage::InvoiceStatus::finalized;
  filter.limit = 1000;
  for (;;) {
    const auto page = storage::invoices::page(tx, tenant, filter);
    for (const auto& invoice : page) out.amount_due_minor += invoice.amount_due_minor();
    if (page.size() < filter.limit) break;
    filter.after_id = page.back().id;
  }
  for (const auto& charge : storage::charges::pending(tx, tenant, customer->id, ctx.now)) {
    out.pending_charges_minor += charge.amount_minor;
  }
  // What the open periods have accrued so far: each live subscription's upcoming invoice.
  std::string after;
  for (;;) {
    const auto page = storage::subscriptions::of_customer(tx, tenant, customer->id, after, 100);
    for (const auto& subscription : page) {
      if (subscription.ends_at && *subscription.ends_at <= std::max(ctx.now, subscription.start)) {
        continue;
      }
      auto upcoming = subscriptions::upcoming(tx, ctx, subscription.id);
      if (!upcoming) return upcoming.take_error();
      const auto minor = domain::to_minor_units(upcoming->invoice.total, customer->currency);
      if (minor) out.accrued_minor += *minor;
    }
    if (page.size() < 100) break;
    after = page.back().id;
  }
  return out;
}

}  // namespace neruba::services::billing
