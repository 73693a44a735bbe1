#include "services/customers.hpp"

#include <algorithm>

#include "common/assert.hpp"
#include "common/limits.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/settings.hpp"
#include "services/validation.hpp"
#include "storage/tenants.hpp"

namespace neruba::services::customers {
namespace {

constexpr std::size_t metadata_entries_max = 50;
constexpr std::size_t metadata_value_length_max = 500;
constexpr std::string_view grace_field = "invoice_grace_period_days";

std::optional<std::int64_t> read_grace_days(json::ObjectReader& reader) {
  return reader.optional_integer(grace_field, 0, settings::invoice_grace_period_days_max);
}

// A PATCH body: each member the body names, with its new value (a null one as nullopt).
struct CustomerChange {
  std::optional<std::optional<std::int64_t>> invoice_grace_period_days;
};

Result<CustomerChange> parse_change(const json::Value& body) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  CustomerChange change;
  // The reader takes null for absent; here null is a value: back to the tenant's setting.
  const bool named = body.is_object() && body.find(grace_field) != nullptr;
  const auto days = read_grace_days(reader);
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  if (named) change.invoice_grace_period_days = days;
  return change;
}

Error external_id_taken(const std::string& external_id) {
  return Error{
      ErrorCode::already_exists,
      "A customer with external_id \"" + external_id + "\" already exists.",
      {FieldError{"external_id", "already_exists", "is already used by another customer", {}}},
      {}};
}

}  // namespace

json::Value customer_document(const storage::CustomerRecord& customer) {
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(customer.id.str()));
  out.set("external_id", json::Value::string(customer.external_id));
  out.set("name", json::Value::string(customer.name));
  out.set("currency", json::Value::string(customer.currency.code()));
  out.set("timezone", json::Value::string(customer.timezone));
  out.set("metadata", customer.metadata);
  out.set("invoice_grace_period_days",
          customer.invoice_grace_period_days
              ? json::Value::number(*customer.invoice_grace_period_days)
              : json::Value::null());
  out.set("created_at", json::Value::string(domain::format_rfc3339(customer.created_at)));
  return out;
}

std::int64_t invoice_grace_period_days(std::int64_t tenant_days,
                                       const storage::CustomerRecord& customer) {
  return std::clamp<std::int64_t>(customer.invoice_grace_period_days.value_or(tenant_days), 0,
                                  settings::invoice_grace_period_days_max);
}

Result<NewCustomer> parse_new_customer(const json::Value& body) {
  std::vector<FieldError> errors;
  json::ObjectReader reader(body, "", errors);
  const auto external_id = reader.required_string("external_id", limits::external_id_length_max);
  if (external_id && !is_valid_identifier(*external_id, limits::external_id_length_max)) {
    reader.add_error("external_id", "invalid_value", "must be " + std::string(identifier_rule));
  }
  const auto name = reader.required_string("name", limits::name_length_max);
  const auto currency = read_currency(reader, "currency", false);
  const auto timezone = read_timezone(reader, "timezone", false);
  const auto metadata =
      reader.optional_string_map("metadata", metadata_entries_max, metadata_value_length_max);
  const auto grace_days = read_grace_days(reader);
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));
  NewCustomer out{*external_id, *name, currency, timezone,
                  metadata.value_or(json::Value::object())};
  out.invoice_grace_period_days = grace_days;
  return out;
}

Result<storage::CustomerRecord> create(storage::Tx& tx, const RequestContext& ctx,
                                       const NewCustomer& customer) {
  // The rules of parse_new_customer, for callers that build a NewCustomer themselves.
  if (!is_valid_identifier(customer.external_id, limits::external_id_length_max)) {
    return Error::invalid({FieldError{
        "external_id", "invalid_value", "must be " + std::string(identifier_rule), {}}});
  }
  // The tenant row, locked before the insert (audit::append locks it anyway): whoever creates a
  // customer of the tenant holds it first, so two creators of two customers cannot each hold one
  // customer's key while waiting for the other's row (a deadlock on PostgreSQL).
  const auto tenant = storage::tenants::find_for_update(tx, ctx.principal.tenant);
  if (!tenant) return Error::not_found("The tenant");
  storage::CustomerRecord record{ctx.principal.tenant,
                                 CustomerId(ctx.new_id(id_prefix::customer)),
                                 customer.external_id,
                                 customer.name,
                                 customer.currency.value_or(tenant->currency),
                                 customer.timezone.value_or(tenant->timezone),
                                 customer.metadata,
                                 ctx.now,
                                 customer.invoice_grace_period_days};
  if (!storage::customers::insert(tx, record)) return external_id_taken(customer.external_id);
  audit::append(tx, ctx, ctx.principal.tenant,
                {"customer.created", record.id.str(), std::nullopt, customer_document(record),
                 std::nullopt, customer.justification});
  return record;
}

Result<storage::CustomerRecord> find_or_create(storage::Tx& tx, const RequestContext& ctx,
                                               const NewCustomer& customer) {
  const TenantId& tenant = ctx.principal.tenant;
  if (auto found = storage::customers::find_by_external_id(tx, tenant, customer.external_id)) {
    return std::move(*found);
  }
  // Creators of the tenant's customers take turns on the tenant row (create locks it first): once
  // it is this transaction's, a customer another creator committed meanwhile is visible.
  if (!storage::tenants::find_for_update(tx, tenant)) return Error::not_found("The tenant");
  if (auto found = storage::customers::find_by_external_id(tx, tenant, customer.external_id)) {
    return std::move(*found);
  }
  auto created = create(tx, ctx, customer);
  if (created || created.error().code != ErrorCode::already_exists) return created;
  // Another transaction inserted it without waiting for the tenant row, and committed while this
  // one waited on its unique key: use that customer (PostgreSQL's READ COMMITTED: this statement
  // sees the committed row).
  auto winner = storage::customers::find_by_external_id(tx, tenant, customer.external_id);
  NERUBA_ASSERT_MSG(winner.has_value(), "an external id refused as taken is not stored");
  return std::move(*winner);
}

Result<storage::CustomerRecord> update(storage::Tx& tx, const RequestContext& ctx,
                                       const std::string& external_id, const json::Value& body) {
  auto change = parse_change(body);
  if (!change) return change.take_error();
  const TenantId& tenant = ctx.principal.tenant;
  // Locked until the transaction ends, as a billing run locks it: a run bills the customer with
  // the grace period before this change or after it, never half of each.
  auto customer = storage::customers::find_by_external_id_for_update(tx, tenant, external_id);
  if (!customer) return Error::not_found("The customer");
  json::Value before = customer_document(*customer);
  if (change->invoice_grace_period_days) {
    customer->invoice_grace_period_days = *change->invoice_grace_period_days;
  }
  json::Value after = customer_document(*customer);
  if (after == before) return std::move(*customer);  // nothing changed, nothing to record
  NERUBA_ASSERT_MSG(storage::customers::set_invoice_grace_period_days(
                        tx, tenant, customer->id, customer->invoice_grace_period_days),
                    "a customer locked for update vanished");
  audit::append(
      tx, ctx, tenant,
      {"customer.updated", customer->id.str(), std::move(before), std::move(after), {}, {}});
  return std::move(*customer);
}

Result<storage::CustomerRecord> get(storage::Tx& tx, const RequestContext& ctx,
                                    const std::string& external_id) {
  auto customer = storage::customers::find_by_external_id(tx, ctx.principal.tenant, external_id);
  if (!customer) return Error::not_found("The customer");
  return std::move(*customer);
}

Page<storage::CustomerRecord> list(storage::Tx& tx, const RequestContext& ctx,
                                   const std::string& cursor, std::size_t limit) {
  return page_of(storage::customers::list(tx, ctx.principal.tenant, cursor, limit + 1), limit,
                 [](const storage::CustomerRecord& customer) { return customer.external_id; });
}

}  // namespace neruba::services::customers
