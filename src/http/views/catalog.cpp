// Plans and their versions.
#include "domain/time.hpp"
#include "http/views/views.hpp"

namespace neruba::http::views {
namespace {

json::Value plan_head(const services::catalog::PlanWithVersions& plan) {
  json::Value out = json::Value::object();
  out.set("code", json::Value::string(plan.plan.code));
  out.set("name", json::Value::string(plan.plan.name));
  out.set("currency", json::Value::string(plan.plan.currency.code()));
  out.set("interval", json::Value::string(plan.plan.interval));
  out.set("created_at", json::Value::string(domain::format_rfc3339(plan.plan.created_at)));
  out.set("latest_version",
          json::Value::number(plan.versions.empty() ? 0 : plan.versions.back().version));
  return out;
}

}  // namespace

// A version shows as the audit trail records it (services::catalog::plan_version_document).
json::Value plan(const services::catalog::PlanWithVersions& plan) {
  json::Value out = plan_head(plan);
  json::Value versions = json::Value::array();
  for (const auto& version : plan.versions) {
    versions.push_back(services::catalog::plan_version_document(version));
  }
  out.set("versions", std::move(versions));
  return out;
}

json::Value plan_summary(const services::catalog::PlanWithVersions& plan) {
  json::Value out = plan_head(plan);
  if (!plan.versions.empty()) {
    out.set("latest", services::catalog::plan_version_document(plan.versions.back()));
  }
  return out;
}

}  // namespace neruba::http::views
