#include "domain/currency.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace neruba::domain {
namespace {

struct CurrencyMinorUnit {
  std::string_view code;
  int digits;
};

// ISO 4217 list one (active codes) with the minor unit of each, sorted by code for binary search.
// Kept although being phased out, so existing customers still bill: ANG (→ XCG), CUC, SLL (→ SLE),
// ZWL (→ ZWG). HRK is gone (Croatia uses EUR since 2023). Fund codes with a minor unit (BOV, CHE,
// CHW, CLF, COU, MXV, USN, UYI, UYW) are included.
constexpr std::array currency_table = std::to_array<CurrencyMinorUnit>({
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2},
    {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2},
    {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2},
    {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2},
    {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2},
    {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2},
    {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
    {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2},
    {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2},
    {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2},
    {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0},
    {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
    {"ZWL", 2},
});

constexpr bool code_less(const CurrencyMinorUnit& a, const CurrencyMinorUnit& b) {
  return a.code < b.code;
}
static_assert(std::is_sorted(currency_table.begin(), currency_table.end(), code_less),
              "currency_table must stay sorted for the binary search");
static_assert(std::adjacent_find(currency_table.begin(), currency_table.end(),
                                 [](const CurrencyMinorUnit& a, const CurrencyMinorUnit& b) {
                                   return a.code == b.code;
                                 }) == currency_table.end(),
              "currency_table must not repeat a code");

MoneyResult money_failure(MoneyError error) { return MoneyResult{std::nullopt, error}; }

MoneyError money_error_from(DecimalError error) {
  switch (error) {
    case DecimalError::invalid_syntax:
      return MoneyError::invalid_syntax;
    case DecimalError::scale_out_of_range:
      return MoneyError::too_many_fraction_digits;  // more than 36 digits: more than any currency
    case DecimalError::none:
    case DecimalError::overflow:
    case DecimalError::division_by_zero:
      break;
  }
  return MoneyError::overflow;
}

}  // namespace

std::optional<int> minor_unit_digits(std::string_view currency) {
  const CurrencyMinorUnit key{currency, 0};
  const auto found = std::lower_bound(currency_table.begin(), currency_table.end(), key, code_less);
  if (found == currency_table.end() || found->code != currency) {
    return std::nullopt;
  }
  return found->digits;
}

bool is_known_currency(std::string_view currency) {
  return minor_unit_digits(currency).has_value();
}

std::string_view money_error_name(MoneyError error) {
  switch (error) {
    case MoneyError::none:
      return "none";
    case MoneyError::unknown_currency:
      return "unknown_currency";
    case MoneyError::invalid_syntax:
      return "invalid_syntax";
    case MoneyError::too_many_fraction_digits:
      return "too_many_fraction_digits";
    case MoneyError::overflow:
      return "overflow";
  }
  return "unknown";
}

MoneyResult round_to_minor_unit(const Decimal& amount, std::string_view currency,
                                RoundingMode mode) {
  const std::optional<int> digits = minor_unit_digits(currency);
  if (!digits) {
    return money_failure(MoneyError::unknown_currency);
  }
  const DecimalResult rounded = amount.round(*digits, mode);
  if (!rounded) {
    return money_failure(money_error_from(rounded.error));
  }
  return MoneyResult{rounded.value, MoneyError::none};
}

MoneyTextResult format_amount(const Decimal& amount, std::string_view currency, RoundingMode mode) {
  const MoneyResult rounded = round_to_minor_unit(amount, currency, mode);
  if (!rounded) {
    return MoneyTextResult{std::nullopt, rounded.error};
  }
  return MoneyTextResult{rounded->to_string(), MoneyError::none};
}

MoneyResult parse_amount(std::string_view text, std::string_view currency) {
  const std::optional<int> digits = minor_unit_digits(currency);
  if (!digits) {
    return money_failure(MoneyError::unknown_currency);
  }
  const DecimalResult parsed = Decimal::parse_plain(text);
  if (!parsed) {
    return money_failure(money_error_from(parsed.error));
  }
  if (parsed->scale() > *digits) {
    return money_failure(MoneyError::too_many_fraction_digits);
  }
  // Only pads with zeros here, so the rounding mode is irrelevant and nothing is lost.
  return round_to_minor_unit(*parsed, currency, RoundingMode::half_even);
}

std::optional<Currency> Currency::of(std::string_view code) {
  const auto digits = domain::minor_unit_digits(code);
  if (!digits) return std::nullopt;
  return Currency(std::string(code), *digits);
}

std::optional<std::int64_t> to_minor_units(const Decimal& amount, const Currency& currency) {
  if (amount.scale() > currency.minor_unit_digits()) {
    // Trailing zeros beyond the minor unit are still exact ("1.500" USD is 150 cents).
    const DecimalResult rounded = amount.round(currency.minor_unit_digits(), RoundingMode::down);
    if (!rounded || *rounded != amount) return std::nullopt;
    return to_minor_units(*rounded, currency);
  }
  const DecimalResult padded = amount.round(currency.minor_unit_digits(), RoundingMode::down);
  if (!padded) return std::nullopt;
  const Int128 coefficient = padded->coefficient();
  if (coefficient > std::numeric_limits<std::int64_t>::max() ||
      coefficient < std::numeric_limits<std::int64_t>::min()) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(coefficient);
}

Decimal from_minor_units(std::int64_t minor, const Currency& currency) {
  // |minor| < 2^63 < 10^19 and the scale is at most 4: always fits.
  return *Decimal::from_parts(minor, currency.minor_unit_digits());
}

}  // namespace neruba::domain
