#pragma once
// Transport-neutral request and response: the Api is tested without sockets, and only server.cpp
// sees Boost.Beast.
#include <map>
#include <string>
#include <vector>

namespace neruba::http {

struct Request {
  std::string method;                          // "GET", "POST", …
  std::string target;                          // path and query as received: "/v1/customers/c1?x=y"
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string remote_address;

  const std::string* header(const std::string& lowercase_name) const {
    const auto it = headers.find(lowercase_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
};

}  // namespace neruba::http
