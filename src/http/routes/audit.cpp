// The tenant's audit trail and its verification.
#include <charconv>

#include "http/routes.hpp"
#include "services/audit_log.hpp"

namespace neruba::http {
namespace {

// A cursor this API returned: a record's seq, as std::to_string wrote it (a positive integer
// without sign, spaces or leading zeros). Anything else is refused, not read as far as it goes.
std::optional<std::int64_t> audit_cursor(const std::string& text) {
  if (text.empty() || text.front() < '1' || text.front() > '9') return std::nullopt;
  std::int64_t seq = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seq);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return seq;
}

Result<Rendered> list_audit(Call& call) {
  auto page = call.page();
  if (!page) return page.take_error();
  storage::AuditFilter filter;
  filter.limit = page->limit;
  if (!page->cursor.empty()) {
    const auto seq = audit_cursor(page->cursor);
    if (!seq) {
      return Error::invalid(
          {FieldError{"cursor", "invalid_value", "is not a cursor this API returned", {}}});
    }
    filter.after_seq = *seq;
  }
  auto from = call.instant_query("from");
  if (!from) return from.take_error();
  auto to = call.instant_query("to");
  if (!to) return to.take_error();
  filter.from = from.value();
  filter.to = to.value();
  if (const auto* actor = call.query("actor")) filter.actor = *actor;
  if (const auto* action = call.query("action")) filter.action = *action;
  if (const auto* target = call.query("target")) filter.target = *target;
  return call.read(
      [&](storage::Tx& tx) {
        return Result<services::Page<storage::AuditRecord>>(
            services::audit::list(tx, call.ctx, filter));
      },
      [](const services::Page<storage::AuditRecord>& records) {
        return ok(views::page<storage::AuditRecord>(records, views::audit_record));
      });
}

Result<Rendered> verify_audit(Call& call) {
  return call.read(
      [&](storage::Tx& tx) {
        return Result<services::audit::VerifyReport>(
            services::audit::verify(tx, call.ctx.principal.tenant));
      },
      [](const services::audit::VerifyReport& report) {
        return ok(views::audit_verification(report));
      });
}

}  // namespace

void add_audit_routes(std::vector<Route>& table) {
  namespace scope = services::scope;
  table.push_back(
      {"GET", "/v1/audit", Access::tenant, {scope::read, scope::operator_}, list_audit});
  table.push_back(
      {"GET", "/v1/audit/verify", Access::tenant, {scope::read, scope::operator_}, verify_audit});
}

}  // namespace neruba::http
