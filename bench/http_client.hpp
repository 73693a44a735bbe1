#pragma once
// A blocking HTTP/1.1 keep-alive client for the benchmark: one connection per thread, requests
// sent as pre-built bytes (so the generator spends no CPU serializing), responses parsed by Beast.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace neruba::bench {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::optional<long> retry_after_seconds;
  bool keep_alive = true;
};

class HttpConnection {
 public:
  HttpConnection(std::string host, unsigned short port)
      : host_(std::move(host)), port_(port), socket_(io_) {}

  const std::string& host() const { return host_; }
  unsigned short port() const { return port_; }

  // Sends one complete request (head and body) and reads its response. Reconnects first when the
  // previous response closed the connection. Throws boost::system::system_error on I/O failure.
  HttpResponse round_trip(std::string_view request) {
    if (!socket_.is_open()) connect();
    boost::asio::write(socket_, boost::asio::buffer(request.data(), request.size()));
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.header_limit(64 * 1024);
    http::read(socket_, buffer_, parser);
    auto& message = parser.get();
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    response.body = std::move(message.body());
    response.keep_alive = message.keep_alive();
    if (const auto it = message.find(http::field::retry_after); it != message.end()) {
      try {
        response.retry_after_seconds = std::stol(std::string(it->value()));
      } catch (const std::exception&) {
        response.retry_after_seconds = 1;
      }
    }
    if (!response.keep_alive) close();
    return response;
  }

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    buffer_.clear();
  }

 private:
  void connect() {
    boost::asio::ip::tcp::resolver resolver(io_);
    boost::asio::connect(socket_, resolver.resolve(host_, std::to_string(port_)));
    socket_.set_option(boost::asio::ip::tcp::no_delay(true));
    buffer_.clear();
  }

  std::string host_;
  unsigned short port_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

// "POST /v1/events HTTP/1.1\r\n…\r\n\r\n" + body.
inline std::string build_request(std::string_view method, std::string_view target, std::string_view host_port,
                                 std::string_view bearer, std::string_view body) {
  std::string out;
  out.reserve(256 + body.size());
  out += method;
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\nHost: ";
  out += host_port;
  out += "\r\nAuthorization: Bearer ";
  out += bearer;
  out += "\r\nAccept: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH") {
    out += "Content-Type: application/json\r\nContent-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace neruba::bench
