#include "http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "common/limits.hpp"
#include "common/log.hpp"
#include "http/problem.hpp"

namespace neruba::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct Shared {
  Api& api;
  std::atomic<bool> draining{false};
  std::atomic<int> active_requests{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {}

  void start() { read_request(); }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits::header_bytes_max));
    parser_->body_limit(limits::body_bytes_max);
    // A connection waiting for its next request keeps no large read buffer (on_header grows it
    // for a body); bytes of a pipelined request stay.
    if (buffer_.capacity() > body_read_bytes / 4) buffer_.shrink_to_fit();
    // The first request must arrive promptly; a kept-alive connection may idle longer.
    stream_.expires_after(std::chrono::seconds(
        requests_served_ == 0 ? limits::header_timeout_seconds : limits::idle_timeout_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  // Beast reads no more at a time than the read buffer has room for (and at least 512 bytes), and
  // the buffer only grows to what it is asked to hold: left as it is, a 258 KiB batch took ~500
  // reads — each a system call, a timer update and an epoll round — and the server spent about a
  // quarter of its CPU on them (docs/benchmarks.md). A request with a body gets room for up to
  // body_read_bytes per read.
  static constexpr std::size_t body_read_bytes = 64 * 1024;

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read(ec, 0);
    const auto length = parser_->content_length();
    if (parser_->chunked() || (length && *length > 0)) {
      buffer_.reserve(static_cast<std::size_t>(
          std::min<std::uint64_t>(length.value_or(body_read_bytes), body_read_bytes)));
    }
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
      return reject(Error::make(
          ErrorCode::payload_too_large,
          ec == bhttp::error::body_limit
              ? "The request body exceeds " + std::to_string(limits::body_bytes_max) + " bytes."
              : "The request headers are too large."));
    }
    if (ec)
      return reject(Error::make(ErrorCode::malformed_request, "The HTTP request is malformed."));
    ++shared_.active_requests;
    auto& message = parser_->get();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[name] = std::string(field.value());
    }
    request.body = std::move(message.body());
    beast::error_code remote_ec;
    const auto remote = stream_.socket().remote_endpoint(remote_ec);
    if (!remote_ec) request.remote_address = remote.address().to_string();
    const bool keep_alive = message.keep_alive() && !shared_.draining;
    Response response = shared_.api.handle(request);
    --shared_.active_requests;
    write(std::move(response), keep_alive);
  }

  // Requests that never reach the Api (unreadable, too large) still get a request id.
  void reject(const Error& error) {
    const std::string request_id = shared_.api.ids().next(id_prefix::request);
    Response response = problem_response(error, request_id);
    response.headers.emplace_back("X-Request-Id", request_id);
    write(std::move(response), false);
  }

  void write(Response response, bool keep_alive) {
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->version(11);
    message->result(static_cast<unsigned>(response.status));
    message->set(bhttp::field::server, "neruba");
    message->set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive);
    message->prepare_payload();
    ++requests_served_;
    stream_.expires_after(std::chrono::seconds(limits::idle_timeout_seconds));
    bhttp::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive || self->shared_.draining) return self->close();
          self->read_request();
        });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Shared& shared_;
  std::uint64_t requests_served_ = 0;
};

}  // namespace

struct Server::Impl {
  Impl(Api& api, ServerOptions opts)
      : options(std::move(opts)),
        io(options.threads),
        acceptor(io),
        signals(io, SIGTERM, SIGINT),
        drain_timer(io),
        shared{api} {}

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (!acceptor.is_open() || shared.draining) return;
        log::warn("accept failed", {{"error", ec.message()}});
      } else {
        std::make_shared<Session>(std::move(socket), shared)->start();
      }
      accept();
    });
  }

  void begin_drain() {
    if (shared.draining.exchange(true)) return;
    log::info("draining: no new connections, finishing in-flight requests");
    beast::error_code ec;
    acceptor.close(ec);
    drain_deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(limits::drain_timeout_seconds);
    poll_drain();
  }

  void poll_drain() {
    if (shared.active_requests.load() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
      io.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(50));
    drain_timer.async_wait([this](beast::error_code) { poll_drain(); });
  }

  ServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer drain_timer;
  Shared shared;
  std::chrono::steady_clock::time_point drain_deadline;
};

Server::Server(Api& api, ServerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}
Server::~Server() = default;

unsigned short Server::listen() {
  const auto address = asio::ip::make_address(impl_->options.host);
  const tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  return impl_->acceptor.local_endpoint().port();
}

void Server::run() {
  impl_->signals.async_wait([this](beast::error_code ec, int) {
    if (!ec) impl_->begin_drain();
  });
  impl_->accept();
  std::vector<std::thread> workers;
  for (int i = 1; i < impl_->options.threads; ++i)
    workers.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (auto& worker : workers) worker.join();
}

void Server::stop() {
  asio::post(impl_->io, [this] { impl_->begin_drain(); });
}

}  // namespace neruba::http
