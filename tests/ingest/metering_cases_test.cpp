// Data-driven metering cases: every tests/data/metering/*.test file (format in
// tests/data/metering/README.md) is run through the HTTP API on every backend — meters created,
// events posted, usage read over [from, to) — and each expectation, computed by hand in the data
// file, is checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ingest_test_support.hpp"

namespace neruba::test::ingest_tests {
namespace {

namespace fs = std::filesystem;

fs::path data_directory() { return fs::path(NERUBA_SOURCE_DIR) / "tests" / "data" / "metering"; }

std::vector<fs::path> case_files() {
  std::vector<fs::path> out;
  if (!fs::is_directory(data_directory())) return out;
  for (const auto& entry : fs::directory_iterator(data_directory())) {
    if (entry.is_regular_file() && entry.path().extension() == ".test") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// "key=value" tokens after the positional ones.
std::map<std::string, std::string> options(std::istringstream& in) {
  std::map<std::string, std::string> out;
  std::string token;
  while (in >> token) {
    const auto eq = token.find('=');
    if (eq == std::string::npos) throw std::runtime_error("expected key=value, got " + token);
    out[token.substr(0, eq)] = token.substr(eq + 1);
  }
  return out;
}

class MeteringCases : public IngestTest {
 protected:
  // Runs one file; returns the number of cases and expectations it checked.
  std::pair<int, int> run_file(const fs::path& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << path;
    std::string line;
    int line_number = 0;
    int cases = 0;
    int checks = 0;
    bool in_case = false;
    Tenant tenant;
    std::vector<std::string> queued;
    std::string from;
    std::string to;

    const auto send = [&](std::map<std::string, std::string> expected) {
      if (queued.empty()) return;
      const auto count = [&](const std::string& key, std::int64_t fallback) {
        const auto it = expected.find(key);
        return it == expected.end() ? fallback : std::stoll(it->second);
      };
      const auto response = post_events(tenant, queued);
      EXPECT_EQ(response.status, 200) << response.body;
      EXPECT_EQ(int_of(response.json, "accepted"),
                count("accepted", static_cast<std::int64_t>(queued.size())))
          << response.body;
      EXPECT_EQ(int_of(response.json, "duplicates"), count("duplicates", 0)) << response.body;
      EXPECT_EQ(static_cast<std::int64_t>(member(response.json, "conflicts").items().size()),
                count("conflicts", 0))
          << response.body;
      EXPECT_EQ(static_cast<std::int64_t>(member(response.json, "rejected").items().size()),
                count("rejected", 0))
          << response.body;
      queued.clear();
    };

    while (std::getline(in, line)) {
      ++line_number;
      const std::string text = trim(line);
      if (text.empty() || text[0] == '#') continue;
      SCOPED_TRACE(path.filename().string() + ":" + std::to_string(line_number) + ": " + text);
      std::istringstream tokens(text);
      std::string directive;
      tokens >> directive;
      if (directive == "case") {
        send({});
        std::string name;
        tokens >> name;
        tenant = make_tenant("case " + name);
        create_customer(tenant, "alice");
        create_customer(tenant, "bob");
        api().clock().set(instant(kNow));
        from.clear();
        to.clear();
        in_case = true;
        ++cases;
        continue;
      }
      if (!in_case) {
        ADD_FAILURE() << "directive before the first case";
        continue;
      }
      if (directive == "event") {
        std::string id, customer, type, timestamp, properties;
        tokens >> id >> customer >> type >> timestamp;
        std::getline(tokens, properties);
        properties = trim(properties);
        if (timestamp.empty()) {
          ADD_FAILURE() << "event needs id, customer, type and timestamp";
          continue;
        }
        queued.push_back(event_json(id, customer, type, timestamp, properties));
        continue;
      }
      if (directive == "send") {
        std::map<std::string, std::string> expected;
        try {
          expected = options(tokens);
        } catch (const std::exception& error) {
          ADD_FAILURE() << error.what();
        }
        send(expected);
        continue;
      }
      send({});
      if (directive == "clock") {
        std::string at;
        tokens >> at;
        api().clock().set(instant(at));
      } else if (directive == "settings") {
        std::string body;
        std::getline(tokens, body);
        patch_settings(tenant, trim(body));
      } else if (directive == "customer") {
        std::string external_id;
        tokens >> external_id;
        create_customer(tenant, external_id);
      } else if (directive == "meter") {
        std::string body;
        std::getline(tokens, body);
        create_meter(tenant, trim(body));
      } else if (directive == "window") {
        tokens >> from >> to;
      } else if (directive == "expect" || directive == "group" || directive == "groups") {
        if (from.empty() || to.empty()) {
          ADD_FAILURE() << "no window before " << directive;
          continue;
        }
        std::string customer, meter_code, group_json;
        tokens >> customer >> meter_code;
        if (directive == "group" || directive == "groups") tokens >> group_json;
        std::map<std::string, std::string> expected;
        try {
          if (directive != "groups") expected = options(tokens);
        } catch (const std::exception& error) {
          ADD_FAILURE() << error.what();
          continue;
        }
        const json::Value item = meter_usage(tenant, customer, meter_code, from, to);
        const json::Value* target = &item;
        if (directive == "groups") {
          EXPECT_EQ(member(item, "groups").items().size(), std::stoul(group_json))
              << json::serialize(item);
          ++checks;
          continue;
        }
        if (directive == "group") {
          target = find_group(item, group_json);
          if (target == nullptr) {
            ADD_FAILURE() << "no group " << group_json << " in " << json::serialize(item);
            continue;
          }
        }
        if (const auto it = expected.find("value"); it != expected.end()) {
          const json::Value& value = member(*target, "value");
          if (it->second == "null") {
            EXPECT_TRUE(value.is_null()) << json::serialize(*target);
          } else {
            EXPECT_TRUE(value.is_string()) << json::serialize(*target);
            EXPECT_EQ(value.text(), it->second) << json::serialize(*target);
          }
        }
        if (const auto it = expected.find("events"); it != expected.end()) {
          EXPECT_EQ(int_of(*target, "events"), std::stoll(it->second)) << json::serialize(*target);
        }
        ++checks;
      } else {
        ADD_FAILURE() << "unknown directive " << directive;
      }
    }
    send({});
    return {cases, checks};
  }
};

TEST_P(MeteringCases, EveryDataFileHolds) {
  const auto files = case_files();
  ASSERT_GE(files.size(), 8u) << "metering case files in " << data_directory();
  int total_cases = 0;
  int total_checks = 0;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const auto [cases, checks] = run_file(file);
    EXPECT_GE(cases, 1) << file;
    EXPECT_GE(checks, 1) << file;
    total_cases += cases;
    total_checks += checks;
  }
  RecordProperty("cases", total_cases);
  RecordProperty("checks", total_checks);
  std::printf("[metering cases] %zu files, %d cases, %d checks\n", files.size(), total_cases,
              total_checks);
}

INSTANTIATE_TEST_SUITE_P(Backends, MeteringCases, ::testing::ValuesIn(test_backends()),
                         backend_name);

}  // namespace
}  // namespace neruba::test::ingest_tests
