// neruba_bench_pricing: the subscription-invoice engine's speed, for `bench/pricing`.
//
// Prices one month of a subscription through the engine's two steps (domain/pricing/period.hpp):
// invoice_scope (which periods the invoice at a billing instant closes and opens, its segments,
// the usage windows to read) and price_invoice (the lines), on one thread, with Google Benchmark.
// The usage a billing run would read from storage is read once, before the timer: the figure is
// the engine alone.
//
// The plan ("pro", USD, monthly, proration by the second, half_even): a 49.00 recurring fee in
// advance, 12.00 a seat, and three graduated usage charges of four tiers each on the ingest
// benchmark's meters (bench_events.hpp): api_calls (count), tokens (sum), storage_gb (max, a tier
// with a flat fee). Two variants, each the invoice at 2026-03-01 00:00 Europe/Berlin (the
// customer's zone; anchored on 2026-01-01 00:00 local), which closes February and opens March:
//   plain_month  5 seats on "pro" all month: 1 segment, 3 usage windows; lines: the opening
//                period's recurring fee and seats, February's 3 usage lines
//   upgrade      5 seats on "pro", then on 2026-02-14T12:00:00Z an upgrade (prorate) to "scale"
//                (199.00, 10.00 a seat, other tiers) with 12 seats: 2 segments, 6 usage windows;
//                lines: credits of pro's fees for the rest of February, scale's fees for it,
//                6 usage lines, March's fees on scale
// Before the timer each variant's invoice is priced once and checked (the plain month's total
// against the lines priced one by one with domain/pricing/lines.hpp; the upgrade's segments and
// proration lines) and printed; a check that fails ends the run with exit code 1. The figures are
// then printed against the target: >= 200,000 periods priced per second of one core, each variant.
// --iterations=N fixes the invoices per run (for callgrind's exact instruction counts).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/pricing/lines.hpp"
#include "domain/pricing/period.hpp"
#include "domain/time.hpp"

namespace neruba::bench {
namespace {

using namespace neruba::domain;
using namespace neruba::domain::pricing;

constexpr double target_periods_per_second = 200'000;

Instant at(std::string_view text) {
  const auto instant = parse_rfc3339(text);
  if (!instant) throw std::invalid_argument("bad instant: " + std::string(text));
  return *instant;
}

Decimal dec(std::string_view text) {
  const auto value = Decimal::parse(text);
  if (!value) throw std::invalid_argument("bad decimal: " + std::string(text));
  return *value;
}

Tier tier(std::optional<std::string_view> up_to, std::string_view unit_price,
          std::optional<std::string_view> flat_fee = std::nullopt) {
  return Tier{up_to ? std::optional(dec(*up_to)) : std::nullopt, dec(unit_price),
              flat_fee ? std::optional(dec(*flat_fee)) : std::nullopt};
}

UsageCharge graduated(std::string meter, std::vector<Tier> tiers) {
  UsageCharge charge;
  charge.meter = std::move(meter);
  charge.model = UsageModel::graduated;
  charge.tiers = std::move(tiers);
  return charge;
}

PlanVersion plan(std::string code, std::string_view fee, std::string_view seat,
                 std::vector<UsageCharge> usage) {
  PlanVersion version{.plan_code = code,
                      .version = 1,
                      .effective_from = at("2025-01-01T00:00:00Z"),
                      .name = code,
                      .currency = *Currency::of("USD"),
                      .interval = Interval::month};
  version.charges.push_back(RecurringCharge{dec(fee), FeeTiming::advance});
  version.charges.push_back(SeatCharge{dec(seat)});
  for (auto& charge : usage) version.charges.push_back(std::move(charge));
  return version;
}

Catalog catalog() {
  Catalog catalog;
  catalog.meters = {{"api_calls", Aggregation::count},
                    {"tokens", Aggregation::sum},
                    {"storage_gb", Aggregation::max}};
  catalog.plans["pro"].push_back(
      plan("pro", "49.00", "12.00",
           {graduated("api_calls", {tier("10000", "0"), tier("100000", "0.002"),
                                    tier("1000000", "0.0015"), tier(std::nullopt, "0.001")}),
            graduated("tokens", {tier("1000000", "0"), tier("10000000", "0.000002"),
                                 tier("100000000", "0.0000015"), tier(std::nullopt, "0.000001")}),
            graduated("storage_gb", {tier("10", "0"), tier("100", "0.25", "5.00"),
                                     tier("1000", "0.20"), tier(std::nullopt, "0.15")})}));
  catalog.plans["scale"].push_back(
      plan("scale", "199.00", "10.00",
           {graduated("api_calls", {tier("100000", "0"), tier("1000000", "0.0012"),
                                    tier("10000000", "0.0009"), tier(std::nullopt, "0.0006")}),
            graduated("tokens", {tier("10000000", "0"), tier("100000000", "0.0000012"),
                                 tier(std::nullopt, "0.0000008")}),
            graduated("storage_gb", {tier("100", "0"), tier("1000", "0.18", "10.00"),
                                     tier("10000", "0.12"), tier(std::nullopt, "0.08")})}));
  return catalog;
}

const Instant billing_instant = at("2026-02-28T23:00:00Z");  // 2026-03-01 00:00 in Berlin

Timeline timeline(bool upgrade) {
  Timeline timeline;
  timeline.zone = date::locate_zone("Europe/Berlin");
  timeline.start = at("2025-12-31T23:00:00Z");  // 2026-01-01 00:00 in Berlin
  timeline.phases.push_back(TimelinePhase{timeline.start, "pro", 5, timeline.start});
  if (upgrade) {
    timeline.phases.push_back(TimelinePhase{at("2026-02-14T12:00:00Z"), "scale", 12, timeline.start,
                                            ChangeProration::prorate});
  }
  return timeline;
}

// What a billing run would read: each meter's usage in February, split between the segments
// when there are two (the second holds the rest of the month; max meters report each segment's).
WindowUsage usage_of(const UsageWindow& window, const Period& closing) {
  const bool whole = window.window == closing;
  const bool first = window.window.start == closing.start;
  WindowUsage usage;
  if (window.meter == "api_calls") {
    usage.quantity = dec(whole ? "1234567" : first ? "520000" : "714567");
  } else if (window.meter == "tokens") {
    usage.quantity = dec(whole ? "48250000.25" : first ? "20000000" : "28250000.25");
  } else {
    usage.quantity = dec(whole ? "312.5" : first ? "180.25" : "312.5");
  }
  usage.events = window.meter == "api_calls" ? std::stoll(usage.quantity.to_string()) : 4000;
  return usage;
}

struct Variant {
  const char* name;
  const char* what;
  Catalog catalog;
  Timeline timeline;
  std::vector<WindowUsage> usage;
};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

std::string text(const Period& period) {
  return "[" + format_rfc3339(period.start) + ", " + format_rfc3339(period.end) + ")";
}

void print_invoice(const Variant& variant, const InvoiceScope& scope, const Invoice& invoice) {
  std::cout << variant.name << ": invoice at " << format_rfc3339(invoice.at) << ", "
            << scope.segments.size() << " segment(s), " << scope.usage.size()
            << " usage window(s), " << invoice.lines.size() << " lines, total "
            << invoice.total.to_string() << " " << invoice.currency.code() << "\n";
  for (const PricedLine& line : invoice.lines) {
    std::printf("  %-10s %-10s %14s %12s  factor %-15s %s\n",
                std::string(line_type_name(line.type)).c_str(),
                line.meter ? line.meter->c_str() : "", line.quantity.to_string().c_str(),
                line.amount.to_string().c_str(), line.explanation.factor.to_string().c_str(),
                text(line.period).c_str());
  }
}

// Prices the variant once, checks it and fills its usage; throws when something is wrong.
void prepare(Variant& variant, bool upgrade) {
  const auto scope =
      invoice_scope(variant.timeline, variant.catalog, billing_instant, billing_instant);
  if (!scope)
    fail(std::string(variant.name) +
         ": invoice_scope failed: " + std::string(reason_of(scope.error()).slug));
  if (!scope->closing) fail(std::string(variant.name) + ": the invoice closes no period");
  for (const UsageWindow& window : scope->usage) {
    variant.usage.push_back(usage_of(window, *scope->closing));
  }
  const auto invoice = price_invoice(*scope, variant.usage);
  if (!invoice)
    fail(std::string(variant.name) +
         ": price_invoice failed: " + std::string(reason_of(invoice.error()).slug));
  print_invoice(variant, *scope, *invoice);

  const std::size_t segments = upgrade ? 2 : 1;
  if (scope->segments.size() != segments || scope->usage.size() != 3 * segments) {
    fail(std::string(variant.name) + ": expected " + std::to_string(segments) + " segment(s) and " +
         std::to_string(3 * segments) + " usage windows");
  }
  std::size_t usage_lines = 0;
  std::size_t proration_lines = 0;
  for (const PricedLine& line : invoice->lines) {
    usage_lines += line.type == LineType::usage;
    proration_lines += line.type == LineType::proration;
  }
  if (usage_lines != 3 * segments) fail(std::string(variant.name) + ": usage lines missing");
  if (upgrade) {
    if (proration_lines == 0) fail(std::string(variant.name) + ": no proration line");
    return;
  }
  // The plain month, line by line: March's fees whole, February's usage whole.
  const PlanVersion& pro = variant.catalog.plans.at("pro").front();
  Decimal expected;
  const auto add = [&](const Decimal& amount) { expected = *expected.add(amount); };
  for (const Charge& charge : pro.charges) {
    if (const auto* fee = std::get_if<RecurringCharge>(&charge)) {
      add(recurring_line(*fee, Ratio::one(), pro.currency, pro.rounding)->amount);
    } else if (const auto* seat = std::get_if<SeatCharge>(&charge)) {
      add(seat_line(*seat, 5, Ratio::one(), pro.currency, pro.rounding)->amount);
    } else {
      const auto& usage = std::get<UsageCharge>(charge);
      const auto window =
          std::find_if(scope->usage.begin(), scope->usage.end(),
                       [&](const UsageWindow& w) { return w.meter == usage.meter; });
      UsagePart part;
      part.quantity = variant.usage[window - scope->usage.begin()].quantity;
      add(usage_line(usage, part, pro.currency, pro.rounding)->amount);
    }
  }
  if (invoice->total != expected) {
    fail(std::string(variant.name) + ": total " + invoice->total.to_string() +
         ", priced line by line " + expected.to_string());
  }
}

void price_periods(benchmark::State& state, const Variant* variant) {
  for (auto _ : state) {
    auto scope =
        invoice_scope(variant->timeline, variant->catalog, billing_instant, billing_instant);
    if (!scope) {
      state.SkipWithError("invoice_scope failed");
      break;
    }
    auto invoice = price_invoice(*scope, variant->usage);
    if (!invoice) {
      state.SkipWithError("price_invoice failed");
      break;
    }
    benchmark::DoNotOptimize(invoice);
  }
  state.SetItemsProcessed(state.iterations());  // one period priced per invoice
}

// The console table as usual, and each benchmark's periods/s kept: the median of the
// repetitions (or the one run), its lowest and highest.
class Collector : public benchmark::ConsoleReporter {
 public:
  struct Figure {
    double median = 0;
    double low = 0;
    double high = 0;
    int runs = 0;
    bool error = false;
  };
  std::map<std::string, Figure> figures;

  // Colours only on a terminal (ConsoleReporter's own default ignores --benchmark_color).
  Collector() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& reports) override {
    for (const Run& run : reports) {
      Figure& figure = figures[run.run_name.function_name];
      if (run.error_occurred) figure.error = true;
      const auto rate = run.counters.find("items_per_second");
      if (rate == run.counters.end()) continue;
      const double value = rate->second.value;
      if (run.run_type == Run::RT_Iteration) {
        figure.low = figure.runs == 0 ? value : std::min(figure.low, value);
        figure.high = std::max(figure.high, value);
        if (figure.runs++ == 0) figure.median = value;
      } else if (run.aggregate_name == "median") {
        figure.median = value;
      }
    }
    ConsoleReporter::ReportRuns(reports);
  }
};

std::string thousands(double value) {
  std::string digits = std::to_string(static_cast<long long>(value + 0.5));
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return digits;
}

int run(int argc, char** argv) {
  static Variant plain{"plain_month",
                       "plain month: recurring fee, 5 seats, 3 graduated usage charges",
                       catalog(),
                       timeline(false),
                       {}};
  static Variant upgrade{"upgrade",
                         "mid-month upgrade (prorate) to another plan, 5 -> 12 seats",
                         catalog(),
                         timeline(true),
                         {}};
  try {
    prepare(plain, false);
    prepare(upgrade, true);
  } catch (const std::exception& failure) {
    std::cerr << "neruba_bench_pricing: " << failure.what() << "\n";
    return 1;
  }

  // Defaults first, so that the same flags given on the command line win.
  std::vector<char*> args{argv[0]};
  std::string repetitions = "--benchmark_repetitions=5";
  std::string min_time = "--benchmark_min_time=1";
  args.push_back(repetitions.data());
  args.push_back(min_time.data());
  // --iterations N: exactly N invoices per run, for a deterministic count under callgrind
  // (this VM has no hardware counters and shares its two cores).
  std::optional<benchmark::IterationCount> iterations;
  for (int index = 1; index < argc; ++index) {
    const std::string arg = argv[index];
    if (arg.rfind("--iterations=", 0) == 0) {
      iterations = std::stoll(arg.substr(std::string("--iterations=").size()));
    } else {
      args.push_back(argv[index]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 2;

  for (Variant* variant : {&plain, &upgrade}) {
    auto* registered = benchmark::RegisterBenchmark(variant->name, price_periods, variant)
                           ->Unit(benchmark::kMicrosecond);
    if (iterations) registered->Iterations(*iterations);
  }
  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();

  std::cout << "\nperiods priced per second, one thread (CPU time; median of the repetitions, "
               "lowest-highest):\n";
  bool error = false;
  std::vector<std::string> markdown;
  for (const Variant* variant : {&plain, &upgrade}) {
    const auto found = collector.figures.find(variant->name);
    if (found == collector.figures.end()) continue;  // filtered out
    const auto& figure = found->second;
    error = error || figure.error;
    const char* verdict = figure.error                                 ? "ERROR"
                          : figure.median >= target_periods_per_second ? "PASS"
                                                                       : "FAIL";
    std::printf("  %-64s %9s periods/s (%s-%s)   target >= %s   %s\n", variant->what,
                thousands(figure.median).c_str(), thousands(figure.low).c_str(),
                thousands(figure.high).c_str(), thousands(target_periods_per_second).c_str(),
                verdict);
    char row[256];
    std::snprintf(row, sizeof row, "| `%s` | %s — %s | %s–%s | %.2f |", variant->name,
                  thousands(figure.median).c_str(), verdict, thousands(figure.low).c_str(),
                  thousands(figure.high).c_str(), figure.median > 0 ? 1e6 / figure.median : 0.0);
    markdown.emplace_back(row);
  }
  std::cout << "\nmarkdown (docs/benchmarks.md):\n"
               "| variant | periods/s (>= 200,000) | lowest–highest | µs of CPU per period |\n"
               "|---|---|---|---|\n";
  for (const auto& row : markdown) std::cout << row << "\n";
  return error ? 1 : 0;
}

}  // namespace
}  // namespace neruba::bench

int main(int argc, char** argv) { return neruba::bench::run(argc, argv); }
