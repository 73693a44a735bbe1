#include "services/billing/scheduler.hpp"

#include <exception>
#include <string>

#include "common/log.hpp"
#include "services/billing/billing.hpp"
#include "storage/tenants.hpp"

namespace neruba::services::billing {
namespace {

constexpr std::size_t tenants_per_page = 100;

// Bills one tenant's due work and records the run when it changed an invoice. Throws what the
// storage throws.
void bill_tenant(storage::Db& db, const Clock& clock, IdGenerator& ids, const TenantId& tenant,
                 DuePass& pass) {
  const RequestContext ctx =
      platform_context(tenant, std::string(scheduler_actor_name), clock.now(), ids);
  RunRequest request;
  request.as_of = ctx.now;
  auto run = bill(db, ctx, request);
  if (!run) {
    ++pass.tenants_failed;
    log::warn("scheduled billing failed",
              {{"tenant", tenant.str()}, {"error", run.error().detail}});
    return;
  }
  ++pass.tenants;
  for (const auto& failure : run->failures) {
    ++pass.customers_failed;
    log::warn("scheduled billing could not bill a customer", {{"tenant", tenant.str()},
                                                              {"run", run->id},
                                                              {"customer", failure.external_id},
                                                              {"error", failure.error.detail}});
  }
  if (run->invoices_created == 0 && run->invoices_updated == 0 && run->invoices_finalized == 0) {
    return;  // nothing changed: no receipt, no audit record
  }
  auto tx = db.begin(storage::TxMode::write);
  const auto report = record_run(*tx, ctx, *run);
  if (!report) {
    log::warn("scheduled billing run not recorded",
              {{"tenant", tenant.str()}, {"run", run->id}, {"error", report.error().detail}});
    return;
  }
  tx->commit();
  ++pass.runs_recorded;
  log::info("scheduled billing run",
            {{"tenant", tenant.str()},
             {"run", run->id},
             {"invoices_created", std::to_string(run->invoices_created)},
             {"invoices_updated", std::to_string(run->invoices_updated)},
             {"invoices_finalized", std::to_string(run->invoices_finalized)}});
}

}  // namespace

DuePass bill_due(storage::Db& db, const Clock& clock, IdGenerator& ids,
                 const std::function<bool()>& keep_going) {
  DuePass pass;
  std::string after;
  for (;;) {
    std::vector<storage::TenantRecord> page;
    try {
      auto tx = db.begin(storage::TxMode::read);
      page = storage::tenants::list(*tx, after, tenants_per_page);
    } catch (const std::exception& failure) {
      log::warn("scheduled billing could not list tenants", {{"error", failure.what()}});
      return pass;
    }
    for (const auto& tenant : page) {
      if (keep_going && !keep_going()) return pass;
      try {
        bill_tenant(db, clock, ids, tenant.id, pass);
      } catch (const std::exception& failure) {
        // What committed stays; the next pass continues where this run stopped.
        ++pass.tenants_failed;
        log::error("scheduled billing failed",
                   {{"tenant", tenant.id.str()}, {"error", failure.what()}});
      }
    }
    if (page.size() < tenants_per_page) return pass;
    after = page.back().id.str();
  }
}

Scheduler::Scheduler(storage::Db& db, const Clock& clock, IdGenerator& ids,
                     std::chrono::milliseconds interval)
    : db_(db), clock_(clock), ids_(ids), interval_(interval), thread_([this] { loop(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::int64_t Scheduler::passes() const {
  std::lock_guard lock(mutex_);
  return passes_;
}

void Scheduler::loop() {
  const auto keep_going = [this] {
    std::lock_guard lock(mutex_);
    return !stopping_;
  };
  for (;;) {
    bill_due(db_, clock_, ids_, keep_going);
    std::unique_lock lock(mutex_);
    ++passes_;
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
  }
}

}  // namespace neruba::services::billing
