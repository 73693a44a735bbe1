#pragma once
// The billing schedule of `neruba serve` (issue 17), off by default: with an interval, each node
// runs due billing — as_of now, finalizing what its grace period lets go — for every tenant, one
// tenant at a time, pass after pass. A tenant whose run fails is logged and the pass goes on; a
// failure never leaves the scheduler's thread. Several nodes on one database bill nothing twice:
// a run takes the tenant's billing lock for each chunk of customers and the unique keys of
// invoices and ledger transactions hold exactly-once (services/billing/billing.hpp).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

#include "common/clock.hpp"
#include "storage/db.hpp"

namespace neruba::services::billing {

// The scheduler acts as the platform: its runs' audit records name actor type `admin`, id
// `admin`, and this name.
inline constexpr std::string_view scheduler_actor_name = "billing scheduler";

struct DuePass {
  std::int64_t tenants = 0;           // tenants whose due billing ran to its end
  std::int64_t runs_recorded = 0;     // of which runs that changed an invoice: recorded, audited
  std::int64_t tenants_failed = 0;    // tenants whose run stopped on a failure (logged)
  std::int64_t customers_failed = 0;  // customers the completed runs could not bill (logged)
};

// One pass over every tenant, in id order, each billed as of the clock's now. A run that
// created, recomputed and finalized no invoice is not recorded: an idle pass writes nothing
// (credit that expired meanwhile is still recorded, with its own audit record). `keep_going` is
// asked before each tenant; false ends the pass there.
DuePass bill_due(storage::Db& db, const Clock& clock, IdGenerator& ids,
                 const std::function<bool()>& keep_going = {});

// A thread that runs bill_due at once, then again `interval` after each pass ends, until
// destroyed. The destructor lets the tenant being billed finish (a run killed halfway is safe
// too: the next one continues it), then stops.
class Scheduler {
 public:
  Scheduler(storage::Db& db, const Clock& clock, IdGenerator& ids,
            std::chrono::milliseconds interval);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Passes finished so far.
  std::int64_t passes() const;

 private:
  void loop();

  storage::Db& db_;
  const Clock& clock_;
  IdGenerator& ids_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;    // GUARDED_BY(mutex_)
  std::int64_t passes_ = 0;  // GUARDED_BY(mutex_)
  std::thread thread_;       // last: started once everything above is set
};

}  // namespace neruba::services::billing
