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
  const ServerOptions& options;
  std::atomic<bool> draining{false};
  std::atomic<int> active_requests{0};
};

// One connection. Its deadlines are a steady_timer of its own, not a beast::tcp_stream's: a
// tcp_stream closes the socket when its timer fires, and a request that stopped arriving half-way
// must still be answered 408. When the deadline passes, the timer cancels the socket's pending
// operation, which completes with operation_aborted and timed_out_ set; socket and timer share the
// connection's strand, so their handlers never run at once.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), shared_(shared) {}

  void start() { read_request(); }

 private:
  using Clock = std::chrono::steady_clock;

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits::header_bytes_max));
    parser_->body_limit(limits::body_bytes_max);
    // A connection waiting for its next request keeps no large read buffer (on_header grows it
    // for a body); bytes of a pipelined request stay.
    if (buffer_.capacity() > body_read_bytes / 4) buffer_.shrink_to_fit();
    // The first request must arrive promptly; a kept-alive connection may idle longer.
    expire_after(std::chrono::seconds(header_deadline_seconds()));
    bhttp::async_read_header(socket_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  int header_deadline_seconds() const {
    return requests_served_ == 0 ? limits::header_timeout_seconds : limits::idle_timeout_seconds;
  }

  // Beast reads no more at a time than the read buffer has room for (and at least 512 bytes), and
  // the buffer only grows to what it is asked to hold: left as it is, a 258 KiB batch took ~500
  // reads — each a system call, a timer update and an epoll round — and the server spent about a
  // quarter of its CPU on them (docs/benchmarks.md). A request with a body gets room for up to
  // body_read_bytes per read.
  static constexpr std::size_t body_read_bytes = 64 * 1024;

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read(ec);
    const auto length = parser_->content_length();
    if (parser_->chunked() || (length && *length > 0)) {
      buffer_.reserve(static_cast<std::size_t>(
          std::min<std::uint64_t>(length.value_or(body_read_bytes), body_read_bytes)));
    }
    read_body();
  }

  // The body is read one socket read at a time (what bhttp::async_read does inside), and each read
  // moves the deadline on: a body may take as long as it needs while bytes keep arriving, and
  // times out only when none has arrived for the inactivity timeout.
  void read_body() {
    if (parser_->is_done()) return on_read({});
    expire_after(std::chrono::seconds(shared_.options.body_inactivity_timeout_seconds));
    bhttp::async_read_some(socket_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec) return on_read(ec);
    read_body();
  }

  void on_read(beast::error_code ec) {
    if (ec == asio::error::operation_aborted && timed_out_) {
      // A connection that sent nothing (a new one, or kept alive and idle) is closed; a request
      // that stopped arriving half-way is answered.
      if (!parser_->got_some()) return close();
      return reject(Error::make(
          ErrorCode::request_timeout,
          parser_->is_header_done()
              ? "No byte of the request body arrived for " +
                    std::to_string(shared_.options.body_inactivity_timeout_seconds) + " seconds."
              : "The request header was not complete within " +
                    std::to_string(header_deadline_seconds()) + " seconds."));
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
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
    const auto remote = socket_.remote_endpoint(remote_ec);
    if (!remote_ec) request.remote_address = remote.address().to_string();
    const bool keep_alive = message.keep_alive() && !shared_.draining;
    Response response = shared_.api.handle(request);
    --shared_.active_requests;
    write(std::move(response), keep_alive ? Then::read_next : Then::close);
  }

  // Requests that never reach the Api (unreadable, too large, timed out) still get a request id.
  void reject(const Error& error) {
    const std::string request_id = shared_.api.ids().next(id_prefix::request);
    Response response = problem_response(error, request_id);
    response.headers.emplace_back("X-Request-Id", request_id);
    write(std::move(response), Then::linger);
  }

  // What the connection does once a response is written.
  enum class Then { read_next, close, linger };

  void write(Response response, Then then) {
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->version(11);
    message->result(static_cast<unsigned>(response.status));
    message->set(bhttp::field::server, "neruba");
    message->set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(then == Then::read_next);
    message->prepare_payload();
    ++requests_served_;
    expire_after(std::chrono::seconds(limits::idle_timeout_seconds));
    bhttp::async_write(
        socket_, *message,
        [self = shared_from_this(), message, then](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          if (then == Then::linger) return self->linger();
          if (then == Then::close || self->shared_.draining) return self->close();
          self->read_request();
        });
  }

  // A request refused before it was read (too large, timed out, malformed) may still be arriving:
  // urllib and requests send a whole body before they read anything. Closed with those bytes
  // unread, the connection is reset by the kernel, and the client gets a broken pipe instead of
  // the answer. So, as nginx's lingering close, the answer is followed by a FIN and the rest is
  // read and discarded until the client closes, or for limits::lingering_close_bytes_max, or
  // lingering_close_seconds in all, or lingering_close_inactivity_seconds without a byte.
  void linger() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    linger_until_ = Clock::now() + std::chrono::seconds(limits::lingering_close_seconds);
    buffer_.clear();
    discard();
  }

  void discard() {
    expire_at(
        std::min(linger_until_,
                 Clock::now() + std::chrono::seconds(limits::lingering_close_inactivity_seconds)));
    socket_.async_read_some(buffer_.prepare(body_read_bytes),
                            beast::bind_front_handler(&Session::on_discard, shared_from_this()));
  }

  void on_discard(beast::error_code ec, std::size_t bytes) {
    discarded_bytes_ += bytes;
    if (!ec && discarded_bytes_ < limits::lingering_close_bytes_max) discard();
    // Else done (the client closed, a deadline passed, or enough was read): the session ends
    // and its socket is closed.
  }

  void close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
  }

  // Sets the deadline of what the connection waits for now. Moving it later costs a clock read,
  // not a timer update (the timer, woken early, waits again for the moved deadline), so a body
  // can move it on every read.
  void expire_after(Clock::duration timeout) { expire_at(Clock::now() + timeout); }

  void expire_at(Clock::time_point deadline) {
    deadline_ = deadline;
    timed_out_ = false;
    if (!timer_waiting_ || deadline_ < timer_.expiry()) wait_for_deadline();
  }

  void wait_for_deadline() {
    timer_waiting_ = true;
    timer_.expires_at(deadline_);  // cancels a wait for a later deadline
    // The timer does not keep the session alive: its pending operations do.
    timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (auto self = weak.lock()) self->on_deadline(ec);
    });
  }

  void on_deadline(beast::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // replaced by a wait for an earlier one
    timer_waiting_ = false;
    if (Clock::now() < deadline_) return wait_for_deadline();
    timed_out_ = true;
    beast::error_code ignored;
    socket_.cancel(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  Clock::time_point deadline_;
  bool timer_waiting_ = false;
  bool timed_out_ = false;  // the deadline passed: the pending operation was cancelled for it
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Shared& shared_;
  std::uint64_t requests_served_ = 0;
  Clock::time_point linger_until_;
  std::size_t discarded_bytes_ = 0;
};

}  // namespace

struct Server::Impl {
  Impl(Api& api, ServerOptions opts)
      : options(std::move(opts)),
        io(options.threads),
        acceptor(io),
        signals(io, SIGTERM, SIGINT),
        drain_timer(io),
        shared{api, options} {}

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
