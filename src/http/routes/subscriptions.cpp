// Subscriptions: create, change, cancel, read, list by customer, the upcoming invoice.
#include "services/subscriptions.hpp"
#include "http/routes.hpp"

namespace neruba::http {
namespace {

namespace subscriptions = services::subscriptions;

Rendered subscription_ok(const subscriptions::Subscription& subscription) {
  return ok(views::subscription(subscription));
}

Result<Rendered> create_subscription(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  return call.write([&](storage::Tx& tx) { return subscriptions::create(tx, call.ctx, *body); },
                    [](const subscriptions::Subscription& subscription) {
                      return created(views::subscription(subscription));
                    });
}

Result<Rendered> change_subscription(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const std::string id = call.param("subscription_id");
  return call.write([&](storage::Tx& tx) { return subscriptions::change(tx, call.ctx, id, *body); },
                    subscription_ok);
}

Result<Rendered> cancel_subscription(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const std::string id = call.param("subscription_id");
  return call.write([&](storage::Tx& tx) { return subscriptions::cancel(tx, call.ctx, id, *body); },
                    subscription_ok);
}

Result<Rendered> get_subscription(Call& call) {
  const std::string id = call.param("subscription_id");
  return call.read([&](storage::Tx& tx) { return subscriptions::get(tx, call.ctx, id); },
                   subscription_ok);
}

Result<Rendered> list_subscriptions(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  const std::string* customer = call.query("customer");
  if (customer == nullptr || customer->empty()) {
    return Error::invalid(
        {FieldError{"customer", "required", "is required: the customer's external_id", {}}});
  }
  return call.read(
      [&](storage::Tx& tx) {
        return subscriptions::list(tx, call.ctx, *customer, page->cursor, page->limit);
      },
      [](const services::Page<subscriptions::Subscription>& subscriptions) {
        return ok(views::page<subscriptions::Subscription>(subscriptions, views::subscription));
      });
}

Result<Rendered> upcoming_invoice(Call& call) {
  const std::string id = call.param("subscription_id");
  return call.read(
      [&](storage::Tx& tx) { return subscriptions::upcoming(tx, call.ctx, id); },
      [](const subscriptions::Upcoming& upcoming) { return ok(views::upcoming(upcoming)); });
}

}  // namespace

void add_subscription_routes(std::vector<Route>& table) {
  namespace scope = services::scope;
  const std::vector<std::string_view> readers{scope::read, scope::write};
  table.push_back(
      {"POST", "/v1/subscriptions", Access::tenant, {scope::write}, create_subscription});
  table.push_back({"GET", "/v1/subscriptions", Access::tenant, readers, list_subscriptions});
  table.push_back(
      {"GET", "/v1/subscriptions/{subscription_id}", Access::tenant, readers, get_subscription});
  table.push_back({"POST",
                   "/v1/subscriptions/{subscription_id}/changes",
                   Access::tenant,
                   {scope::write},
                   change_subscription});
  table.push_back({"POST",
                   "/v1/subscriptions/{subscription_id}/cancel",
                   Access::tenant,
                   {scope::write},
                   cancel_subscription});
  table.push_back({"GET", "/v1/subscriptions/{subscription_id}/upcoming", Access::tenant, readers,
                   upcoming_invoice});
}

}  // namespace neruba::http
