#include "services/customers.hpp"

#include "common/limits.hpp"
#include "domain/time.hpp"
#include "json/reader.hpp"
#include "services/audit_log.hpp"
#include "services/page.hpp"
#include "services/validation.hpp"
#include "storage/repositories.hpp"

namespace neruba::services::customers {
namespace {

constexpr std::size_t metadata_entries_max = 50;
constexpr std::size_t metadata_value_length_max = 500;

json::Value customer_json(const storage::CustomerRecord& customer) {
  json::Value out = json::Value::object();
  out.set("id", json::Value::string(customer.id.str()));
  out.set("external_id", json::Value::string(customer.external_id));
  out.set("name", json::Value::string(customer.name));
  out.set("currency", json::Value::string(customer.currency));
  out.set("timezone", json::Value::string(customer.timezone));
  out.set("metadata", customer.metadata);
  out.set("created_at", json::Value::string(domain::format_rfc3339(customer.created_at)));
  return out;
}

}  // namespace

Result<Reply> create(storage::Tx& tx, const RequestContext& ctx, const json::Value& body,
                     CustomerId id) {
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
  reader.reject_unknown();
  if (!errors.empty()) return Error::invalid(std::move(errors));

  const auto tenant = storage::tenants::find(tx, ctx.principal.tenant);
  if (!tenant) return Error::not_found("The tenant");
  storage::CustomerRecord customer{ctx.principal.tenant,
                                   std::move(id),
                                   *external_id,
                                   *name,
                                   currency.value_or(tenant->currency),
                                   timezone.value_or(tenant->timezone),
                                   metadata.value_or(json::Value::object()),
                                   ctx.now};
  if (!storage::customers::insert(tx, customer)) {
    return Error{
        ErrorCode::already_exists,
        "A customer with external_id \"" + *external_id + "\" already exists.",
        {FieldError{"external_id", "already_exists", "is already used by another customer", {}}},
        {}};
  }
  json::Value representation = customer_json(customer);
  audit::append(tx, ctx, ctx.principal.tenant,
                {"customer.created", customer.id.str(), std::nullopt, representation, {}, {}});
  return Reply{201, std::move(representation)};
}

Result<Reply> get(storage::Tx& tx, const RequestContext& ctx, const std::string& external_id) {
  const auto customer =
      storage::customers::find_by_external_id(tx, ctx.principal.tenant, external_id);
  if (!customer) return Error::not_found("The customer");
  return Reply{200, customer_json(*customer)};
}

Result<Reply> list(storage::Tx& tx, const RequestContext& ctx, const std::string& cursor,
                   std::size_t limit) {
  return page_reply(storage::customers::list(tx, ctx.principal.tenant, cursor, limit + 1), limit,
                    customer_json,
                    [](const storage::CustomerRecord& customer) { return customer.external_id; });
}

}  // namespace neruba::services::customers
