#pragma once
// The HTTP API without the transport: routing, authentication, scope and tenant-boundary checks,
// Idempotency-Key handling, problem details and metrics. server.cpp feeds it parsed requests.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "http/message.hpp"
#include "http/metrics.hpp"
#include "services/context.hpp"
#include "services/ingest.hpp"
#include "services/platform.hpp"
#include "services/rate_limit.hpp"
#include "storage/db.hpp"

namespace neruba::http {

struct Call;

class Api {
 public:
  Api(storage::Db& db, const Clock& clock, IdGenerator& ids, std::string admin_key_hash);
  ~Api();

  Response handle(const Request& request);
  Metrics& metrics() { return metrics_; }

  // Used by handlers.
  storage::Db& db() { return db_; }
  IdGenerator& ids() { return ids_; }
  Instant now() const { return clock_.now(); }
  const services::platform::Authenticator& authenticator() const { return authenticator_; }
  services::ingest::Ingest& ingest() { return *ingest_; }

 private:
  storage::Db& db_;
  const Clock& clock_;
  IdGenerator& ids_;
  services::platform::Authenticator authenticator_;
  Metrics metrics_;
  services::RateLimiter rate_limiter_;
  std::unique_ptr<services::ingest::Ingest>
      ingest_;  // last: its writers drain before the rest goes
};

}  // namespace neruba::http
