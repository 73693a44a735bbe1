#include "http/problem.hpp"

#include "json/json.hpp"

namespace neruba::http {

const ProblemType& problem_type(ErrorCode code) {
  static const ProblemType malformed{400, "malformed-request", "Malformed request"};
  static const ProblemType validation{422, "validation-failed", "Invalid values"};
  static const ProblemType unauthenticated{401, "unauthenticated", "Missing or invalid API key"};
  static const ProblemType scope{403, "insufficient-scope", "The API key lacks a required scope"};
  static const ProblemType boundary{403, "tenant-boundary", "Tenant boundary"};
  static const ProblemType not_found{404, "not-found", "Not found"};
  static const ProblemType method{405, "method-not-allowed", "Method not allowed"};
  static const ProblemType exists{409, "already-exists", "Already exists"};
  static const ProblemType conflict{409, "conflict", "Conflict"};
  static const ProblemType reused{409, "idempotency-key-reused",
                                  "Idempotency-Key reused with another request"};
  static const ProblemType in_flight{409, "idempotency-request-in-flight",
                                     "Request with this Idempotency-Key in flight"};
  static const ProblemType too_large{413, "payload-too-large", "Request body too large"};
  static const ProblemType timeout{408, "request-timeout", "Request timeout"};
  static const ProblemType media{415, "unsupported-media-type", "Unsupported media type"};
  static const ProblemType rate{429, "rate-limited", "Too many requests"};
  static const ProblemType unavailable{503, "unavailable", "Service unavailable"};
  static const ProblemType internal{500, "internal-error", "Internal error"};
  static const ProblemType range{422, "value-out-of-range", "Value out of range"};
  switch (code) {
    case ErrorCode::malformed_request:
      return malformed;
    case ErrorCode::validation_failed:
      return validation;
    case ErrorCode::unauthenticated:
      return unauthenticated;
    case ErrorCode::insufficient_scope:
      return scope;
    case ErrorCode::tenant_boundary:
      return boundary;
    case ErrorCode::not_found:
      return not_found;
    case ErrorCode::method_not_allowed:
      return method;
    case ErrorCode::already_exists:
      return exists;
    case ErrorCode::conflict:
      return conflict;
    case ErrorCode::idempotency_key_reused:
      return reused;
    case ErrorCode::idempotency_in_flight:
      return in_flight;
    case ErrorCode::out_of_range:
      return range;
    case ErrorCode::payload_too_large:
      return too_large;
    case ErrorCode::request_timeout:
      return timeout;
    case ErrorCode::unsupported_media_type:
      return media;
    case ErrorCode::rate_limited:
      return rate;
    case ErrorCode::unavailable:
      return unavailable;
    case ErrorCode::internal:
      return internal;
  }
  return internal;
}

std::string problem_type_uri(ErrorCode code) {
  return "https://neruba.dev/errors/" + std::string(problem_type(code).slug);
}

Response problem_response(const Error& error, const std::string& request_id) {
  const ProblemType& type = problem_type(error.code);
  json::Value body = json::Value::object();
  body.set("type", json::Value::string(problem_type_uri(error.code)));
  body.set("title", json::Value::string(std::string(type.title)));
  body.set("status", json::Value::number(type.status));
  body.set("detail", json::Value::string(error.detail));
  json::Value items = json::Value::array();
  for (const auto& item : error.errors) {
    json::Value entry = json::Value::object();
    if (item.index) entry.set("index", json::Value::number(static_cast<std::int64_t>(*item.index)));
    if (!item.field.empty()) entry.set("field", json::Value::string(item.field));
    entry.set("type", json::Value::string(item.type));
    entry.set("detail", json::Value::string(item.detail));
    items.push_back(std::move(entry));
  }
  body.set("errors", std::move(items));
  body.set("request_id", json::Value::string(request_id));
  Response response;
  response.status = type.status;
  response.content_type = "application/problem+json";
  response.body = json::serialize(body);
  if (error.retry_after_seconds) {
    response.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
  }
  return response;
}

}  // namespace neruba::http
