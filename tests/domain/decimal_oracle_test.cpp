// Differential test: Decimal against Python's decimal module.
//
// Generates random operations from a fixed seed, computes them here, has scripts/decimal_oracle.py
// compute the same operations with decimal.Context(prec=200), and compares line by line. The
// semantics both sides implement (scale rules, what counts as overflow, the order errors are
// checked in) are spelled out in the script's docstring.
//
// NERUBA_DECIMAL_SEED=<n> in the environment replays or explores another seed.
#include <unistd.h>

#include <chrono>
#include <compare>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "decimal_test_support.hpp"
#include "domain/decimal.hpp"

#ifndef NERUBA_SOURCE_DIR
#error "the test build must define NERUBA_SOURCE_DIR as the repository root"
#endif

namespace neruba::domain {
namespace {

using test::result_text;

constexpr std::uint64_t default_seed = 20260105;
constexpr int operation_count = 100'000;

// Only the engine's raw output is used, never std:: distributions, whose algorithms differ between
// standard libraries: the same seed gives the same operations everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}

  int below(int bound) { return static_cast<int>(engine_() % static_cast<std::uint64_t>(bound)); }
  int between(int low, int high) { return low + below(high - low + 1); }
  bool percent(int chance) { return below(100) < chance; }
  char digit() { return static_cast<char>('0' + below(10)); }
  char nonzero_digit() { return static_cast<char>('1' + below(9)); }

 private:
  std::mt19937_64 engine_;
};

// `count` random digits, any of which may be zero.
std::string any_digits(Random& random, int count) {
  std::string digits;
  for (int i = 0; i < count; ++i) {
    digits.push_back(random.digit());
  }
  return digits;
}

// `count` >= 1 digits without a leading zero.
std::string number_digits(Random& random, int count) {
  return random.nonzero_digit() + any_digits(random, count - 1);
}

// Coefficient digits in the shapes that find bugs: tiny, ordinary, near the 36-digit limit, runs of
// nines (carries), powers of ten (borrows), and trailing zeros (mul can drop those above scale 36).
std::string random_coefficient_digits(Random& random) {
  const int shape = random.below(100);
  std::string digits;
  if (shape < 4) {
    return "0";
  } else if (shape < 34) {
    digits = number_digits(random, random.between(1, 3));
  } else if (shape < 64) {
    digits = number_digits(random, random.between(4, 18));
  } else if (shape < 80) {
    digits = number_digits(random, random.between(19, 33));
  } else if (shape < 92) {
    digits = number_digits(random, random.between(34, Decimal::max_digits));
  } else if (shape < 96) {
    digits = std::string(static_cast<std::size_t>(random.between(30, Decimal::max_digits)), '9');
  } else {
    digits = "1" + std::string(static_cast<std::size_t>(random.between(0, 35)), '0');
  }
  if (random.percent(20)) {
    const auto zeros =
        static_cast<std::size_t>(random.between(0, static_cast<int>(digits.size()) - 1));
    digits.replace(digits.size() - zeros, zeros, zeros, '0');
  }
  return digits;
}

int random_scale(Random& random) {
  const int shape = random.below(100);
  if (shape < 45) {
    return random.between(0, 4);
  }
  if (shape < 80) {
    return random.between(5, 12);
  }
  return random.between(13, Decimal::max_scale);
}

Decimal random_operand(Random& random) {
  Int128 coefficient = 0;
  for (const char digit : random_coefficient_digits(random)) {
    coefficient = coefficient * 10 + (digit - '0');
  }
  const DecimalResult operand =
      Decimal::from_parts(random.percent(50) ? -coefficient : coefficient, random_scale(random));
  if (!operand) {
    throw std::logic_error("the operand generator made an unrepresentable value");
  }
  return *operand;
}

// Mostly 0..12 as billing uses, sometimes up to 36, rarely outside the valid range.
int random_result_scale(Random& random, int usual_max) {
  const int shape = random.below(100);
  if (shape < 3) {
    return random.percent(50) ? -1 : Decimal::max_scale + 1;
  }
  if (shape < 90) {
    return random.between(0, usual_max);
  }
  return random.between(0, Decimal::max_scale);
}

RoundingMode random_mode(Random& random) {
  constexpr RoundingMode modes[] = {RoundingMode::half_even, RoundingMode::half_up,
                                    RoundingMode::down, RoundingMode::up};
  return modes[random.below(4)];
}

std::string random_exponent(Random& random) {
  std::string text = random.percent(50) ? "e" : "E";
  const int sign = random.below(10);
  text += sign < 4 ? "-" : (sign < 6 ? "+" : "");
  if (random.percent(5)) {
    return text;  // "1e-": invalid
  }
  if (random.percent(10)) {
    text += "000";  // leading zeros are valid in an exponent
  }
  if (random.percent(8)) {
    return text + number_digits(random, random.between(10, 25));  // far out of range
  }
  return text + std::to_string(random.between(0, 45));
}

// Mostly well-formed JSON numbers around the limits, and a share of near-misses.
std::string random_number_text(Random& random) {
  std::string text;
  if (random.percent(40)) {
    text += '-';
  } else if (random.percent(3)) {
    text += '+';
  }
  const int integer_shape = random.below(10);
  if (integer_shape < 3) {
    text += '0';
  } else if (integer_shape == 3) {
    text += '0' + any_digits(random, random.between(1, 3));  // a leading zero: invalid
  } else if (integer_shape == 4 && random.percent(30)) {
    // no integer part: ".5" or "-": invalid
  } else {
    text += number_digits(random, random.between(1, 40));
  }
  if (random.percent(60)) {
    text += '.';
    if (!random.percent(5)) {
      text += any_digits(random, random.between(1, 40));
    }
  }
  if (random.percent(40)) {
    text += random_exponent(random);
  }
  if (random.percent(3)) {
    constexpr std::string_view junk = "x.,_aE+-";
    const auto position =
        static_cast<std::size_t>(random.between(0, static_cast<int>(text.size())));
    text.insert(position, 1,
                junk[static_cast<std::size_t>(random.below(static_cast<int>(junk.size())))]);
  }
  return text;
}

struct Operation {
  std::string name;
  std::string line;    // what the oracle reads
  std::string result;  // what this implementation computed, in the oracle's format
};

Operation binary_operation(Random& random, const std::string& name) {
  const Decimal a = random_operand(random);
  const Decimal b = random_operand(random);
  const DecimalResult result = name == "add" ? a.add(b) : (name == "sub" ? a.sub(b) : a.mul(b));
  return {name, name + " " + a.to_string() + " " + b.to_string(), result_text(result)};
}

Operation comparison(Random& random) {
  const Decimal a = random_operand(random);
  // Equal and nearly equal values at other scales are the interesting cases: a padded or cut.
  const Decimal b = random.percent(30)
                        ? a.round(random_scale(random), RoundingMode::down).value.value_or(a)
                        : random_operand(random);
  const std::weak_ordering order = a.compare(b);
  const int sign = std::is_lt(order) ? -1 : (std::is_gt(order) ? 1 : 0);
  return {"cmp", "cmp " + a.to_string() + " " + b.to_string(), std::to_string(sign)};
}

Operation division(Random& random) {
  const Decimal a = random_operand(random);
  const Decimal b =
      random.percent(3) ? *Decimal::from_parts(0, random_scale(random)) : random_operand(random);
  const int scale = random_result_scale(random, 12);
  const RoundingMode mode = random_mode(random);
  return {"div",
          "div " + a.to_string() + " " + b.to_string() + " " + std::to_string(scale) + " " +
              std::string(rounding_mode_name(mode)),
          result_text(a.div(b, scale, mode))};
}

Operation rounding(Random& random) {
  const Decimal a = random_operand(random);
  const int scale = random_result_scale(random, Decimal::max_scale);
  const RoundingMode mode = random_mode(random);
  return {"round",
          "round " + a.to_string() + " " + std::to_string(scale) + " " +
              std::string(rounding_mode_name(mode)),
          result_text(a.round(scale, mode))};
}

Operation parsing(Random& random) {
  const std::string text = random_number_text(random);
  if (random.percent(80)) {
    return {"parse", "parse " + text, result_text(Decimal::parse(text))};
  }
  return {"parse_plain", "parse_plain " + text, result_text(Decimal::parse_plain(text))};
}

Operation random_operation(Random& random) {
  const int pick = random.below(100);
  if (pick < 17) {
    return binary_operation(random, "add");
  }
  if (pick < 30) {
    return binary_operation(random, "sub");
  }
  if (pick < 49) {
    return binary_operation(random, "mul");
  }
  if (pick < 74) {
    return division(random);
  }
  if (pick < 85) {
    return rounding(random);
  }
  if (pick < 90) {
    return comparison(random);
  }
  return parsing(random);
}

std::uint64_t seed_from_environment() {
  const char* text = std::getenv("NERUBA_DECIMAL_SEED");
  return text != nullptr ? std::strtoull(text, nullptr, 10) : default_seed;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// "div: division_by_zero=1702 ok=21108 overflow=2355 ...": shows that the generator reaches every
// outcome, not just the easy ones.
void print_outcome_mix(const std::vector<Operation>& operations) {
  std::map<std::string, std::map<std::string, int>> counts;
  for (const Operation& operation : operations) {
    const bool failed = operation.result.rfind("error:", 0) == 0;
    const bool compared = operation.name == "cmp";
    ++counts[operation.name]
            [failed ? operation.result.substr(6) : (compared ? operation.result : "ok")];
  }
  for (const auto& [name, outcomes] : counts) {
    std::cout << "  " << name << ':';
    for (const auto& [outcome, count] : outcomes) {
      std::cout << ' ' << outcome << '=' << count;
    }
    std::cout << '\n';
  }
}

TEST(DecimalOracle, MatchesPythonDecimalOnRandomOperations) {
  const std::uint64_t seed = seed_from_environment();
  std::cout << "decimal oracle: seed " << seed << " (set NERUBA_DECIMAL_SEED to change), "
            << operation_count << " operations\n";
  const auto started = std::chrono::steady_clock::now();

  Random random(seed);
  std::vector<Operation> operations;
  operations.reserve(operation_count);
  const std::string base =
      ::testing::TempDir() + "neruba_decimal_oracle_" + std::to_string(getpid());
  const std::string in_path = base + ".in";
  const std::string out_path = base + ".out";
  {
    std::ofstream in(in_path);
    for (int i = 0; i < operation_count; ++i) {
      operations.push_back(random_operation(random));
      in << operations.back().line << '\n';
    }
    ASSERT_TRUE(in.good()) << "could not write " << in_path;
  }
  print_outcome_mix(operations);

  const std::string script = std::string(NERUBA_SOURCE_DIR) + "/scripts/decimal_oracle.py";
  const std::string command = "python3 '" + script + "' '" + in_path + "' '" + out_path + "'";
  const auto oracle_started = std::chrono::steady_clock::now();
  ASSERT_EQ(std::system(command.c_str()), 0) << "the oracle failed: " << command;
  const auto oracle_elapsed = std::chrono::steady_clock::now() - oracle_started;

  const std::vector<std::string> expected = read_lines(out_path);
  ASSERT_EQ(expected.size(), operations.size()) << "the oracle answered a different line count";
  for (std::size_t i = 0; i < operations.size(); ++i) {
    ASSERT_EQ(operations[i].result, expected[i])
        << "first difference at line " << i + 1 << " of " << in_path << " (seed " << seed
        << "):\n  operation: " << operations[i].line << "\n  python:    " << expected[i]
        << "\n  neruba:    " << operations[i].result
        << "\nreplay with NERUBA_DECIMAL_SEED=" << seed;
  }
  std::remove(in_path.c_str());  // kept on failure, for the message above
  std::remove(out_path.c_str());

  const auto elapsed = std::chrono::steady_clock::now() - started;
  const auto milliseconds = [](auto duration) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  };
  std::cout << "decimal oracle: all " << operations.size() << " operations agree in "
            << milliseconds(elapsed) << " ms (python " << milliseconds(oracle_elapsed) << " ms)\n";
}

}  // namespace
}  // namespace neruba::domain
