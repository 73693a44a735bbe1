#pragma once
// The block kinds of the data files (tests/data/README.md): for each directive, what it takes,
// whether it needs a database, which `expect` lines it answers, and the function that runs it.
// Every kind of every area is one BlockKind in block_kinds() (data_blocks.cpp); an area (metering,
// decimal, pricing, billing) lists its kinds in a function of its own file and keeps
// what it needs between steps in an AreaState. A run function never compares anything: it returns
// what the step produced (an Outcome), and the runner checks the step's expectations against it.
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>
#include <vector>

#include "support/data_file.hpp"
#include "support/test_db.hpp"

namespace neruba::test::data {

// A field error of a failure: an HTTP problem's `errors[]` entry, a rejected event's field.
struct FieldProblem {
  std::string field;
  std::string type;  // empty when the failure names no type per field
};

// How a step failed: the problem type slug of an HTTP answer ("validation-failed"), the type of a
// rejected event ("usage_out_of_range"), or a domain error's name ("overflow").
struct ErrorOutcome {
  std::string slug;
  std::vector<FieldProblem> fields;
  std::string detail;
};

// What a step produced.
struct Outcome {
  std::optional<std::string> value;          // the primary result: `expect <value>`
  std::map<std::string, std::string> named;  // further results: `expect <name>=<value>`
  std::optional<ErrorOutcome> error;         // set: the step failed
  std::string context;                       // shown beside a mismatch (a response body…)
};

class Session;

// What an area keeps between the steps of one run: a tenant, queued events, a usage window.
class AreaState {
 public:
  virtual ~AreaState() = default;
  // Before every step, whatever its area (metering sends its queued events here).
  virtual void before_step(const Step& step) {}
  // `case <name>`: a fresh start inside the same database.
  virtual void start_case(const std::string& name) {}
  // After the last step.
  virtual void finish() {}
};

// One run of one data file — on one backend when it needs a database.
class Session {
 public:
  Session(const DataFile& file, std::optional<Backend> backend);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const DataFile& file() const { return file_; }
  // Set when the file needs a database.
  std::optional<Backend> backend() const { return backend_; }
  const std::string& case_name() const { return case_name_; }

  // Checks `outcome` against the expectations written under `step`: a mismatch fails at the line
  // of its `expect`, an error nobody expected at the step's line.
  void check(const Step& step, const Outcome& outcome);
  // A failure at `line` of the file.
  void fail(int line, const std::string& message);
  // Expectations that held.
  int checks_passed() const { return checks_passed_; }

  // The area state of type State (constructed from this Session on first use).
  template <typename State>
  State& state() {
    const std::type_index key(typeid(State));
    for (auto& [type, existing] : states_) {
      if (type == key) return static_cast<State&>(*existing);
    }
    auto created = std::make_unique<State>(*this);
    State& out = *created;
    states_.emplace_back(key, std::move(created));
    return out;
  }

  // The areas' hooks, in the order their states were created.
  void before_step(const Step& step);
  void start_case(const std::string& name);
  void finish();

 private:
  const DataFile& file_;
  std::optional<Backend> backend_;
  std::string case_name_;
  int checks_passed_ = 0;
  std::vector<std::pair<std::type_index, std::unique_ptr<AreaState>>> states_;
};

enum class Needs { nothing, database };

// The `expect` lines a kind answers.
struct Accepts {
  bool value = false;                   // expect <value>
  std::vector<std::string_view> names;  // expect <name>=<value>
  bool error = false;                   // expect error <slug> [<field> [<field type>]]
};

inline constexpr std::size_t any_words = static_cast<std::size_t>(-1);

struct BlockKind {
  std::string_view keyword;
  std::string_view arguments;  // as the README writes them: "<customer> <meter> [<group json>]"
  Needs needs = Needs::nothing;
  std::size_t words_min = 0;
  std::size_t words_max = 0;  // any_words: a trailing JSON argument may hold spaces
  Accepts accepts;
  // Checks of the arguments before anything of the file runs (nullptr: the word counts suffice);
  // returns what is wrong.
  std::optional<std::string> (*check_arguments)(const Step& step) = nullptr;
  // Runs the step and returns what it produced; nullopt when the step's expectations are checked
  // later by its area (an event's, when its batch is sent).
  std::optional<Outcome> (*run)(Session& session, const Step& step) = nullptr;
};

// Every kind, of every area.
const std::vector<BlockKind>& block_kinds();
const BlockKind* find_block_kind(std::string_view keyword);

// Argument checks shared by the areas (for BlockKind::check_arguments): the text after the first
// `words` words is JSON; the word at `index` is an RFC 3339 instant.
std::optional<std::string> json_after(const Step& step, std::size_t words);
std::optional<std::string> instant_at(const Step& step, std::size_t index);

// The kinds of each area, each defined in its own file (data_<area>.cpp).
std::vector<BlockKind> api_blocks();       // customer, clock, settings
std::vector<BlockKind> metering_blocks();  // meter, event, send, window, usage
std::vector<BlockKind> decimal_blocks();   // decimal
// period, period_containing, periods, proration, prorate
std::vector<BlockKind> calendar_blocks();
// currency, charge, price, fee, minimum, round, meters, plan, validate
std::vector<BlockKind> pricing_blocks();
// zone, plan_version, aggregation, subscription, phase, reading, instants, invoice, line
std::vector<BlockKind> subscription_blocks();
// new_plan, new_version, subscribe, change, cancel, grant, one_off, bill, invoices, invoice_of,
// invoice_line, finalize, void, pay, balance, ledger
std::vector<BlockKind> billing_blocks();

}  // namespace neruba::test::data
