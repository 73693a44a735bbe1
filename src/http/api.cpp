#include "http/api.hpp"

#include <chrono>

#include "common/crypto.hpp"
#include "common/limits.hpp"
#include "common/log.hpp"
#include "domain/time.hpp"
#include "http/problem.hpp"
#include "http/routes.hpp"
#include "json/reader.hpp"
#include "services/idempotency.hpp"
#include "services/validation.hpp"

namespace neruba::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Printable ASCII without spaces: API keys, tenant ids.
bool is_ascii_token(std::string_view text) {
  for (const char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return !text.empty();
}

// Splits "/v1/a/b?x=1&y=2" into decoded path segments and query parameters.
Result<ParsedTarget> parse_target(const std::string& target) {
  const auto question = target.find('?');
  const std::string_view path = std::string_view(target).substr(0, question);
  ParsedTarget parsed;
  if (path.empty() || path.front() != '/') {
    return Error::make(ErrorCode::malformed_request,
                       "The request target must be an absolute path.");
  }
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    const auto raw =
        path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    auto segment = percent_decode(raw, false);
    if (!segment || !json::is_valid_utf8(*segment) || services::has_control_characters(*segment)) {
      return Error::make(ErrorCode::malformed_request,
                         "The path has an invalid percent-encoding or is not UTF-8.");
    }
    if (!segment->empty() || end != std::string_view::npos)
      parsed.segments.push_back(std::move(*segment));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (question == std::string::npos) return parsed;
  std::string_view query = std::string_view(target).substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value || !json::is_valid_utf8(*key) || !json::is_valid_utf8(*value) ||
        services::has_control_characters(*key) || services::has_control_characters(*value)) {
      return Error::make(ErrorCode::malformed_request,
                         "The query has an invalid percent-encoding or is not UTF-8.");
    }
    if (!key->empty()) parsed.query[*key] = *value;
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return parsed;
}

// "application/json", optionally with parameters ("; charset=utf-8"), case-insensitive.
bool is_json_media_type(std::string_view type) {
  constexpr std::string_view json_type = "application/json";
  const auto end = type.find(';');
  auto media = type.substr(0, end);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != json_type.size()) return false;
  for (std::size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != json_type[i]) return false;
  }
  return true;
}

std::string make_request_id(const Request& request, IdGenerator& ids) {
  if (const auto* given = request.header("x-request-id")) {
    if (!given->empty() && given->size() <= limits::request_id_length_max) {
      bool printable = true;
      for (const char c : *given) printable = printable && c > 0x20 && c < 0x7f;
      if (printable) return *given;
    }
  }
  return ids.next(id_prefix::request);
}

Response json_response(const Rendered& rendered) {
  Response response;
  response.status = rendered.status;
  response.body = json::serialize(rendered.body);
  return response;
}

Response replay_response(const services::StoredResponse& stored) {
  Response response;
  response.status = stored.status;
  response.body = stored.body;
  response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

Result<services::Principal> authenticate(const Request& request, storage::Db& db,
                                         const services::platform::Authenticator& authenticator) {
  const auto* authorization = request.header("authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (authorization == nullptr || authorization->size() <= bearer.size() ||
      std::string_view(*authorization).substr(0, bearer.size()) != bearer) {
    return Error::make(ErrorCode::unauthenticated,
                       "Send an API key as 'Authorization: Bearer <key>'.");
  }
  const std::string_view credential = std::string_view(*authorization).substr(bearer.size());
  if (!is_ascii_token(credential) || credential.size() > 512) {
    return Error::make(ErrorCode::unauthenticated, "The API key is invalid or revoked.");
  }
  return authenticator.authenticate(db, credential);
}

// Applies the route's access rule; for the admin reading tenant data, fixes the tenant from
// X-Neruba-Tenant and records the read with its justification before anything is served.
Status authorize(const Route& route, const Request& request, services::RequestContext& ctx,
                 storage::Db& db) {
  services::Principal& principal = ctx.principal;
  if (route.access == Access::admin) {
    if (!principal.is_admin()) {
      return Error::make(ErrorCode::insufficient_scope,
                         "This endpoint needs the platform admin key.");
    }
    return ok_status();
  }
  if (!principal.is_admin()) {
    for (const auto scope : route.scopes) {
      if (principal.has_scope(scope)) return ok_status();
    }
    std::string wanted;
    for (const auto scope : route.scopes)
      wanted += (wanted.empty() ? "" : " or ") + std::string(scope);
    return Error::make(ErrorCode::insufficient_scope,
                       "This endpoint needs an API key with scope " + wanted + ".");
  }
  const auto* tenant = request.header("x-neruba-tenant");
  const auto* justification = request.header("x-neruba-justification");
  if (request.method != "GET" || tenant == nullptr || justification == nullptr ||
      justification->empty()) {
    return Error::make(ErrorCode::tenant_boundary,
                       "The platform admin key reads tenant data only with GET and both "
                       "X-Neruba-Tenant and X-Neruba-Justification headers; it never writes it.");
  }
  if (justification->size() > limits::justification_length_max ||
      !json::is_valid_utf8(*justification) || services::has_control_characters(*justification)) {
    return Error::make(ErrorCode::malformed_request,
                       "X-Neruba-Justification must be printable UTF-8 text of at most " +
                           std::to_string(limits::justification_length_max) + " bytes.");
  }
  if (!is_ascii_token(*tenant) || tenant->size() > limits::external_id_length_max) {
    return Error::make(ErrorCode::malformed_request, "X-Neruba-Tenant is not a tenant id.");
  }
  principal.tenant = TenantId(*tenant);
  principal.justification = *justification;
  const std::string method = request.method;
  const std::string target = request.target;
  auto tx = db.begin(storage::TxMode::write);
  auto recorded = services::platform::record_admin_read(*tx, ctx, method, target);
  if (!recorded) return recorded.take_error();
  tx->commit();
  return ok_status();
}

Result<std::optional<services::IdempotencyClaim>> idempotency_claim(
    const Request& request, const services::RequestContext& ctx) {
  const auto* key = request.header("idempotency-key");
  // Every write with a body: POST and PATCH.
  if ((request.method != "POST" && request.method != "PATCH") || key == nullptr)
    return std::optional<services::IdempotencyClaim>();
  bool printable = !key->empty() && key->size() <= limits::idempotency_key_length_max;
  for (const char c : *key) printable = printable && c >= 0x20 && c < 0x7f;
  if (!printable) {
    return Error::make(ErrorCode::malformed_request,
                       "Idempotency-Key must be 1 to 255 printable ASCII characters.");
  }
  services::IdempotencyClaim claim;
  claim.scope = ctx.principal.is_admin() ? TenantId() : ctx.principal.tenant;
  claim.key = *key;
  claim.request_hash =
      crypto::sha256_hex(request.method + " " + request.target + "\n" + request.body);
  return std::optional(claim);
}

}  // namespace

Api::Api(storage::Db& db, const Clock& clock, IdGenerator& ids, std::string admin_key_hash)
    : db_(db),
      clock_(clock),
      ids_(ids),
      authenticator_(std::move(admin_key_hash)),
      rate_limiter_(clock),
      ingest_(std::make_unique<services::ingest::Ingest>(db, rate_limiter_)) {}

Api::~Api() = default;

Response Api::handle(const Request& request) {
  const auto started = std::chrono::steady_clock::now();
  const std::string request_id = make_request_id(request, ids_);
  Response response;
  std::string route_name = "unmatched";
  try {
    auto target = parse_target(request.target);
    const Route* route = nullptr;
    if (!target) {
      response = problem_response(target.error(), request_id);
    } else {
      const auto match = match_route(request.method, target->segments);
      route = match.route;
      if (route != nullptr) route_name = std::string(route->name);
      if (match.error) {
        response = problem_response(*match.error, request_id);
        if (!match.allow.empty()) response.headers.emplace_back("Allow", match.allow);
      } else {
        target->params = match.params;
        response = dispatch_route(*this, *route, request, *target, request_id);
      }
    }
  } catch (const storage::StorageError& failure) {
    log::error("storage failure", {{"request_id", request_id}, {"error", failure.what()}});
    // Only a database that cannot answer now (down, or a deadlock / serialization failure) is worth
    // a retry; any other storage failure is a bug to report, not to retry.
    const bool unavailable = failure.kind() == storage::StorageError::Kind::unavailable ||
                             failure.kind() == storage::StorageError::Kind::serialization;
    response =
        problem_response(Error::make(unavailable ? ErrorCode::unavailable : ErrorCode::internal,
                                     unavailable ? "The database is unavailable; retry shortly."
                                                 : "An internal error occurred."),
                         request_id);
  } catch (const std::exception& failure) {
    log::error("unhandled exception", {{"request_id", request_id}, {"error", failure.what()}});
    response = problem_response(Error::make(ErrorCode::internal, "An internal error occurred."),
                                request_id);
  }
  response.headers.emplace_back("X-Request-Id", request_id);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.record(request.method, route_name, response.status, seconds);
  return response;
}

Response dispatch_route(Api& api, const Route& route, const Request& request,
                        const ParsedTarget& target, const std::string& request_id) {
  services::RequestContext ctx;
  ctx.request_id = request_id;
  ctx.now = api.now();
  ctx.ids = &api.ids();
  if (route.access == Access::public_) {
    Call call{api, request, ctx, target, std::nullopt, std::nullopt};
    auto reply = route.handler(call);
    if (!reply) return problem_response(reply.error(), request_id);
    return call.raw_response ? std::move(*call.raw_response) : json_response(reply.value());
  }
  auto principal = authenticate(request, api.db(), api.authenticator());
  if (!principal) return problem_response(principal.error(), request_id);
  ctx.principal = std::move(principal).value();
  if (auto allowed = authorize(route, request, ctx, api.db()); !allowed) {
    return problem_response(allowed.error(), request_id);
  }
  if (request.method == "POST" || request.method == "PATCH") {
    if (const auto* type = request.header("content-type");
        type != nullptr && !is_json_media_type(*type)) {
      return problem_response(Error::make(ErrorCode::unsupported_media_type,
                                          "Send request bodies as Content-Type: application/json."),
                              request_id);
    }
  }
  auto claim = idempotency_claim(request, ctx);
  if (!claim) return problem_response(claim.error(), request_id);
  if (claim.value()) {
    auto prior = services::claim_idempotency_key(api.db(), *claim.value(), ctx.now, api.ids());
    if (!prior) return problem_response(prior.error(), request_id);
    if (prior.value()) return replay_response(*prior.value());
  }
  Call call{api, request, ctx, target, claim.value(), std::nullopt};
  // The claim is this request's alone, and released exactly once, here, when the request fails
  // (before or inside its write): nothing is kept of an error, so a corrected retry may use the
  // key. A success completed the claim in its own transaction.
  std::optional<Result<Rendered>> reply;
  try {
    reply.emplace(route.handler(call));
  } catch (...) {
    if (call.claim) services::release_idempotency_key(api.db(), *call.claim);
    throw;
  }
  if (!*reply) {
    if (call.claim) services::release_idempotency_key(api.db(), *call.claim);
    return problem_response(reply->error(), request_id);
  }
  return json_response(reply->value());
}

}  // namespace neruba::http
