#pragma once
// What an invoice line was computed from, as JSON (issue 17: "every line stores its inputs"): the
// plan version, the proration factor with its basis and periods, the usage aggregate, event count
// and tier-by-tier breakdown, the commitment inputs. The upcoming invoice shows it per line; a
// billing run stores it with the line and its SHA-256 digest, and GET /v1/invoices/{id}/explain
// shows it back.
#include <string>

#include "domain/currency.hpp"
#include "domain/pricing/period.hpp"
#include "json/json.hpp"

namespace neruba::services::billing {

// An amount with exactly the currency's minor-unit digits ("100.00", JPY "2", KWD "0.004").
json::Value money_json(const domain::Decimal& amount, const domain::Currency& currency);

// The explanation of a priced line (engine output → JSON).
json::Value line_explanation(const domain::pricing::PricedLine& line,
                             const domain::Currency& currency);

// The canonical text of a line's inputs and its digest: SHA-256 (hex) of exactly that text, so
// anyone holding the inputs can check the digest.
struct LineInputs {
  std::string canonical;
  std::string digest;
};
LineInputs line_inputs(const json::Value& inputs);

}  // namespace neruba::services::billing
