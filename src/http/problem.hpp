#pragma once
// The one table from ErrorCode to HTTP status and RFC 9457 problem type.
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/message.hpp"

namespace neruba::http {

struct ProblemType {
  int status;
  std::string_view slug;  // https://neruba.dev/errors/<slug>
  std::string_view title;
};

const ProblemType& problem_type(ErrorCode code);
// "https://neruba.dev/errors/<slug>": a problem's `type`, also where a document reports one per
// item.
std::string problem_type_uri(ErrorCode code);
Response problem_response(const Error& error, const std::string& request_id);

}  // namespace neruba::http
