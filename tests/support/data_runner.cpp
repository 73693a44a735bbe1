#include "support/data_runner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "support/data_blocks.hpp"

namespace neruba::test::data {
namespace {

std::string describe(const ErrorOutcome& error) {
  std::string out = "error " + error.slug;
  for (const auto& field : error.fields) {
    out += " [" + field.field + (field.type.empty() ? "" : " " + field.type) + "]";
  }
  if (!error.detail.empty()) out += ": " + error.detail;
  return out;
}

std::string describe(const Expectation& expectation) {
  std::string out = "error " + expectation.slug;
  if (!expectation.field.empty()) out += " " + expectation.field;
  if (!expectation.field_type.empty()) out += " " + expectation.field_type;
  return out;
}

bool matches(const Expectation& expected, const ErrorOutcome& actual) {
  if (expected.slug != actual.slug) return false;
  if (expected.field.empty()) return true;
  return std::any_of(actual.fields.begin(), actual.fields.end(), [&](const FieldProblem& field) {
    return field.field == expected.field &&
           (expected.field_type.empty() || field.type == expected.field_type);
  });
}

std::string mismatch(const Step& step, const std::string& what, const std::string& expected,
                     const std::string& actual, const std::string& context) {
  std::string out =
      step.text + "\n  " + what + "\n    expected: " + expected + "\n    actual:   " + actual;
  if (!context.empty()) out += "\n  " + context;
  return out;
}

// Problems of one step against its kind.
void validate_step(const Step& step, std::vector<Problem>& problems) {
  const BlockKind* kind = find_block_kind(step.keyword);
  if (kind == nullptr) {
    problems.push_back({step.line, "unknown directive `" + step.keyword + "`"});
    return;
  }
  const std::string usage = std::string(kind->keyword) + " " + std::string(kind->arguments);
  if (step.words.size() < kind->words_min ||
      (kind->words_max != any_words && step.words.size() > kind->words_max)) {
    problems.push_back({step.line, "malformed `" + step.keyword + "`: it takes " + usage});
    return;
  }
  if (kind->check_arguments != nullptr) {
    if (const auto problem = kind->check_arguments(step)) {
      problems.push_back({step.line, "malformed `" + usage + "`: " + *problem});
    }
  }
  const Accepts& accepts = kind->accepts;
  int errors = 0;
  for (const auto& expectation : step.expectations) {
    const auto refuse = [&](const std::string& what) {
      problems.push_back({expectation.line, "`" + step.keyword + "` answers no " + what});
    };
    if (expectation.error) {
      if (!accepts.error) refuse("`expect error`");
      if (++errors > 1) problems.push_back({expectation.line, "a second `expect error`"});
      continue;
    }
    if (expectation.value && !accepts.value) refuse("`expect <value>`");
    for (const auto& [name, value] : expectation.named) {
      if (std::find(accepts.names.begin(), accepts.names.end(), name) == accepts.names.end()) {
        refuse("`" + name + "=`");
      }
    }
  }
  if (errors > 0 && errors < static_cast<int>(step.expectations.size())) {
    problems.push_back(
        {step.line, "a step that fails has no value to expect: `expect error` stands alone"});
  }
}

class DataFileTest : public ::testing::Test {
 public:
  DataFileTest(std::shared_ptr<const ParsedFile> parsed, std::optional<Backend> backend)
      : parsed_(std::move(parsed)), backend_(backend) {}

  void TestBody() override {
    const DataFile& file = parsed_->file;
    if (!parsed_->problems.empty()) {
      for (const auto& problem : parsed_->problems) {
        ADD_FAILURE_AT(file.path.string().c_str(), problem.line) << problem.message;
      }
      return;
    }
    RecordProperty("about", file.about);
    RecordProperty("checks", run_data_file(file, backend_));
  }

 private:
  std::shared_ptr<const ParsedFile> parsed_;
  std::optional<Backend> backend_;
};

}  // namespace

Session::Session(const DataFile& file, std::optional<Backend> backend)
    : file_(file), backend_(backend) {}

Session::~Session() = default;

void Session::fail(int line, const std::string& message) {
  ADD_FAILURE_AT(file_.path.string().c_str(), line)
      << message << (case_name_.empty() ? "" : "\n  (case " + case_name_ + ")");
}

void Session::check(const Step& step, const Outcome& outcome) {
  const auto error_expected =
      std::find_if(step.expectations.begin(), step.expectations.end(),
                   [](const Expectation& expectation) { return expectation.error; });
  const bool expects_error = error_expected != step.expectations.end();
  if (outcome.error) {
    if (!expects_error) {
      fail(step.line,
           mismatch(step, "failed", "success", describe(*outcome.error), outcome.context));
    } else if (!matches(*error_expected, *outcome.error)) {
      fail(error_expected->line, mismatch(step, "failed otherwise", describe(*error_expected),
                                          describe(*outcome.error), outcome.context));
    } else {
      ++checks_passed_;
    }
    return;
  }
  if (expects_error) {
    fail(error_expected->line,
         mismatch(step, "did not fail", describe(*error_expected),
                  outcome.value ? "success, " + *outcome.value : "success", outcome.context));
    return;
  }
  for (const auto& expectation : step.expectations) {
    const auto compare = [&](const std::string& what, const std::string& expected,
                             const std::optional<std::string>& actual) {
      if (actual == expected) {
        ++checks_passed_;
      } else {
        fail(expectation.line,
             mismatch(step, what, expected, actual.value_or("(nothing)"), outcome.context));
      }
    };
    if (expectation.value) compare("value", *expectation.value, outcome.value);
    for (const auto& [name, expected] : expectation.named) {
      const auto it = outcome.named.find(name);
      compare(name, expected,
              it == outcome.named.end() ? std::nullopt : std::optional<std::string>(it->second));
    }
  }
}

void Session::before_step(const Step& step) {
  for (auto& [type, state] : states_) state->before_step(step);
}

void Session::start_case(const std::string& name) {
  case_name_ = name;
  for (auto& [type, state] : states_) state->start_case(name);
}

void Session::finish() {
  for (auto& [type, state] : states_) state->finish();
}

std::vector<Problem> validate(const DataFile& file) {
  std::vector<Problem> problems;
  bool checks_something = false;
  for (const auto& step : file.steps) {
    validate_step(step, problems);
    checks_something = checks_something || !step.expectations.empty();
  }
  if (!checks_something) problems.push_back({1, "the file checks nothing: no `expect` line"});
  return problems;
}

bool needs_database(const DataFile& file) {
  return std::any_of(file.steps.begin(), file.steps.end(), [](const Step& step) {
    const BlockKind* kind = find_block_kind(step.keyword);
    return kind != nullptr && kind->needs == Needs::database;
  });
}

int run_data_file(const DataFile& file, std::optional<Backend> backend) {
  Session session(file, backend);
  int line = 0;
  try {
    for (const auto& step : file.steps) {
      line = step.line;
      session.before_step(step);
      const BlockKind* kind = find_block_kind(step.keyword);
      if (const auto outcome = kind->run(session, step)) session.check(step, *outcome);
    }
    line = 0;
    session.finish();
  } catch (const std::exception& error) {
    // The state of the run is unknown now: the rest of the file is not run.
    session.fail(line, std::string("threw: ") + error.what() + "\n  (the rest is not run)");
  }
  return session.checks_passed();
}

void register_data_file_tests(const std::filesystem::path& data_directory,
                              const std::vector<std::string_view>& files) {
  for (const auto name : files) {
    auto parsed = std::make_shared<ParsedFile>(
        read_data_file(data_directory / std::filesystem::path(name), std::string(name)));
    if (parsed->problems.empty() || !parsed->file.steps.empty()) {
      auto more = validate(parsed->file);
      parsed->problems.insert(parsed->problems.end(), more.begin(), more.end());
      std::stable_sort(parsed->problems.begin(), parsed->problems.end(),
                       [](const Problem& a, const Problem& b) { return a.line < b.line; });
    }
    const std::string test_name = test_name_of(name);
    const std::string path = parsed->file.path.string();
    std::vector<std::optional<Backend>> runs{std::nullopt};
    if (parsed->problems.empty() && needs_database(parsed->file)) {
      runs.clear();
      for (const Backend backend : test_backends()) runs.emplace_back(backend);
    }
    for (const auto& backend : runs) {
      const std::string full_name = backend ? test_name + "/" + to_string(*backend) : test_name;
      const std::string parameter = backend ? to_string(*backend) : std::string();
      ::testing::RegisterTest(
          "DataFiles", full_name.c_str(), nullptr, backend ? parameter.c_str() : nullptr,
          path.c_str(), 1,
          [parsed, backend]() -> DataFileTest* { return new DataFileTest(parsed, backend); });
    }
  }
}

}  // namespace neruba::test::data
