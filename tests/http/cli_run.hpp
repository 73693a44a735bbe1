#pragma once
// Runs the `neruba` binary of this build with arguments, as an operator would from a shell: its
// exit code, its output (stdout and stderr), and its first JSON line parsed, when it prints one.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "json/json.hpp"

namespace neruba::test::http_tests {

struct CliResult {
  int exit_code = -1;
  std::string output;
  json::Value json;  // the JSON report line, when there is one
};

inline CliResult run_cli(const std::string& arguments) {
  const std::string binary = std::string(NERUBA_BINARY_DIR) + "/neruba";
  CliResult result;
  if (FILE* probe = std::fopen(binary.c_str(), "r"); probe != nullptr) {
    std::fclose(probe);
  } else {
    ADD_FAILURE() << binary << " is missing: build the `neruba` target too";
    return result;
  }
  const std::string command = "'" + binary + "' " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return result;
  }
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::size_t start = 0;
  while (start < result.output.size()) {
    const auto end = result.output.find('\n', start);
    const std::string line =
        result.output.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty() && line.front() == '{') {
      if (auto parsed = json::parse(line)) {
        result.json = std::move(parsed).value();
        break;
      }
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return result;
}

}  // namespace neruba::test::http_tests
