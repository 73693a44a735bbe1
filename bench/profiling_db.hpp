#pragma once
// A Db that times every statement it passes on, by statement text: where a benchmarked run spends
// its time in the database (bench --profile). Single-threaded use; not for production paths.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "storage/db.hpp"

namespace neruba::bench {

class ProfilingDb final : public storage::Db {
 public:
  explicit ProfilingDb(storage::Db& inner) : inner_(inner) {}

  struct Total {
    double seconds = 0;
    std::int64_t count = 0;
  };

  storage::Dialect dialect() const override { return inner_.dialect(); }
  std::unique_ptr<storage::Tx> begin(storage::TxMode mode) override {
    return std::make_unique<ProfilingTx>(*this, inner_.begin(mode));
  }
  bool ping() override { return inner_.ping(); }
  std::string describe() const override { return inner_.describe(); }

  // The `top` statements by time, with their count, time per call and text (cut to `width`).
  void print(std::size_t top = 25, std::size_t width = 140) const {
    std::vector<std::pair<std::string, Total>> sorted(totals_.begin(), totals_.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    double all = 0;
    std::int64_t calls = 0;
    for (const auto& [sql, total] : sorted) {
      all += total.seconds;
      calls += total.count;
    }
    std::printf("  profile: %lld statements, %.2f s in the database; the top %zu by time:\n",
                static_cast<long long>(calls), all, std::min(top, sorted.size()));
    for (std::size_t i = 0; i < sorted.size() && i < top; ++i) {
      const auto& [sql, total] = sorted[i];
      std::printf("    %7.3f s %8lld × %6.1f µs  %.*s\n", total.seconds,
                  static_cast<long long>(total.count), 1e6 * total.seconds / total.count,
                  static_cast<int>(std::min(width, sql.size())), sql.c_str());
    }
  }

 private:
  class ProfilingTx final : public storage::Tx {
   public:
    ProfilingTx(ProfilingDb& db, std::unique_ptr<storage::Tx> inner)
        : db_(db), inner_(std::move(inner)) {}
    storage::Dialect dialect() const override { return inner_->dialect(); }
    storage::Rows query(std::string_view sql, std::span<const storage::Param> params) override {
      return timed(sql, [&] { return inner_->query(sql, params); });
    }
    std::int64_t exec(std::string_view sql, std::span<const storage::Param> params) override {
      return timed(sql, [&] { return inner_->exec(sql, params); });
    }
    std::int64_t copy_in(std::string_view copy_sql, std::string_view data) override {
      return timed(copy_sql, [&] { return inner_->copy_in(copy_sql, data); });
    }
    void commit() override {
      timed("COMMIT", [&] {
        inner_->commit();
        return 0;
      });
    }

   private:
    template <typename F>
    std::invoke_result_t<F> timed(std::string_view sql, F run) {
      const auto start = std::chrono::steady_clock::now();
      auto result = run();
      Total& total = db_.totals_[std::string(sql)];
      total.seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++total.count;
      return result;
    }
    ProfilingDb& db_;
    std::unique_ptr<storage::Tx> inner_;
  };

  storage::Db& inner_;
  std::map<std::string, Total> totals_;
};

}  // namespace neruba::bench
