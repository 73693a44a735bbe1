#include "domain/ratio.hpp"

#include <charconv>
#include <limits>
#include <numeric>
#include <ostream>

namespace neruba::domain {
namespace {

constexpr Int128 int64_max = std::numeric_limits<std::int64_t>::max();

Int128 gcd128(Int128 a, Int128 b) {
  while (b != 0) {
    const Int128 rest = a % b;
    a = b;
    b = rest;
  }
  return a;
}

std::optional<std::int64_t> read_digits(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

ErrorReason reason_of(RatioError error) {
  switch (error) {
    case RatioError::zero_denominator:
      return {ErrorCode::validation_failed, "ratio_zero_denominator"};
    case RatioError::negative:
      return {ErrorCode::validation_failed, "ratio_negative"};
    case RatioError::overflow:
      return {ErrorCode::out_of_range, "ratio_overflow"};
  }
  return {ErrorCode::internal, "internal"};
}

Result<Ratio, RatioError> Ratio::of(std::int64_t numerator, std::int64_t denominator) {
  if (denominator == 0) return RatioError::zero_denominator;
  if (numerator < 0 || denominator < 0) return RatioError::negative;
  const std::int64_t divisor = std::gcd(numerator, denominator);  // > 0: denominator is
  return Ratio(numerator / divisor, denominator / divisor);
}

std::optional<Ratio> Ratio::parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto numerator = read_digits(text.substr(0, slash));
  const auto denominator = read_digits(text.substr(slash + 1));
  if (!numerator || !denominator) return std::nullopt;
  auto ratio = of(*numerator, *denominator);
  if (!ratio) return std::nullopt;
  return *ratio;
}

Result<Ratio, RatioError> Ratio::add(const Ratio& other) const {
  // a/b + c/d = (a×d + c×b) / (b×d): each product is below 2^126, their sum below 2^127.
  Int128 numerator =
      Int128{numerator_} * other.denominator_ + Int128{other.numerator_} * denominator_;
  Int128 denominator = Int128{denominator_} * other.denominator_;
  const Int128 divisor = gcd128(numerator, denominator);
  numerator /= divisor;
  denominator /= divisor;
  if (numerator > int64_max || denominator > int64_max) return RatioError::overflow;
  return Ratio(static_cast<std::int64_t>(numerator), static_cast<std::int64_t>(denominator));
}

std::string Ratio::to_string() const {
  return std::to_string(numerator_) + "/" + std::to_string(denominator_);
}

std::ostream& operator<<(std::ostream& out, const Ratio& ratio) { return out << ratio.to_string(); }

DecimalResult apply(const Decimal& amount, const Ratio& factor, int scale, RoundingMode mode) {
  // Checked first, as Decimal::div does, so a bad scale is reported as such whatever the amount.
  if (scale < 0 || scale > Decimal::max_scale) {
    return DecimalResult{std::nullopt, DecimalError::scale_out_of_range};
  }
  // By a whole (1/1): the amount itself, rounded once — what the product and quotient would give.
  if (factor.denominator() == 1 && factor.numerator() == 1) return amount.round(scale, mode);
  const DecimalResult product = amount.mul(Decimal::from_integer(factor.numerator()));
  if (!product) return product;
  return product->div(Decimal::from_integer(factor.denominator()), scale, mode);
}

}  // namespace neruba::domain
