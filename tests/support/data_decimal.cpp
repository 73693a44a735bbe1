// The decimal area's block (tests/data/README.md): exact decimal arithmetic and rounding, called
// directly on domain::Decimal — no database, no API.
#include <charconv>
#include <string>

#include "domain/decimal.hpp"
#include "support/data_blocks.hpp"

namespace neruba::test::data {
namespace {

using domain::Decimal;
using domain::DecimalResult;
using domain::RoundingMode;

struct Operation {
  std::string_view name;
  std::size_t operands;  // decimals after the name
  bool rounds;           // then <scale> <mode>
};

constexpr Operation operations[] = {
    {"parse", 1, false}, {"round", 1, true}, {"add", 2, false},
    {"sub", 2, false},   {"mul", 2, false},  {"div", 2, true},
};

const Operation* find_operation(std::string_view name) {
  for (const auto& operation : operations) {
    if (operation.name == name) return &operation;
  }
  return nullptr;
}

std::optional<int> integer(const std::string& text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> check_decimal(const Step& step) {
  const Operation* operation = find_operation(step.words[0]);
  if (operation == nullptr) return "`" + step.words[0] + "` is none of parse round add sub mul div";
  const std::size_t words = 1 + operation->operands + (operation->rounds ? 2 : 0);
  if (step.words.size() != words) {
    return "`" + step.words[0] + "` takes " + std::to_string(operation->operands) + " decimals" +
           (operation->rounds ? " then <scale> <mode>" : "");
  }
  if (operation->rounds) {
    if (!integer(step.words[words - 2])) return "`" + step.words[words - 2] + "` is not a scale";
    if (!domain::parse_rounding_mode(step.words[words - 1])) {
      return "`" + step.words[words - 1] + "` is none of half_even half_up down up";
    }
  }
  return std::nullopt;
}

Outcome outcome_of(const DecimalResult& result, const std::string& operand = "") {
  Outcome outcome;
  if (result) {
    outcome.value = result->to_string();
    outcome.named["scale"] = std::to_string(result->scale());
  } else {
    ErrorOutcome error{std::string(domain::decimal_error_name(result.error)), {}, {}};
    if (!operand.empty()) error.fields.push_back({operand, ""});
    outcome.error = std::move(error);
  }
  return outcome;
}

std::optional<Outcome> run_decimal(Session&, const Step& step) {
  const Operation& operation = *find_operation(step.words[0]);
  // Operands are parsed as JSON numbers are (an exponent allowed); one that does not parse is the
  // outcome, its position the field.
  const DecimalResult left = Decimal::parse(step.words[1]);
  if (!left) return outcome_of(left, operation.operands == 1 ? "value" : "left");
  if (operation.name == "parse") return outcome_of(left);
  const std::size_t after = 1 + operation.operands;
  const int scale = operation.rounds ? *integer(step.words[after]) : 0;
  const RoundingMode mode =
      operation.rounds ? *domain::parse_rounding_mode(step.words[after + 1]) : RoundingMode{};
  if (operation.name == "round") return outcome_of(left->round(scale, mode));
  const DecimalResult right = Decimal::parse(step.words[2]);
  if (!right) return outcome_of(right, "right");
  if (operation.name == "add") return outcome_of(left->add(*right));
  if (operation.name == "sub") return outcome_of(left->sub(*right));
  if (operation.name == "mul") return outcome_of(left->mul(*right));
  return outcome_of(left->div(*right, scale, mode));
}

}  // namespace

std::vector<BlockKind> decimal_blocks() {
  return {
      {"decimal",
       "parse <a> | round <a> <scale> <mode> | add|sub|mul <a> <b> | div <a> <b> <scale> <mode>",
       Needs::nothing, 2, 5, Accepts{.value = true, .names = {"scale"}, .error = true},
       check_decimal, run_decimal},
  };
}

}  // namespace neruba::test::data
