#pragma once
// Expected failures travel as values. The HTTP edge alone maps an ErrorCode to a status and a
// problem-details type, from one table (http/problem.cpp).
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace neruba {

enum class ErrorCode {
  malformed_request,       // 400: unparseable body, bad JSON, bad header
  validation_failed,       // 422: well-formed but invalid values (see FieldError list)
  unauthenticated,         // 401
  insufficient_scope,      // 403
  tenant_boundary,         // 403: admin key without tenant + justification, etc.
  not_found,               // 404
  method_not_allowed,      // 405
  already_exists,          // 409
  conflict,                // 409: state conflict
  idempotency_key_reused,  // 409: same key, different request
  idempotency_in_flight,   // 409: same key, first request still running
  out_of_range,            // 422: a result too large for the exact decimal type
  payload_too_large,       // 413
  request_timeout,         // 408: the request stopped arriving before it was complete
  unsupported_media_type,  // 415
  rate_limited,            // 429
  unavailable,             // 503
  internal,                // 500
};

// One problem with one field or item of a request.
struct FieldError {
  std::string field;  // JSON pointer-ish path: "scopes[2]", "settings.late_event_window_days"
  std::string type;   // stable machine slug: "required", "invalid_type", "invalid_value", ...
  std::string detail;
  std::optional<std::size_t> index;  // item index in a batch, when there is one
};

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string detail;
  std::vector<FieldError> errors;
  std::optional<int> retry_after_seconds;

  static Error make(ErrorCode code, std::string detail) {
    return Error{code, std::move(detail), {}, {}};
  }
  static Error invalid(std::vector<FieldError> errors,
                       std::string detail = "The request has invalid values.") {
    return Error{ErrorCode::validation_failed, std::move(detail), std::move(errors), {}};
  }
  static Error not_found(std::string what) {
    return Error{ErrorCode::not_found, std::move(what) + " was not found.", {}, {}};
  }
};

// A module's reason for failing: the stable slug clients see (a field error's or a batch item's
// `type`: "usage_out_of_range", "tier_gap") and the category the edge answers it with — the one
// table in http/problem.cpp maps that to a status and a problem type. A module names its reasons
// in an enum and says what each is with `reason_of`, found by argument-dependent lookup.
struct ErrorReason {
  ErrorCode code = ErrorCode::validation_failed;
  std::string_view slug;
};

template <typename E>
concept ModuleError = std::is_enum_v<E> && requires(E reason) {
  { reason_of(reason) } -> std::same_as<ErrorReason>;
};

// The Error a module's reason is answered with: its category, and — naming the field at fault,
// when there is one — one FieldError typed by the reason's slug.
template <ModuleError E>
Error error_of(E reason, std::string detail, std::string field = {}) {
  const ErrorReason what = reason_of(reason);
  std::vector<FieldError> errors;
  if (!field.empty())
    errors.push_back(FieldError{std::move(field), std::string(what.slug), detail, {}});
  return Error{what.code, std::move(detail), std::move(errors), {}};
}

// A value or an error: Error (what the edge turns into problem details) unless a module names its
// own error type — an enum of stable reasons (pricing_error::tier_gap), a struct with details.
// Deliberately small: C++20 has no std::expected. [[nodiscard]]: a result is always looked at.
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = E;

  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(E error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const E& error() const { return std::get<1>(state_); }
  E&& take_error() { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, E> state_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace neruba
