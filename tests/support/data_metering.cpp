// The metering area's blocks (tests/data/README.md): meters, usage events sent in batches, and
// usage read over a window, all through the in-process API of the case's tenant.
#include <algorithm>
#include <string>
#include <vector>

#include "json/json.hpp"
#include "support/data_api.hpp"
#include "support/data_blocks.hpp"
#include "support/event_json.hpp"
#include "support/json_access.hpp"

namespace neruba::test::data {
namespace {

// Events queued by `event` lines until they are sent: by `send`, or before any other directive
// and at the end of the file (then every one is expected accepted but those expecting an error).
// The usage window of `usage` reads.
class MeteringState final : public AreaState {
 public:
  explicit MeteringState(Session& session) : session_(session), api_(session.state<ApiState>()) {}

  void queue(const Step& step) {
    queued_.push_back({&step, event_json(step.words[0], step.words[1], step.words[2], step.words[3],
                                         step.rest_after(4))});
  }

  // Posts the queued events as one batch and checks each event's own expectations; returns the
  // batch's outcome (accepted, duplicates, conflicts, rejected), the unwritten counts expected by
  // `defaulted`.
  Outcome send(Step& defaulted);

  void before_step(const Step& step) override {
    if (step.keyword != "event" && step.keyword != "send") send_implicitly();
  }
  void start_case(const std::string&) override { set_window({}, {}); }
  void finish() override { send_implicitly(); }

  void set_window(std::string from, std::string to) {
    from_ = std::move(from);
    to_ = std::move(to);
  }
  Outcome usage(const Step& step);

 private:
  struct Queued {
    const Step* step;
    std::string json;
  };

  void send_implicitly() {
    if (queued_.empty()) return;
    Step implicit{queued_.front().step->line,
                  "(the events from line " + std::to_string(queued_.front().step->line) +
                      " sent as one batch)",
                  "send",
                  {},
                  {}};
    session_.check(implicit, send(implicit));
  }

  Session& session_;
  ApiState& api_;
  std::vector<Queued> queued_;
  std::string from_;
  std::string to_;
};

std::int64_t count_of(const Step& step, const std::string& name, std::int64_t fallback) {
  for (const auto& expectation : step.expectations) {
    for (const auto& [written, value] : expectation.named) {
      if (written == name) return std::stoll(value);
    }
  }
  return fallback;
}

// The outcome of the queued event at `index` of the batch answer `body`.
Outcome event_outcome(const json::Value& body, std::int64_t index) {
  Outcome outcome;
  for (const auto& item : member(body, "rejected").items()) {
    if (int_of(item, "index") != index) continue;
    outcome.error = ErrorOutcome{
        text_of(item, "type"), {{text_of(item, "field"), ""}}, text_of(item, "detail")};
    outcome.context = json::serialize(item);
  }
  return outcome;
}

Outcome MeteringState::send(Step& defaulted) {
  std::vector<Queued> batch;
  batch.swap(queued_);
  std::vector<std::string> events;
  for (const auto& queued : batch) events.push_back(queued.json);
  const auto response = api_.api().post("/v1/events", api_.tenant().key, batch_json(events));
  Outcome outcome = ApiState::outcome_of(response, 200);
  if (outcome.error) return outcome;
  std::int64_t errors_expected = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Step& event = *batch[i].step;
    errors_expected += std::any_of(event.expectations.begin(), event.expectations.end(),
                                   [](const Expectation& e) { return e.error; });
    session_.check(event, event_outcome(response.json, static_cast<std::int64_t>(i)));
  }
  outcome.named = {
      {"accepted", std::to_string(int_of(response.json, "accepted"))},
      {"duplicates", std::to_string(int_of(response.json, "duplicates"))},
      {"conflicts", std::to_string(member(response.json, "conflicts").items().size())},
      {"rejected", std::to_string(member(response.json, "rejected").items().size())},
  };
  // What is not written: no duplicates or conflicts, the events expecting an error rejected, the
  // others accepted.
  const std::int64_t duplicates = count_of(defaulted, "duplicates", 0);
  const std::int64_t conflicts = count_of(defaulted, "conflicts", 0);
  const std::int64_t rejected = count_of(defaulted, "rejected", errors_expected);
  const std::int64_t accepted =
      count_of(defaulted, "accepted",
               static_cast<std::int64_t>(batch.size()) - duplicates - conflicts - rejected);
  Expectation defaults;
  defaults.line = defaulted.line;
  for (const auto& [name, value] : {std::pair{"accepted", accepted},
                                    {"duplicates", duplicates},
                                    {"conflicts", conflicts},
                                    {"rejected", rejected}}) {
    if (count_of(defaulted, name, -1) == -1)
      defaults.named.emplace_back(name, std::to_string(value));
  }
  if (!defaults.named.empty()) defaulted.expectations.push_back(std::move(defaults));
  return outcome;
}

Outcome MeteringState::usage(const Step& step) {
  if (from_.empty()) throw std::runtime_error("no `window <from> <to>` before `usage`");
  const auto response = api_.api().get(
      "/v1/customers/" + step.words[0] + "/usage?from=" + from_ + "&to=" + to_, api_.tenant().key);
  Outcome outcome = ApiState::outcome_of(response, 200);
  if (outcome.error) return outcome;
  const json::Value* item = nullptr;
  for (const auto& meter : member(response.json, "meters").items()) {
    if (text_of(meter, "meter") == step.words[1]) item = &meter;
  }
  if (item != nullptr && step.words.size() > 2) item = find_group(*item, step.rest_after(2));
  if (item == nullptr) return outcome;  // no value: every expectation fails, showing the body
  outcome.context = json::serialize(*item);
  const json::Value& value = member(*item, "value");
  outcome.value = value.is_null() ? "null" : value.text();
  outcome.named["events"] = std::to_string(int_of(*item, "events"));
  if (member(*item, "groups").is_array()) {
    outcome.named["groups"] = std::to_string(member(*item, "groups").items().size());
  }
  return outcome;
}

}  // namespace

std::vector<BlockKind> metering_blocks() {
  return {
      {"meter", "<meter json>", Needs::database, 1, any_words, Accepts{.error = true},
       [](const Step& step) { return json_after(step, 0); },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         auto& api = session.state<ApiState>();
         return ApiState::outcome_of(
             api.api().post("/v1/meters", api.tenant().key, step.rest_after(0)), 201);
       }},
      {"event", "<event_id> <customer> <type> <timestamp> [<properties json>]", Needs::database, 4,
       any_words, Accepts{.error = true},
       [](const Step& step) { return step.words.size() > 4 ? json_after(step, 4) : std::nullopt; },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         session.state<MeteringState>().queue(step);
         return std::nullopt;  // checked when its batch is sent
       }},
      {"send", "", Needs::database, 0, 0,
       Accepts{.names = {"accepted", "duplicates", "conflicts", "rejected"}, .error = true},
       nullptr,
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         Step defaulted = step;
         session.check(defaulted, session.state<MeteringState>().send(defaulted));
         return std::nullopt;
       }},
      {"window",
       "<from> <to>",
       Needs::database,
       2,
       2,
       {},
       [](const Step& step) {
         auto problem = instant_at(step, 0);
         return problem ? problem : instant_at(step, 1);
       },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         session.state<MeteringState>().set_window(step.words[0], step.words[1]);
         return std::nullopt;
       }},
      {"usage", "<customer> <meter> [<group json>]", Needs::database, 2, any_words,
       Accepts{.value = true, .names = {"events", "groups"}, .error = true},
       [](const Step& step) { return step.words.size() > 2 ? json_after(step, 2) : std::nullopt; },
       [](Session& session, const Step& step) -> std::optional<Outcome> {
         return session.state<MeteringState>().usage(step);
       }},
  };
}

}  // namespace neruba::test::data
