// The audit trail and its verification.
#include "http/views/views.hpp"

namespace neruba::http::views {

json::Value audit_record(const storage::AuditRecord& record) {
  return services::audit::to_json(record);
}

json::Value audit_verification(const services::audit::VerifyReport& report) {
  json::Value out = json::Value::object();
  out.set("ok", json::Value::boolean(report.ok));
  out.set("records", json::Value::number(report.records));
  out.set("head", json::Value::string(report.head));
  if (report.first_broken_seq) {
    out.set("first_broken_seq", json::Value::number(*report.first_broken_seq));
    out.set("problem", json::Value::string(report.problem));
  }
  return out;
}

}  // namespace neruba::http::views
