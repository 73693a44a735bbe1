// The `neruba` binary itself (issue 15): every command answers --help / -h with its usage and exit
// code 0, touching nothing (no database opened, no data directory made); an unknown command exits
// 2; and `neruba serve --data-dir DIR` on a directory that does not exist yet makes it its owner's
// only: DIR 0700, DIR/admin-key and DIR/neruba.db 0600.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>  // mkdtemp
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace neruba::test::cli_tests {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kBinary = std::string(NERUBA_BINARY_DIR) + "/neruba";

fs::path make_temp_directory(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
  return pattern;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned mode_of(const fs::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return 0;
  return status.st_mode & 07777;
}

std::string octal(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "0%o", mode);
  return text;
}

// Temporary directories, removed at the end; the test runs under umask 022, so that nothing the
// binary makes is private by accident.
class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kBinary)) << kBinary << " is missing: build the `neruba` target too";
    old_mask_ = ::umask(022);
    cwd_ = make_temp_directory("neruba-cli-cwd");
    logs_ = make_temp_directory("neruba-cli-logs");
  }
  void TearDown() override {
    ::umask(old_mask_);
    std::error_code ignored;
    fs::remove_all(cwd_, ignored);
    fs::remove_all(logs_, ignored);
  }

  // Starts `neruba ARGS` in cwd_ with NERUBA_DB and NERUBA_ADMIN_KEY unset, its stdout and stderr
  // written to files in logs_; returns its pid.
  pid_t spawn(const std::vector<std::string>& args) {
    std::vector<std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      if (text.starts_with("NERUBA_DB=") || text.starts_with("NERUBA_ADMIN_KEY=")) continue;
      environment.emplace_back(text);
    }
    std::vector<char*> envp;
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::vector<std::string> arguments{kBinary};
    arguments.insert(arguments.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    ++runs_;
    const int out = ::open(stdout_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int err = ::open(stderr_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t pid = ::fork();
    if (pid == 0) {  // only async-signal-safe calls from here on
      if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
      if (::chdir(cwd_.c_str()) != 0) ::_exit(126);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(err);
    ::close(in);
    return pid;
  }

  // The exit code of `pid` once it ends (-1 when killed by a signal); kills it after `timeout`.
  static int wait_for(pid_t pid, std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "pid " << pid << " did not end in time: killed";
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return -1;
      }
      std::this_thread::sleep_for(10ms);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  struct Run {
    int exit_code;
    std::string out;
    std::string err;
  };

  Run run(const std::vector<std::string>& args) {
    const int exit_code = wait_for(spawn(args));
    return {exit_code, read_file(stdout_path()), read_file(stderr_path())};
  }

  fs::path stdout_path() const { return logs_ / ("out-" + std::to_string(runs_)); }
  fs::path stderr_path() const { return logs_ / ("err-" + std::to_string(runs_)); }

  std::vector<fs::path> cwd_entries() const {
    std::vector<fs::path> entries;
    for (const auto& entry : fs::directory_iterator(cwd_)) entries.push_back(entry.path());
    return entries;
  }

  fs::path cwd_;
  fs::path logs_;
  int runs_ = 0;
  mode_t old_mask_ = 0;
};

TEST_F(Cli, EveryCommandPrintsItsUsageForHelpAndOpensNothing) {
  const std::vector<std::vector<std::string>> invocations = {
      {"serve", "--help"},
      {"serve", "-h"},
      {"serve", "--listen", "127.0.0.1:0", "--help"},
      {"migrate", "--help"},
      {"migrate", "-h"},
      {"audit", "--help"},
      {"audit", "verify", "--help"},
      {"audit", "-h"},
      {"ledger", "--help"},
      {"ledger", "verify", "--help"},
      {"ledger", "-h"},
      {"bill-run", "--help"},
      {"bill-run", "--tenant", "ten_x", "-h"},
  };
  for (const auto& args : invocations) {
    const std::string command = args.front();
    std::string shown = "neruba";
    for (const auto& arg : args) shown += " " + arg;
    const Run help = run(args);
    EXPECT_EQ(help.exit_code, 0) << shown << "\nstdout: " << help.out << "\nstderr: " << help.err;
    EXPECT_NE(help.out.find("usage: neruba " + command), std::string::npos)
        << shown << "\nstdout: " << help.out << "\nstderr: " << help.err;
    EXPECT_EQ(help.err, "") << shown;
    if (!cwd_entries().empty()) {
      ADD_FAILURE() << shown << " created " << cwd_entries().front() << ": it opened something";
      for (const auto& entry : cwd_entries()) fs::remove_all(entry);
    }
  }
  const Run overview = run({"--help"});
  EXPECT_EQ(overview.exit_code, 0) << overview.err;
  for (const char* command : {"serve", "migrate", "audit", "ledger", "bill-run"}) {
    EXPECT_NE(overview.out.find(command), std::string::npos) << overview.out;
  }
  EXPECT_TRUE(cwd_entries().empty());
}

TEST_F(Cli, AnUnknownCommandExitsTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"frobnicate"}, {"frobnicate", "--help"}, {"serves"}, {}}) {
    const Run unknown = run(args);
    EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
    EXPECT_NE(unknown.err.find("usage: neruba <command>"), std::string::npos) << unknown.err;
  }
  EXPECT_NE(run({"frobnicate"}).err.find("unknown command: frobnicate"), std::string::npos);
  EXPECT_TRUE(cwd_entries().empty());
}

// `neruba serve --billing-interval` wants whole seconds from 0 (off) to a year; anything else,
// from the flag or from NERUBA_BILLING_INTERVAL, exits 2 before anything is opened.
TEST_F(Cli, ServeRefusesABadBillingIntervalAndOpensNothing) {
  for (const char* value : {"soon", "-1", "1.5", "31622401", "", "99999999999"}) {
    const Run refused = run({"serve", "--billing-interval", value});
    EXPECT_EQ(refused.exit_code, 2) << value << ": " << refused.err;
    EXPECT_NE(refused.err.find("--billing-interval"), std::string::npos) << refused.err;
  }
  ::setenv("NERUBA_BILLING_INTERVAL", "hourly", 1);
  const Run from_environment = run({"serve"});
  ::unsetenv("NERUBA_BILLING_INTERVAL");
  EXPECT_EQ(from_environment.exit_code, 2) << from_environment.err;
  EXPECT_NE(from_environment.err.find("NERUBA_BILLING_INTERVAL"), std::string::npos)
      << from_environment.err;
  EXPECT_TRUE(cwd_entries().empty());
}

// GET `path` on 127.0.0.1:`port`; the status code, or nothing when no answer came.
std::optional<int> http_status(int port, const std::string& path, const std::string& bearer = "") {
  const int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return std::nullopt;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::optional<int> status;
  if (::connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!bearer.empty()) request += "Authorization: Bearer " + bearer + "\r\n";
    request += "\r\n";
    if (::send(sock, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      std::string answer;
      char buffer[4096];
      ssize_t n = 0;
      while ((n = ::recv(sock, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, n);
      if (answer.starts_with("HTTP/1.1 ") && answer.size() >= 12) {
        status = std::stoi(answer.substr(9, 3));
      }
    }
  }
  ::close(sock);
  return status;
}

// `neruba serve` in fresh directories, stopped at the end.
class CliServe : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    root_ = make_temp_directory("neruba-cli-data");
  }
  void TearDown() override {
    if (server_ > 0) {
      ::kill(server_, SIGKILL);
      ::waitpid(server_, nullptr, 0);
    }
    std::error_code ignored;
    fs::remove_all(root_, ignored);
    Cli::TearDown();
  }

  // Starts `neruba serve ARGS` on a port of its choosing; returns the port once it is ready (it
  // logged its address and answers GET /readyz with 200), 0 when it is not within a minute.
  int serve_until_ready(std::vector<std::string> args) {
    args.insert(args.begin(), "serve");
    args.insert(args.end(), {"--listen", "127.0.0.1:0", "--threads", "2"});
    server_ = spawn(args);
    int port = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(server_, nullptr, WNOHANG) == server_) {
        server_ = -1;
        ADD_FAILURE() << "neruba serve exited:\n" << read_file(stderr_path());
        return 0;
      }
      if (port == 0) {
        const std::string log = read_file(stderr_path());
        const std::string marker = "url=http://127.0.0.1:";
        if (const auto at = log.find(marker); at != std::string::npos) {
          port = std::atoi(log.c_str() + at + marker.size());
        }
      }
      if (port != 0 && http_status(port, "/readyz") == 200) return port;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "neruba serve did not become ready:\n" << read_file(stderr_path());
    return 0;
  }

  // SIGTERM: it stops gracefully, with exit code 0.
  void stop() {
    ASSERT_GT(server_, 0);
    ::kill(server_, SIGTERM);
    EXPECT_EQ(wait_for(server_), 0) << read_file(stderr_path());
    server_ = -1;
  }

  // The platform admin key in `file`, which the server on `port` accepts.
  static void expect_admin_key(const fs::path& file, int port) {
    std::string key;
    std::ifstream(file) >> key;
    EXPECT_TRUE(key.starts_with("nrb_admin_")) << key;
    EXPECT_EQ(http_status(port, "/v1/tenants", key), 200);
  }

  fs::path root_;
  pid_t server_ = -1;
};

#define EXPECT_MODE(path, expected) EXPECT_EQ(octal(mode_of(path)), expected) << (path)

TEST_F(CliServe, MakesAFreshDataDirectoryItsOwnersOnly) {
  const fs::path data = root_ / "data";
  const int port = serve_until_ready({"--data-dir", data.string()});
  ASSERT_NE(port, 0);
  EXPECT_MODE(data, "0700");
  EXPECT_MODE(data / "admin-key", "0600");
  EXPECT_MODE(data / "neruba.db", "0600");
  expect_admin_key(data / "admin-key", port);
  stop();
  EXPECT_TRUE(cwd_entries().empty());
}

// The data directory holds only the admin key when the database is elsewhere: serve makes it, and
// the database's own directory, their owner's only.
TEST_F(CliServe, MakesAFreshKeyDirectoryItsOwnersOnlyWhenTheDatabaseIsElsewhere) {
  const fs::path keys = root_ / "keys";
  const fs::path database = root_ / "db" / "neruba.db";
  const int port =
      serve_until_ready({"--data-dir", keys.string(), "--db", "sqlite:" + database.string()});
  ASSERT_NE(port, 0);
  EXPECT_MODE(keys, "0700");
  EXPECT_MODE(keys / "admin-key", "0600");
  EXPECT_FALSE(fs::exists(keys / "neruba.db"));
  EXPECT_MODE(database.parent_path(), "0700");
  EXPECT_MODE(database, "0600");
  expect_admin_key(keys / "admin-key", port);
  stop();
  EXPECT_TRUE(cwd_entries().empty());
}

}  // namespace
}  // namespace neruba::test::cli_tests
