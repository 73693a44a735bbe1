// Plans and their versions.
#include "services/catalog.hpp"
#include "http/routes.hpp"

namespace neruba::http {
namespace {

namespace catalog = services::catalog;

Rendered plan_created(const catalog::PlanWithVersions& plan) { return created(views::plan(plan)); }

Result<Rendered> create_plan(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  return call.write([&](storage::Tx& tx) { return catalog::create_plan(tx, call.ctx, *body); },
                    plan_created);
}

Result<Rendered> add_version(Call& call) {
  auto body = call.body();
  if (!body) return body.take_error();
  const std::string code = call.param("plan_code");
  return call.write(
      [&](storage::Tx& tx) { return catalog::add_version(tx, call.ctx, code, *body); },
      plan_created);
}

Result<Rendered> get_plan(Call& call) {
  const std::string code = call.param("plan_code");
  return call.read([&](storage::Tx& tx) { return catalog::get_plan(tx, call.ctx, code); },
                   [](const catalog::PlanWithVersions& plan) { return ok(views::plan(plan)); });
}

Result<Rendered> list_plans(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  return call.read(
      [&](storage::Tx& tx) {
        return Result<services::Page<catalog::PlanWithVersions>>(
            catalog::list_plans(tx, call.ctx, page->cursor, page->limit));
      },
      [](const services::Page<catalog::PlanWithVersions>& plans) {
        return ok(views::page<catalog::PlanWithVersions>(plans, views::plan_summary));
      });
}

}  // namespace

void add_catalog_routes(std::vector<Route>& table) {
  namespace scope = services::scope;
  table.push_back({"POST", "/v1/plans", Access::tenant, {scope::write}, create_plan});
  table.push_back({"GET", "/v1/plans", Access::tenant, {scope::read, scope::write}, list_plans});
  table.push_back(
      {"GET", "/v1/plans/{plan_code}", Access::tenant, {scope::read, scope::write}, get_plan});
  table.push_back(
      {"POST", "/v1/plans/{plan_code}/versions", Access::tenant, {scope::write}, add_version});
}

}  // namespace neruba::http
