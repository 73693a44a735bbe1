// neruba: one binary, subcommands (DESIGN.md "Architecture").
#include <malloc.h>
#include <sys/stat.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/limits.hpp"
#include "common/log.hpp"
#include "http/api.hpp"
#include "http/problem.hpp"
#include "http/server.hpp"
#include "http/views/views.hpp"
#include "services/audit_log.hpp"
#include "services/billing/billing.hpp"
#include "services/billing/ledger.hpp"
#include "services/billing/scheduler.hpp"
#include "services/idempotency.hpp"
#include "storage/db.hpp"

namespace {

using namespace neruba;

constexpr const char* serve_usage =
    "usage: neruba serve [--db URL] [--listen HOST:PORT] [--data-dir DIR] [--threads N]\n"
    "                    [--body-inactivity-timeout SECONDS] [--billing-interval SECONDS]\n"
    "  run the HTTP API (default --db sqlite:DIR/neruba.db, --listen 127.0.0.1:8080,\n"
    "  --data-dir ./data, --threads 32). The platform admin key is NERUBA_ADMIN_KEY, or a key\n"
    "  created on first start in DIR/admin-key (readable by its owner only). A request body\n"
    "  of which no byte arrives for SECONDS (default 30) is answered 408.\n"
    "  --billing-interval SECONDS (or NERUBA_BILLING_INTERVAL; default 0: off) bills what is due\n"
    "  for every tenant, as of now, at start and then SECONDS after each pass; several nodes\n"
    "  on one database bill nothing twice.\n";
static_assert(limits::body_inactivity_timeout_seconds == 30, "the usage text names the default");
constexpr const char* migrate_usage =
    "usage: neruba migrate [--db URL]\n"
    "  apply pending schema migrations and exit\n";
constexpr const char* audit_usage =
    "usage: neruba audit verify --tenant ID [--db URL]\n"
    "  verify a tenant's audit hash chain; exit 0 when intact, 1 when broken\n";
constexpr const char* ledger_usage =
    "usage: neruba ledger verify --tenant ID [--db URL]\n"
    "  verify a tenant's double-entry ledger (balanced transactions, account totals equal to\n"
    "  their entries, balance rules); exit 0 when all hold, 1 naming the first violation\n";
constexpr const char* bill_run_usage =
    "usage: neruba bill-run --tenant ID --as-of INSTANT [--customer EXTERNAL_ID] [--no-finalize]\n"
    "                       [--db URL]\n"
    "  bill everything due at or before INSTANT (RFC 3339, not in the future) for the tenant, as\n"
    "  POST /v1/billing-runs does, and print the run as JSON; --customer bills that customer\n"
    "  alone, --no-finalize leaves the invoices drafts. Audited as the platform (actor admin,\n"
    "  named \"neruba bill-run\"). Exit 0 when every customer was billed; 1 when the run failed\n"
    "  (its problem details on stderr) or could not bill some customers (listed in `failures`);\n"
    "  2 on bad usage. Running it again bills nothing twice.\n";
constexpr const char* url_note =
    "\nURL is sqlite:PATH or postgresql://user@host:port/dbname (default: NERUBA_DB, then\n"
    "sqlite:./data/neruba.db)\n";

std::string usage_text() {
  return std::string(
             "usage: neruba <command> [options]   (neruba <command> --help)\n\ncommands:\n") +
         "  serve     run the HTTP API\n"
         "  migrate   apply pending schema migrations\n"
         "  audit     verify a tenant's audit trail\n"
         "  ledger    verify a tenant's ledger\n"
         "  bill-run  bill what is due for a tenant\n" +
         url_note;
}

struct Options {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
};

std::optional<Options> parse_options(int argc, char** argv, int first) {
  Options options;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      options.flags["help"] = "";
    } else if (arg.rfind("--no-", 0) == 0 && arg.find('=') == std::string::npos) {
      options.flags[arg.substr(2)] = "";  // a switch: --no-finalize takes no value
    } else if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        options.flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
      } else if (i + 1 < argc) {
        options.flags[arg.substr(2)] = argv[++i];
      } else {
        std::cerr << "missing value for " << arg << "\n";
        return std::nullopt;
      }
    } else {
      options.positional.push_back(arg);
    }
  }
  return options;
}

std::string flag(const Options& options, const std::string& name, const std::string& fallback) {
  const auto it = options.flags.find(name);
  return it == options.flags.end() ? fallback : it->second;
}

std::string database_url(const Options& options) {
  if (const char* env = std::getenv("NERUBA_DB")) return flag(options, "db", env);
  const std::string data_dir = flag(options, "data-dir", "./data");
  return flag(options, "db", "sqlite:" + data_dir + "/neruba.db");
}

// The platform admin key: NERUBA_ADMIN_KEY, or a key created on first start and written once,
// readable only by its owner, to DATA_DIR/admin-key.
std::string admin_key_hash(const std::string& data_dir) {
  if (const char* env = std::getenv("NERUBA_ADMIN_KEY"); env != nullptr && *env != '\0') {
    return crypto::sha256_hex(env);
  }
  const std::filesystem::path path = std::filesystem::path(data_dir) / "admin-key";
  if (!std::filesystem::exists(path)) {
    if (!std::filesystem::exists(data_dir)) {
      // The data directory holds the database and this key: its owner's only.
      std::filesystem::create_directories(data_dir);
      std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all);
    }
    const std::string key = "nrb_admin_" + crypto::random_token(40);
    const mode_t old_mask = umask(077);
    std::ofstream(path) << key << "\n";
    umask(old_mask);
    log::info("created the platform admin key", {{"path", path.string()}});
  }
  std::string key;
  std::ifstream(path) >> key;
  if (key.empty()) throw std::runtime_error("the admin key file is empty: " + path.string());
  return crypto::sha256_hex(key);
}

// Deletes completed idempotency keys past their retention, hourly, until told to stop.
class IdempotencyJanitor {
 public:
  IdempotencyJanitor(storage::Db& db, const Clock& clock)
      : thread_([this, &db, &clock] { loop(db, clock); }) {}
  ~IdempotencyJanitor() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void loop(storage::Db& db, const Clock& clock) {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::hours(1), [this] { return stopping_; })) {
      try {
        services::purge_idempotency_keys(db, clock.now());
      } catch (const std::exception& failure) {
        log::warn("idempotency purge failed", {{"error", failure.what()}});
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

// A whole number of seconds in [0, max], from --NAME or else the environment variable `env`.
std::optional<int> seconds_option(const Options& options, const std::string& name, const char* env,
                                  int max) {
  const char* from_env = std::getenv(env);
  const std::string text = flag(options, name, from_env != nullptr ? from_env : "0");
  if (text.empty() || text.size() > 10 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const long long value = std::stoll(text);
  if (value > max) return std::nullopt;
  return static_cast<int>(value);
}

int serve(const Options& options) {
#if !defined(NERUBA_JEMALLOC)
  // Built without jemalloc (CMakeLists.txt): glibc gives each busy thread a malloc arena of its
  // own (up to 8 per core) and keeps each arena's peak: with dozens of request threads parsing
  // ingest batches that alone took ~45 MB of the RSS budget under load. Four arenas cost no
  // measurable throughput.
  mallopt(M_ARENA_MAX, 4);
#endif
  const std::string data_dir = flag(options, "data-dir", "./data");
  const std::string listen = flag(options, "listen", "127.0.0.1:8080");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "--listen wants HOST:PORT\n";
    return 2;
  }
  http::ServerOptions server_options;
  server_options.host = listen.substr(0, colon);
  server_options.port = static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)));
  server_options.threads = std::stoi(flag(options, "threads", "32"));
  server_options.body_inactivity_timeout_seconds = std::stoi(flag(
      options, "body-inactivity-timeout", std::to_string(limits::body_inactivity_timeout_seconds)));
  if (server_options.body_inactivity_timeout_seconds <= 0) {
    std::cerr << "--body-inactivity-timeout wants a positive number of seconds\n";
    return 2;
  }
  const auto billing_interval = seconds_option(
      options, "billing-interval", "NERUBA_BILLING_INTERVAL", limits::billing_interval_seconds_max);
  if (!billing_interval) {
    std::cerr << "--billing-interval (NERUBA_BILLING_INTERVAL) wants whole seconds from 0 (off) to "
              << limits::billing_interval_seconds_max << "\n";
    return 2;
  }
  const std::string url = database_url(options);
  auto db = storage::open_database(url);
  SystemClock clock;
  auto ids = make_random_id_generator();
  http::Api api(*db, clock, *ids, admin_key_hash(data_dir));
  http::Server server(api, server_options);
  const auto port = server.listen();
  IdempotencyJanitor janitor(*db, clock);
  std::optional<services::billing::Scheduler> billing;
  if (*billing_interval > 0) {
    billing.emplace(*db, clock, *ids, std::chrono::seconds(*billing_interval));
    log::info("billing scheduler on", {{"interval_seconds", std::to_string(*billing_interval)}});
  }
  log::info("neruba serving",
            {{"url", "http://" + server_options.host + ":" + std::to_string(port)},
             {"db", db->describe()}});
  server.run();
  log::info("neruba stopped");
  return 0;
}

int migrate_command(const Options& options) {
  auto db = storage::open_database(database_url(options));  // migrates on open
  std::cout << "schema up to date on " << db->describe() << "\n";
  return 0;
}

int audit_command(const Options& options) {
  if (options.positional.empty() || options.positional[0] != "verify" ||
      !options.flags.count("tenant")) {
    std::cerr << audit_usage;
    return 2;
  }
  auto db = storage::open_database(database_url(options));
  auto tx = db->begin(storage::TxMode::read);
  const auto report = services::audit::verify(*tx, TenantId(options.flags.at("tenant")));
  std::cout << json::serialize(http::views::audit_verification(report)) << "\n";
  return report.ok ? 0 : 1;
}

int ledger_command(const Options& options) {
  if (options.positional.empty() || options.positional[0] != "verify" ||
      !options.flags.count("tenant")) {
    std::cerr << ledger_usage;
    return 2;
  }
  const TenantId tenant(options.flags.at("tenant"));
  auto db = storage::open_database(database_url(options));
  auto tx = db->begin(storage::TxMode::read);
  if (const auto violation = services::ledger::verify(*tx, tenant)) {
    std::cout << "ledger of " << tenant.str() << " is broken: " << *violation << "\n";
    return 1;
  }
  const auto size = services::ledger::size(*tx, tenant);
  std::cout << "ledger of " << tenant.str() << " ok: " << size.transactions << " transactions, "
            << size.accounts << " accounts\n";
  return 0;
}

// Prints `error` as problem details on stderr; the exit code of a run that failed.
int print_problem(const Error& error, const std::string& request_id) {
  std::cerr << http::problem_response(error, request_id).body << "\n";
  return 1;
}

int bill_run_command(const Options& options) {
  if (!options.positional.empty() || options.flags.count("tenant") == 0 ||
      options.flags.count("as-of") == 0) {
    std::cerr << bill_run_usage;
    return 2;
  }
  for (const auto& [name, value] : options.flags) {
    if (name != "tenant" && name != "as-of" && name != "customer" && name != "no-finalize" &&
        name != "db" && name != "data-dir") {
      std::cerr << "unknown option --" << name << "\n" << bill_run_usage;
      return 2;
    }
  }
  // The request as POST /v1/billing-runs reads it: both refuse the same input alike.
  json::Value body = json::Value::object();
  body.set("as_of", json::Value::string(options.flags.at("as-of")));
  if (options.flags.count("customer") != 0) {
    body.set("customer", json::Value::string(options.flags.at("customer")));
  }
  if (options.flags.count("no-finalize") != 0) body.set("finalize", json::Value::boolean(false));
  auto db = storage::open_database(database_url(options));
  SystemClock clock;
  auto ids = make_random_id_generator();
  const auto ctx = services::platform_context(TenantId(options.flags.at("tenant")),
                                              "neruba bill-run", clock.now(), *ids);
  const auto request = services::billing::parse_run_request(body, ctx);
  if (!request) return print_problem(request.error(), ctx.request_id);
  const auto report = services::billing::bill_and_record(*db, ctx, *request);
  if (!report) return print_problem(report.error(), ctx.request_id);
  std::cout << json::serialize(http::views::billing_run(*report)) << "\n";
  return report->customers_failed == 0 ? 0 : 1;
}

}  // namespace

struct Command {
  std::string_view name;
  const char* usage;
  int (*run)(const Options&);
};

int main(int argc, char** argv) {
  static const Command commands[] = {{"serve", serve_usage, serve},
                                     {"migrate", migrate_usage, migrate_command},
                                     {"audit", audit_usage, audit_command},
                                     {"ledger", ledger_usage, ledger_command},
                                     {"bill-run", bill_run_usage, bill_run_command}};
  if (argc < 2) {
    std::cerr << usage_text();
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    std::cout << usage_text();
    return 0;
  }
  const Command* command = nullptr;
  for (const auto& candidate : commands) {
    if (candidate.name == name) command = &candidate;
  }
  if (command == nullptr) {
    std::cerr << "unknown command: " << name << "\n" << usage_text();
    return 2;
  }
  const auto options = parse_options(argc, argv, 2);
  if (!options) {
    std::cerr << command->usage << url_note;
    return 2;
  }
  if (options->flags.count("help") != 0) {
    std::cout << command->usage << url_note;
    return 0;
  }
  try {
    return command->run(*options);
  } catch (const std::exception& failure) {
    std::cerr << "neruba: " << failure.what() << "\n";
    return 1;
  }
}
