// `neruba bill-run --tenant T --as-of INSTANT [--customer ID] [--no-finalize] --db URL` on both
// backends (issue 17): the binary itself, on the test's database, billing what POST
// /v1/billing-runs bills through the same service, audited as the platform; bad input exits with
// its problem and changes nothing; running it again bills nothing twice. The world and its
// outcome are in billing_runs_support.hpp: the binary reads the real clock, past 2026-03-01, so
// both of c2's grants have expired when it bills (billed_after_expiry).
#include <gtest/gtest.h>
#include <stdlib.h>  // mkstemp
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "billing_runs_support.hpp"

namespace neruba::test::http_tests {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  json::Value json;     // stdout as JSON (the run report), null when it is not
  json::Value problem;  // stderr as JSON (problem details), null when it is not
};

class BillRunCli : public BillingRunTest {
 protected:
  // Runs `neruba bill-run ARGS --db <the test database>`; stdout and stderr apart.
  CliRun bill_run(const std::vector<std::string>& args) {
    const std::string binary = std::string(NERUBA_BINARY_DIR) + "/neruba";
    CliRun result;
    if (::access(binary.c_str(), X_OK) != 0) {
      ADD_FAILURE() << binary << " is missing: build the `neruba` target too";
      return result;
    }
    char err_path[] = "/tmp/neruba-bill-run-err-XXXXXX";
    const int err_fd = ::mkstemp(err_path);
    if (err_fd < 0) {
      ADD_FAILURE() << "mkstemp failed";
      return result;
    }
    ::close(err_fd);
    std::string command = "'" + binary + "' bill-run";
    for (const auto& arg : args) command += " '" + arg + "'";
    command += " --db '" + api().database().url() + "' 2>'" + err_path + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      ADD_FAILURE() << "popen failed: " << command;
      return result;
    }
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::stringstream err;
    err << std::ifstream(err_path).rdbuf();
    result.err = err.str();
    ::unlink(err_path);
    if (auto parsed = json::parse(result.out)) result.json = std::move(parsed).value();
    if (auto parsed = json::parse(result.err)) result.problem = std::move(parsed).value();
    return result;
  }

  // The actor of every audit record of `action`, as "type id name".
  std::vector<std::string> actors(const World& world, const std::string& action) {
    std::vector<std::string> out;
    for (const auto& record : walk("/v1/audit?action=" + action, world.tenant.key, 1000)) {
      const auto& actor = member(record, "actor");
      out.push_back(text_of(actor, "type") + " " + text_of(actor, "id") + " " +
                    text_of(actor, "name"));
    }
    return out;
  }

  // The binary refuses `args` with exit code `exit_code` and writes nothing; with exit code 1,
  // stderr is problem details of `slug` (and, given, an error item for `field` of `type`).
  void expect_refused(const World& world, const std::vector<std::string>& args, int exit_code,
                      const std::string& slug = "", const std::string& field = "",
                      const std::string& type = "") {
    std::string shown;
    for (const auto& arg : args) shown += " " + arg;
    const std::string before = fingerprint(world.tenant.id);
    const auto refused = bill_run(args);
    EXPECT_EQ(refused.exit_code, exit_code) << shown << "\n" << refused.out << refused.err;
    EXPECT_EQ(refused.out, "") << shown;
    if (exit_code == 2) {
      EXPECT_NE(refused.err.find("usage: neruba bill-run"), std::string::npos) << refused.err;
    } else {
      EXPECT_EQ(text_of(refused.problem, "type"), std::string(kErrorTypePrefix) + slug)
          << shown << "\n"
          << refused.err;
      if (!field.empty()) {
        bool found = false;
        for (const auto& item : member(refused.problem, "errors").items()) {
          found = found || (text_of(item, "field") == field && text_of(item, "type") == type);
        }
        EXPECT_TRUE(found) << shown << ": no " << field << "/" << type << "\n" << refused.err;
      }
    }
    EXPECT_UNCHANGED(before, fingerprint(world.tenant.id)) << shown;
  }

  void SetUp() override {
    ASSERT_GE(SystemClock().now(), instant("2026-03-01T00:00:00Z"))
        << "the expected outcome assumes the machine's clock is past 2026-03-01";
  }
};

TEST_P(BillRunCli, BillsWhatTheApiBillsAuditedAsThePlatformAndAgainNothingTwice) {
  const World world = make_world("Cli Co");
  const auto first = bill_run({"--tenant", world.tenant.id, "--as-of", kWorldRun});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(first.err, "");
  EXPECT_EQ(text_of(first.json, "as_of"), kWorldRun) << first.out;
  EXPECT_TRUE(member(first.json, "finalize").as_bool()) << first.out;
  EXPECT_EQ(int_of(first.json, "customers"), 3) << first.out;
  EXPECT_EQ(int_of(first.json, "invoices_created"), 5) << first.out;
  EXPECT_EQ(int_of(first.json, "invoices_finalized"), 5) << first.out;
  EXPECT_EQ(int_of(first.json, "customers_failed"), 0) << first.out;
  EXPECT_EQ(member(first.json, "invoices").items().size(), 5u) << first.out;
  expect_world_billed_once(world, "first run", billed_after_expiry());
  // The run's receipt is the one the API reads back, and the platform is its actor.
  EXPECT_EQ(run_ids(world.tenant.id), std::vector<std::string>{text_of(first.json, "id")});
  EXPECT_EQ(actors(world, "billing_run.completed"),
            std::vector<std::string>{"admin admin neruba bill-run"});
  EXPECT_EQ(actors(world, "invoice.finalized"),
            std::vector<std::string>(5, "admin admin neruba bill-run"));

  const std::string before = fingerprint(world.tenant.id);
  const auto again = bill_run({"--tenant", world.tenant.id, "--as-of", kWorldRun});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(int_of(again.json, "invoices_created"), 0) << again.out;
  EXPECT_EQ(int_of(again.json, "invoices_updated"), 0) << again.out;
  EXPECT_EQ(int_of(again.json, "invoices_finalized"), 0) << again.out;
  EXPECT_EQ(changed_tables(before, fingerprint(world.tenant.id)), one_run_recorded());
  expect_world_billed_once(world, "second run", billed_after_expiry());
}

TEST_P(BillRunCli, DraftsFirstThenOneCustomerThenTheRest) {
  const World world = make_world("Cli Drafts Co");
  const auto drafts =
      bill_run({"--tenant", world.tenant.id, "--as-of", kWorldRun, "--no-finalize"});
  ASSERT_EQ(drafts.exit_code, 0) << drafts.out << drafts.err;
  EXPECT_FALSE(member(drafts.json, "finalize").as_bool()) << drafts.out;
  EXPECT_EQ(int_of(drafts.json, "invoices_created"), 5) << drafts.out;
  EXPECT_EQ(int_of(drafts.json, "invoices_finalized"), 0) << drafts.out;
  // Drafts carry their totals and nothing is drawn or booked yet.
  EXPECT_EQ(invoices(world.tenant.id),
            (std::vector<std::string>{
                "c1 2026-01-01T00:00:00Z draft total=40.00 credits=0.00 due=40.00",
                "c1 2026-02-01T00:00:00Z draft total=59.75 credits=0.00 due=59.75",
                "c2 2026-01-01T00:00:00Z draft total=40.00 credits=0.00 due=40.00",
                "c2 2026-02-01T00:00:00Z draft total=40.00 credits=0.00 due=40.00",
                "c3 2026-02-01T01:00:00Z draft total=12.00 credits=0.00 due=12.00"}));
  EXPECT_TRUE(numbers(world.tenant.id).empty());
  EXPECT_TRUE(ledger_causes(world.tenant.id, "invoice_finalized").empty());

  const auto alone =
      bill_run({"--tenant", world.tenant.id, "--as-of", kWorldRun, "--customer", "c3"});
  ASSERT_EQ(alone.exit_code, 0) << alone.out << alone.err;
  EXPECT_EQ(int_of(alone.json, "invoices_finalized"), 1) << alone.out;
  EXPECT_EQ(numbers(world.tenant.id), std::vector<std::int64_t>{1});
  EXPECT_EQ(invoice_ids(world.tenant.id).at("c3 2026-02-01T01:00:00Z"),
            text_of(member(alone.json, "invoices").items().at(0), "id"));

  const auto rest = bill_run({"--tenant", world.tenant.id, "--as-of", kWorldRun});
  ASSERT_EQ(rest.exit_code, 0) << rest.out << rest.err;
  EXPECT_EQ(int_of(rest.json, "invoices_created"), 0) << rest.out;
  EXPECT_EQ(int_of(rest.json, "invoices_finalized"), 4) << rest.out;
  expect_world_billed_once(world, "", billed_after_expiry());
}

TEST_P(BillRunCli, BadInvocationsExitWithTheirProblemAndChangeNothing) {
  const World world = make_world("Cli Refusals Co");
  const std::string& tenant = world.tenant.id;
  expect_refused(world, {"--tenant", tenant}, 2);
  expect_refused(world, {"--as-of", kWorldRun}, 2);
  expect_refused(world, {"--tenant", tenant, "--as-of", kWorldRun, "--finalize", "no"}, 2);
  expect_refused(world, {"now", "--tenant", tenant, "--as-of", kWorldRun}, 2);
  expect_refused(world, {"--tenant", tenant, "--as-of", "2999-01-01T00:00:00Z"}, 1,
                 "validation-failed", "as_of", "invalid_value");
  expect_refused(world, {"--tenant", tenant, "--as-of", "yesterday"}, 1, "validation-failed",
                 "as_of", "invalid_value");
  expect_refused(world, {"--tenant", tenant, "--as-of", kWorldRun, "--customer", "nobody"}, 1,
                 "validation-failed", "customer", "not_found");
  expect_refused(world, {"--tenant", "ten_nobody", "--as-of", kWorldRun}, 1, "not-found");
}

TEST_P(BillRunCli, ACustomerItCannotBillExitsOneWithTheReport) {
  const World world = make_world("Cli Poisoned Co");
  add_unbillable_customer(world);
  const auto run = bill_run({"--tenant", world.tenant.id, "--as-of", kWorldRun});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_EQ(int_of(run.json, "customers_failed"), 1) << run.out;
  ASSERT_EQ(member(run.json, "failures").items().size(), 1u) << run.out;
  EXPECT_EQ(text_of(member(run.json, "failures").items()[0], "customer"), "big") << run.out;
  expect_world_billed_once(world, "", billed_after_expiry());
}

INSTANTIATE_TEST_SUITE_P(Backends, BillRunCli, ::testing::ValuesIn(test_backends()), backend_name);

}  // namespace
}  // namespace neruba::test::http_tests
