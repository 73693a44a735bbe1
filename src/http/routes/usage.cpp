// Meters, usage events and usage reads.
#include "services/usage.hpp"
#include "http/routes.hpp"
#include "services/ingest.hpp"
#include "services/meters.hpp"

namespace neruba::http {
namespace {

namespace meters = services::meters;

Result<Rendered> ingest_events(Call& call) {
  auto report = call.api.ingest().accept(call.ctx, call.request.body, call.claim,
                                         [](const services::ingest::IngestReport& report) {
                                           return stored_response(ok(views::ingest_report(report)));
                                         });
  if (!report) return report.take_error();
  return ok(views::ingest_report(*report));
}

Result<Rendered> create_meter(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  return call.write(
      [&](storage::Tx& tx) -> Result<storage::MeterRecord> {
        auto meter = meters::parse_new_meter(call.ctx, *body);
        if (!meter) return meter.take_error();
        return meters::create(tx, call.ctx, *meter);
      },
      [](const storage::MeterRecord& meter) { return created(views::meter(meter)); });
}

Result<Rendered> list_meters(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  return call.read(
      [&](storage::Tx& tx) {
        return Result<services::Page<storage::MeterRecord>>(
            meters::list(tx, call.ctx, page->cursor, page->limit));
      },
      [](const services::Page<storage::MeterRecord>& page) {
        return ok(views::page<storage::MeterRecord>(page, views::meter));
      });
}

Result<Rendered> get_meter(Call& call) {
  const std::string code = call.param("code");
  return call.read([&](storage::Tx& tx) { return meters::get(tx, call.ctx, code); },
                   [](const storage::MeterRecord& meter) { return ok(views::meter(meter)); });
}

Result<Rendered> customer_usage(Call& call) {
  auto from = call.instant_query("from");
  if (!from) return from.take_error();
  auto to = call.instant_query("to");
  if (!to) return to.take_error();
  std::vector<FieldError> errors;
  if (!from.value()) errors.push_back(FieldError{"from", "required", "is required (RFC 3339)", {}});
  if (!to.value()) errors.push_back(FieldError{"to", "required", "is required (RFC 3339)", {}});
  if (errors.empty() && *to.value() < *from.value()) {
    errors.push_back(FieldError{"to", "invalid_value", "must not be before from", {}});
  }
  if (!errors.empty()) return Error::invalid(std::move(errors));
  const std::string external_id = call.param("external_id");
  return call.read(
      [&](storage::Tx& tx) {
        return services::usage::customer_usage(tx, call.ctx, external_id, *from.value(),
                                               *to.value());
      },
      [](const services::usage::CustomerUsage& usage) { return ok(views::customer_usage(usage)); });
}

}  // namespace

void add_usage_routes(std::vector<Route>& table) {
  namespace scope = services::scope;
  table.push_back({"POST", "/v1/events", Access::tenant, {scope::ingest}, ingest_events});
  table.push_back({"POST", "/v1/meters", Access::tenant, {scope::write}, create_meter});
  table.push_back({"GET", "/v1/meters", Access::tenant, {scope::read, scope::write}, list_meters});
  table.push_back(
      {"GET", "/v1/meters/{code}", Access::tenant, {scope::read, scope::write}, get_meter});
  table.push_back(
      {"GET", "/v1/customers/{external_id}/usage", Access::tenant, {scope::read}, customer_usage});
}

}  // namespace neruba::http
