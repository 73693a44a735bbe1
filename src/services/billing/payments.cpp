// One-off charges and payments.
#include "common/assert.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/billing/internal.hpp"
#include "services/validation.hpp"

namespace neruba::services::billing {
namespace {

using domain::ledger::AccountKind;
using domain::ledger::Side;
using internal::customer_account;
using internal::money_text;

constexpr std::size_t description_length_max = 500;

std::string text(Instant at) { return domain::format_rfc3339(at); }

json::Value charge_document(const storage::ChargeRecord& charge, const std::string& customer) {
  const auto currency = *domain::Currency::of(charge.currency);
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(charge.id));
  out.set("customer", json::Value::string(customer));
  out.set("charge_key", json::Value::string(charge.charge_key));
  out.set("amount", json::Value::string(money_text(charge.amount_minor, currency)));
  out.set("currency", json::Value::string(charge.currency));
  out.set("description", json::Value::string(charge.description));
  out.set("invoice", charge.invoice ? json::Value::string(*charge.invoice) : json::Value::null());
  out.set("created_at", json::Value::string(text(charge.created_at)));
  return out;
}

json::Value payment_document_of(const storage::PaymentRecord& payment) {
  const auto currency = *domain::Currency::of(payment.currency);
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(payment.id));
  out.set("invoice", json::Value::string(payment.invoice));
  out.set("provider", json::Value::string(payment.provider));
  out.set("provider_payment_id", json::Value::string(payment.provider_payment_id));
  out.set("amount", json::Value::string(money_text(payment.amount_minor, currency)));
  out.set("applied", json::Value::string(money_text(payment.applied_minor, currency)));
  out.set("excess", json::Value::string(money_text(payment.excess_minor, currency)));
  out.set("currency", json::Value::string(payment.currency));
  out.set("created_at", json::Value::string(text(payment.created_at)));
  return out;
}

}  // namespace

json::Value charge_json(const Charge& charge) {
  return charge_document(charge.record, charge.customer);
}
json::Value payment_json(const storage::PaymentRecord& payment) {
  return payment_document_of(payment);
}

Result<Charge> create_charge(storage::Tx& tx, const RequestContext& ctx, const json::Value& body) {
  const TenantId& tenant = ctx.principal.tenant;
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto customer = internal::read_customer_for_update(tx, tenant, reader);
  const auto charge_key = reader.required_string("charge_key", 256);
  if (charge_key && !is_valid_identifier(*charge_key, 256)) {
    reader.add_error("charge_key", "invalid_value", "must be " + std::string(identifier_rule));
  }
  const auto amount = internal::read_customer_amount(reader, customer);
  const auto description = reader.required_string("description", description_length_max);
  if (description && (description->empty() || has_control_characters(*description))) {
    reader.add_error("description", "invalid_value",
                     "must be 1 to 500 characters without control characters");
  }
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));

  storage::ChargeRecord charge{
      tenant,  ctx.new_id("chg_"),        customer->id, *charge_key, "one_off",
      *amount, customer->currency.code(), *description, ctx.now,     std::nullopt};
  if (!storage::charges::insert(tx, charge)) {
    auto existing = storage::charges::find_by_key(tx, tenant, customer->id, *charge_key);
    NERUBA_ASSERT_MSG(existing.has_value(), "a charge key taken by no charge");
    if (existing->amount_minor == charge.amount_minor &&
        existing->description == charge.description) {
      return Charge{std::move(*existing), customer->external_id, false};
    }
    return internal::conflict("charge_key_taken", "charge_key",
                              "The customer has a charge with key \"" + *charge_key +
                                  "\" and another amount or description (" + existing->id + ").");
  }
  audit::append(tx, ctx, tenant,
                {"charge.created", charge.id, std::nullopt,
                 charge_document(charge, customer->external_id), std::nullopt, std::nullopt});
  return Charge{std::move(charge), customer->external_id, true};
}

Result<Payment> record_payment(storage::Tx& tx, const RequestContext& ctx,
                               const json::Value& body) {
  const TenantId& tenant = ctx.principal.tenant;
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto invoice_id = reader.required_string("invoice", 64);
  std::optional<storage::InvoiceRecord> found;
  if (invoice_id) {
    found = storage::invoices::find(tx, tenant, *invoice_id);
    if (!found)
      reader.add_error("invoice", "not_found", "no invoice has id \"" + *invoice_id + "\"");
  }
  std::optional<std::int64_t> amount;
  if (found) {
    amount = internal::read_positive_amount(reader, "amount", found->currency);
  } else {
    reader.get("amount");
  }
  if (const auto currency = reader.optional_string("currency", 3);
      currency && found && *currency != found->currency.code()) {
    reader.add_error("currency", "currency_mismatch",
                     "must be the invoice's currency, " + found->currency.code());
  }
  const auto provider = reader.optional_enum("provider", {"manual", "stripe"});
  if (!reader.get("provider"))
    reader.add_error("provider", "required", "is required: manual or stripe");
  const auto provider_payment_id = reader.required_string("provider_payment_id", 256);
  if (provider_payment_id && !is_valid_identifier(*provider_payment_id, 256)) {
    reader.add_error("provider_payment_id", "invalid_value",
                     "must be " + std::string(identifier_rule));
  }
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));

  const auto customer = storage::customers::find_for_update(tx, tenant, found->customer);
  NERUBA_ASSERT_MSG(customer.has_value(), "an invoice without its customer");
  auto invoice = storage::invoices::find_for_update(tx, tenant, *invoice_id);
  if (const auto existing =
          storage::payments::find_by_provider_id(tx, tenant, *provider, *provider_payment_id)) {
    return internal::conflict("payment_already_recorded", "provider_payment_id",
                              "Payment " + *provider_payment_id + " of " + *provider +
                                  " was recorded already (" + existing->id + ", invoice " +
                                  existing->invoice + ").");
  }
  switch (invoice->status) {
    case storage::InvoiceStatus::draft:
      return internal::conflict("invoice_not_finalized", "invoice",
                                "Invoice " + *invoice_id +
                                    " is a draft: it cannot be paid "
                                    "before it is finalized.");
    case storage::InvoiceStatus::paid:
      return internal::conflict("invoice_already_paid", "invoice",
                                "Invoice " + *invoice_id + " is paid: nothing is due on it.");
    case storage::InvoiceStatus::void_:
      return internal::conflict("invoice_void", "invoice",
                                "Invoice " + *invoice_id + " is void: nothing is due on it.");
    case storage::InvoiceStatus::finalized:
      break;
  }
  const domain::Currency& currency = invoice->currency;
  const std::int64_t applied = std::min(*amount, invoice->amount_due_minor());
  const std::int64_t excess = *amount - applied;
  storage::PaymentRecord payment{tenant,          ctx.new_id("pay_"),
                                 *invoice_id,     customer->id,
                                 *provider,       *provider_payment_id,
                                 currency.code(), *amount,
                                 applied,         excess,
                                 ctx.now};
  if (!storage::payments::insert(tx, payment)) {
    return Error::make(ErrorCode::internal, "A fresh payment id was taken.");
  }
  if (applied > 0 && !storage::invoices::add_payment(tx, tenant, *invoice_id, applied, ctx.now)) {
    return Error::make(ErrorCode::internal, "Invoice " + *invoice_id + " refused a payment.");
  }
  internal::Movement movement{
      "payment",
      payment.id,
      std::nullopt,
      customer->id,
      currency,
      ctx.now,
      {{customer_account(AccountKind::cash, currency, customer->id), Side::debit, *amount}}};
  if (applied > 0) {
    movement.entries.push_back(
        {customer_account(AccountKind::receivable, currency, customer->id), Side::credit, applied});
  }
  std::optional<std::string> grant_id;
  if (excess > 0) {
    // An overpayment is the customer's prepaid credit: the next invoices draw it.
    grant_id = internal::derived_id("grt_", {tenant.str(), "overpayment", payment.id});
    storage::CreditGrantRecord grant{
        tenant, *grant_id,    customer->id, "prepaid",    currency.code(), excess,     excess,
        0,      std::nullopt, std::nullopt, std::nullopt, "overpayment",   payment.id, ctx.now};
    if (!storage::credit_grants::insert(tx, grant)) {
      return Error::make(ErrorCode::internal, "The credit of " + payment.id + " exists already.");
    }
    movement.entries.push_back(
        {customer_account(AccountKind::prepaid_credit, currency, customer->id), Side::credit,
         excess});
  }
  if (auto posted = internal::post(tx, ctx, tenant, std::move(movement)); !posted) {
    return posted.take_error();
  }
  auto after = storage::invoices::find(tx, tenant, *invoice_id);
  Payment out{payment, internal::invoice_view(tx, tenant, std::move(*after), customer->external_id),
              grant_id};
  json::Value audit_after = payment_document_of(payment);
  if (grant_id) audit_after.set("credit_grant", json::Value::string(*grant_id));
  audit::append(tx, ctx, tenant,
                {"payment.created", payment.id, std::nullopt, std::move(audit_after), std::nullopt,
                 std::nullopt});
  return out;
}

}  // namespace neruba::services::billing
