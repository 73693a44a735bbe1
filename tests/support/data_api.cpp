// The API area's blocks: customers, the clock and tenant settings (tests/data/README.md).
#include "support/data_api.hpp"

#include <algorithm>

#include "json/json.hpp"
#include "support/data_words.hpp"
#include "support/event_json.hpp"
#include "support/json_access.hpp"

namespace neruba::test::data {
namespace {

constexpr std::string_view problem_type_prefix = "https://neruba.dev/errors/";

Backend backend_of(const Session& session) {
  if (!session.backend()) throw std::logic_error("a database block in a run without a backend");
  return *session.backend();
}

}  // namespace

ApiState::ApiState(Session& session) : session_(session), api_(backend_of(session)) {
  api_.clock().set(instant(case_clock_start));
}

const TestTenant& ApiState::tenant() {
  if (!tenant_) {
    const std::string name = session_.file().name + " " + session_.case_name();
    tenant_ = api_.create_tenant(name);
  }
  return *tenant_;
}

void ApiState::start_case(const std::string& name) {
  tenant_.reset();
  api_.clock().set(instant(case_clock_start));
}

Outcome ApiState::outcome_of(const TestResponse& response, int success_status) {
  Outcome outcome;
  outcome.context = std::to_string(response.status) + " " + response.body;
  if (response.status == success_status) return outcome;
  ErrorOutcome error;
  error.slug = text_of(response.json, "type");
  if (error.slug.starts_with(problem_type_prefix)) {
    error.slug.erase(0, problem_type_prefix.size());
  } else {
    error.slug = "status-" + std::to_string(response.status);  // not a problem document
  }
  for (const auto& item : member(response.json, "errors").items()) {
    error.fields.push_back({text_of(item, "field"), text_of(item, "type")});
  }
  error.detail = text_of(response.json, "detail");
  outcome.error = std::move(error);
  return outcome;
}

std::vector<BlockKind> api_blocks() {
  return {
      {"customer",
       "<external_id> [<external_id> …] [timezone=<zone>] [currency=<code>] [grace_days=<days>]",
       Needs::database, 1, any_words, Accepts{.error = true},
       [](const Step& step) -> std::optional<std::string> {
         static constexpr OptionSpec options[] = {
             {"timezone", [](std::string_view value) { return !value.empty(); }},
             {"currency", [](std::string_view value) { return value.size() == 3; }},
             {"grace_days", [](std::string_view value) { return integer_of(value).has_value(); }}};
         const auto first = std::find_if(
             step.words.begin(), step.words.end(),
             [](const std::string& word) { return (word.find('=') != std::string::npos); });
         if (first == step.words.begin()) return "no external_id before the options";
         return check_options(step, static_cast<std::size_t>(first - step.words.begin()), options);
       },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = session.state<ApiState>();
         std::string extra;
         for (const char* name : {"timezone", "currency"}) {
           if (const auto value = option(step, name)) {
             extra += ",\"" + std::string(name) + "\":" + json_quoted(std::string(*value));
           }
         }
         if (const auto days = option(step, "grace_days")) {
           extra += R"(,"invoice_grace_period_days":)" + std::string(*days);
         }
         for (const auto& external_id : step.words) {
           if ((external_id.find('=') != std::string::npos)) continue;
           const auto response = state.api().post("/v1/customers", state.tenant().key,
                                                  R"({"external_id":)" + json_quoted(external_id) +
                                                      R"(,"name":"Customer")" + extra + "}");
           auto outcome = ApiState::outcome_of(response, 201);
           if (outcome.error) return outcome;
         }
         return Outcome{};
       }},
      {"clock",
       "<instant>",
       Needs::database,
       1,
       1,
       {},
       [](const Step& step) { return instant_at(step, 0); },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         session.state<ApiState>().api().clock().set(instant(step.words[0]));
         return std::nullopt;
       }},
      {"settings", "<settings json>", Needs::database, 1, any_words, Accepts{.error = true},
       [](const Step& step) { return json_after(step, 0); },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& state = session.state<ApiState>();
         const auto response =
             state.api().call("PATCH", "/v1/tenants/" + state.tenant().id, test_admin_key,
                              R"({"settings":)" + step.rest_after(0) + "}");
         return ApiState::outcome_of(response, 200);
       }},
  };
}

}  // namespace neruba::test::data
