#pragma once
// The state the data files' database blocks share: the in-process API (TestApi) over a fresh
// database of the run's backend, and the tenant of the current case. Metering uses it now; pricing
// and invoicing blocks will set up their plans and read their invoices through it too.
#include <optional>
#include <string>

#include "support/data_blocks.hpp"
#include "support/test_api.hpp"

namespace neruba::test::data {

// Where the clock of every case starts: events on 2026-01-05 lie inside the default windows (35
// days late, 300 s in the future).
inline constexpr const char* case_clock_start = "2026-01-10T00:00:00Z";

class ApiState final : public AreaState {
 public:
  explicit ApiState(Session& session);

  TestApi& api() { return api_; }
  // The case's tenant, with a key of every scope; created on first use in each case.
  const TestTenant& tenant();
  void start_case(const std::string& name) override;

  // A step's outcome from an answer: success when its status is `success_status`, else the
  // problem it holds (its type's slug and its errors[] fields), the body as context.
  static Outcome outcome_of(const TestResponse& response, int success_status);

 private:
  Session& session_;
  TestApi api_;
  std::optional<TestTenant> tenant_;
};

}  // namespace neruba::test::data
