#pragma once
// The catalog (API.md "Catalog"): plans and their versions. A plan's first version is made with
// the plan; later versions take effect later. Every write is in the audit trail with its
// effective date. The version in force at a period's start prices that period.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "domain/pricing/plan.hpp"
#include "services/context.hpp"
#include "services/page.hpp"
#include "storage/db.hpp"
#include "storage/plans.hpp"

namespace neruba::services::catalog {

// A plan with every version, oldest first.
struct PlanWithVersions {
  storage::PlanRecord plan;
  std::vector<domain::pricing::PlanVersion> versions;
};

// The version a plan body describes (POST /v1/plans, POST /v1/plans/{code}/versions, a stored
// definition), read without storage: every problem of its shape and fields at once, as one 422.
// `code` and `effective_from` are the version's where the body names none (the body's own win);
// an empty `code` makes the body's `code` required (POST /v1/plans). The rules that need the
// tenant's meters are domain::pricing::validate's and are not checked here. Pure: what
// create_plan and add_version read a body with, reachable without a database (fuzz/fuzz_plan).
Result<domain::pricing::PlanVersion> parse_plan_version(const json::Value& body,
                                                        const std::string& code, int version,
                                                        Instant effective_from);

// POST /v1/plans: the plan and its version 1.
Result<PlanWithVersions> create_plan(storage::Tx& tx, const RequestContext& ctx,
                                     const json::Value& body);
// POST /v1/plans/{code}/versions: a new version, taking effect after the latest one.
Result<PlanWithVersions> add_version(storage::Tx& tx, const RequestContext& ctx,
                                     const std::string& code, const json::Value& body);
Result<PlanWithVersions> get_plan(storage::Tx& tx, const RequestContext& ctx,
                                  const std::string& code);
// GET /v1/plans: each plan with its latest version.
Page<PlanWithVersions> list_plans(storage::Tx& tx, const RequestContext& ctx,
                                  const std::string& cursor, std::size_t limit);

// Every version of the plan, oldest first; none when there is no such plan.
std::vector<domain::pricing::PlanVersion> versions_of(storage::Tx& tx, const TenantId& tenant,
                                                      const std::string& code);

// The version of the plan in force at `at` (the latest with effective_from <= at); not_found when
// the plan has none yet.
Result<domain::pricing::PlanVersion> version_in_force(storage::Tx& tx, const TenantId& tenant,
                                                      const std::string& code, Instant at);

// A version as the API shows it and the audit trail records it (also what is stored).
json::Value plan_version_document(const domain::pricing::PlanVersion& version);

}  // namespace neruba::services::catalog
