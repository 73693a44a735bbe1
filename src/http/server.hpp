#pragma once
// The HTTP/1.1 server (Boost.Beast on Asio, kept out of this header so nothing else compiles it).
#include <functional>
#include <memory>
#include <string>

#include "common/limits.hpp"
#include "http/api.hpp"

namespace neruba::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0 picks a free port
  // Handlers block on the database, and an ingest request waits for its group commit: more
  // threads than cores let more concurrent batches share one durable commit.
  int threads = 32;
  // How long a request body may go without a byte arriving before it is answered 408.
  int body_inactivity_timeout_seconds = limits::body_inactivity_timeout_seconds;
};

class Server {
 public:
  Server(Api& api, ServerOptions options);
  ~Server();
  // Binds and listens; returns the bound port.
  unsigned short listen();
  // Serves until SIGTERM/SIGINT or stop(), then drains in-flight requests (bounded) and returns.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace neruba::http
