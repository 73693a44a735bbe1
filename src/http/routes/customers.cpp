// A tenant's customers.
#include "services/customers.hpp"
#include "http/routes.hpp"

namespace neruba::http {
namespace {

namespace customers = services::customers;

Rendered customer_shown(const storage::CustomerRecord& customer) {
  return ok(views::customer(customer));
}

Result<Rendered> create_customer(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  return call.write(
      [&](storage::Tx& tx) -> Result<storage::CustomerRecord> {
        auto customer = customers::parse_new_customer(*body);
        if (!customer) return customer.take_error();
        return customers::create(tx, call.ctx, *customer);
      },
      [](const storage::CustomerRecord& customer) { return created(views::customer(customer)); });
}

Result<Rendered> get_customer(Call& call) {
  const std::string external_id = call.param("external_id");
  return call.read([&](storage::Tx& tx) { return customers::get(tx, call.ctx, external_id); },
                   customer_shown);
}

Result<Rendered> update_customer(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const std::string external_id = call.param("external_id");
  return call.write(
      [&](storage::Tx& tx) { return customers::update(tx, call.ctx, external_id, *body); },
      customer_shown);
}

Result<Rendered> list_customers(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  return call.read(
      [&](storage::Tx& tx) {
        return Result<services::Page<storage::CustomerRecord>>(
            customers::list(tx, call.ctx, page->cursor, page->limit));
      },
      [](const services::Page<storage::CustomerRecord>& page) {
        return ok(views::page<storage::CustomerRecord>(page, views::customer));
      });
}

}  // namespace

void add_customer_routes(std::vector<Route>& table) {
  namespace scope = services::scope;
  table.push_back({"POST", "/v1/customers", Access::tenant, {scope::write}, create_customer});
  table.push_back(
      {"GET", "/v1/customers", Access::tenant, {scope::read, scope::write}, list_customers});
  table.push_back({"GET",
                   "/v1/customers/{external_id}",
                   Access::tenant,
                   {scope::read, scope::write},
                   get_customer});
  table.push_back(
      {"PATCH", "/v1/customers/{external_id}", Access::tenant, {scope::write}, update_customer});
}

}  // namespace neruba::http
