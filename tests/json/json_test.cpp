// Unit tests for neruba::json::parse / serialize / serialize_canonical. Expected values come from
// RFC 8259 (grammar), RFC 3629 (UTF-8) and hand encoding, never from running this code.
#include "json/json.hpp"

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/limits.hpp"

namespace neruba::json {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

Value parse_ok(std::string_view text) {
  auto result = parse(text);
  EXPECT_TRUE(result.ok()) << "input: " << text
                           << "\nerror: " << (result.ok() ? "" : result.error().detail);
  return result.ok() ? *result : Value{};
}

// The parse must fail as malformed_request, at `offset`, for `reason`.
void expect_rejected(std::string_view full_text, std::size_t offset, std::string_view reason) {
  const auto result = parse(full_text);
  const std::string_view text = full_text.substr(0, 200);  // for failure messages
  ASSERT_FALSE(result.ok()) << "accepted: " << text;
  EXPECT_EQ(result.error().code, ErrorCode::malformed_request);
  const std::string& detail = result.error().detail;
  EXPECT_NE(detail.find("at byte " + std::to_string(offset) + ":"), std::string::npos)
      << "input: " << text << "\ndetail: " << detail;
  EXPECT_NE(detail.find(reason), std::string::npos) << "input: " << text << "\ndetail: " << detail;
}

std::string nested_arrays(std::size_t depth, std::string_view innermost = "") {
  return std::string(depth, '[') + std::string(innermost) + std::string(depth, ']');
}

// --- values ----------------------------------------------------------------------------------

TEST(JsonParse, Literals) {
  EXPECT_TRUE(parse_ok("null").is_null());
  const Value t = parse_ok("true");
  ASSERT_TRUE(t.is_bool());
  EXPECT_TRUE(t.as_bool());
  const Value f = parse_ok("false");
  ASSERT_TRUE(f.is_bool());
  EXPECT_FALSE(f.as_bool());
}

TEST(JsonParse, EveryKindInOneDocument) {
  const Value v = parse_ok(R"({"n":null,"b":true,"i":-12,"s":"x","a":[1,"2",[]],"o":{"k":{}}})");
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.members().size(), 6u);
  EXPECT_EQ(v.members()[0].key, "n");  // member order is kept
  EXPECT_EQ(v.members()[5].key, "o");
  EXPECT_TRUE(v.find("n")->is_null());
  EXPECT_TRUE(v.find("b")->as_bool());
  EXPECT_EQ(v.find("i")->text(), "-12");
  EXPECT_EQ(v.find("s")->text(), "x");
  const Value& a = *v.find("a");
  ASSERT_TRUE(a.is_array());
  ASSERT_EQ(a.items().size(), 3u);
  EXPECT_TRUE(a.items()[0].is_number());
  EXPECT_TRUE(a.items()[1].is_string());
  EXPECT_TRUE(a.items()[2].is_array());
  EXPECT_TRUE(a.items()[2].items().empty());
  ASSERT_TRUE(v.find("o")->find("k")->is_object());
  EXPECT_TRUE(v.find("o")->find("k")->members().empty());
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(JsonParse, TopLevelScalarsAndWhitespace) {
  EXPECT_EQ(parse_ok(" \t\r\n\"x\" \t\r\n").text(), "x");
  EXPECT_EQ(parse_ok("7").text(), "7");
  EXPECT_TRUE(parse_ok(" [ 1 , 2 ] ").is_array());
  EXPECT_TRUE(parse_ok("{ \"a\" : 1 }").is_object());
}

TEST(JsonParse, NumberLiteralTextIsKeptExactly) {
  for (const std::string_view literal :
       {"0", "-0", "1.50", "-0.0", "1e400", "1E+2", "2.5e-4", "-1.5E-10", "12345678901234567890123",
        "0.000000000000000000000000000000001", "9223372036854775808"}) {
    const Value v = parse_ok(literal);
    ASSERT_TRUE(v.is_number()) << literal;
    EXPECT_EQ(v.text(), literal);
    EXPECT_EQ(serialize(v), literal);
  }
  EXPECT_EQ(parse_ok("[1.50]").items()[0].text(), "1.50");
}

TEST(JsonParse, StringEscapes) {
  EXPECT_EQ(parse_ok(R"("\" \\ \/ \b \f \n \r \t")").text(), "\" \\ / \b \f \n \r \t");
  EXPECT_EQ(parse_ok(R"("a\u0041\u00e9\u00E9")").text(), "aA\xC3\xA9\xC3\xA9");
  EXPECT_EQ(parse_ok(R"("\u20ac")").text(), "\xE2\x82\xAC");  // U+20AC: E2 82 AC
  EXPECT_EQ(parse_ok(R"("\u07ff\u0800\uffff")").text(),
            "\xDF\xBF"
            "\xE0\xA0\x80"
            "\xEF\xBF\xBF");
  const Value nul = parse_ok(R"("a\u0000b")");
  EXPECT_EQ(nul.text(), "a\0b"s);
  EXPECT_EQ(nul.text().size(), 3u);
}

TEST(JsonParse, SurrogatePairsBecomeOneUtf8Sequence) {
  // U+1F600 = D83D DE00 → F0 9F 98 80; U+10000 = D800 DC00; U+10FFFF = DBFF DFFF → F4 8F BF BF.
  EXPECT_EQ(parse_ok(R"("\ud83d\ude00")").text(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(parse_ok(R"("\uD800\uDC00")").text(), "\xF0\x90\x80\x80");
  EXPECT_EQ(parse_ok(R"("\udbff\udfff")").text(), "\xF4\x8F\xBF\xBF");
}

TEST(JsonParse, RawUtf8IsCopied) {
  const std::string text = "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \x7F\"";
  EXPECT_EQ(parse_ok(text).text(), text.substr(1, text.size() - 2));
}

// --- rejections: each names its reason and byte offset ----------------------------------------

TEST(JsonReject, EmptyAndWhitespaceOnly) {
  expect_rejected("", 0, "unexpected end of input");
  expect_rejected("  \n", 3, "unexpected end of input");
}

TEST(JsonReject, LeadingZeros) {
  expect_rejected("01", 1, "leading zeros");
  expect_rejected("[-007]", 3, "leading zeros");
}

TEST(JsonReject, MalformedNumbers) {
  expect_rejected("1.", 2, "digit after the decimal point");
  expect_rejected("1.e5", 2, "digit after the decimal point");
  expect_rejected("1e", 2, "digit in the exponent");
  expect_rejected("1e+", 3, "digit in the exponent");
  expect_rejected("-", 1, "invalid value");
  expect_rejected(".5", 0, "invalid value");
  expect_rejected("+1", 0, "invalid value");
  expect_rejected("0x10", 1, "unexpected data after the JSON value");
}

TEST(JsonReject, NanAndInfinity) {
  expect_rejected("NaN", 0, "invalid value");
  expect_rejected("[1,NaN]", 3, "invalid value");
  expect_rejected("Infinity", 0, "invalid value");
  expect_rejected("-Infinity", 1, "invalid value");
}

TEST(JsonReject, TrailingCommas) {
  expect_rejected("[1,2,]", 5, "trailing comma");
  expect_rejected(R"({"a":1,})", 7, "trailing comma");
  expect_rejected("[,]", 1, "invalid value");
}

TEST(JsonReject, SingleQuotes) {
  expect_rejected("{'a':1}", 1, "expected a member name");
  expect_rejected("['a']", 1, "invalid value");
}

TEST(JsonReject, BadLiteralsAndStructure) {
  expect_rejected("tru", 0, "invalid literal");
  expect_rejected("nul", 0, "invalid literal");
  expect_rejected("True", 0, "invalid value");
  expect_rejected(R"({"a" 1})", 5, "expected ':'");
  expect_rejected(R"({"a":1 "b":2})", 7, "expected ',' or '}'");
  expect_rejected("[1 2]", 3, "expected ',' or ']'");
  expect_rejected("[1", 2, "expected ',' or ']'");
  expect_rejected(R"({"a":1)", 6, "expected ',' or '}'");
  expect_rejected("{1:2}", 1, "expected a member name");
}

// Errors inside an escape sequence name the offset of its backslash.
TEST(JsonReject, BadStrings) {
  expect_rejected(R"("abc)", 4, "unterminated string");
  expect_rejected(R"("\x")", 1, "invalid escape");
  expect_rejected(R"("ab\)", 3, "truncated escape");
  expect_rejected(R"("\u12")", 1, "truncated \\u escape");
  expect_rejected(R"(["\u12"])", 2, "invalid \\u escape");  // the closing quote is no hex digit
  expect_rejected(R"(["\u12g4"])", 2, "invalid \\u escape");
  expect_rejected(R"("\u12)", 1, "truncated \\u escape");
}

TEST(JsonReject, UnpairedSurrogates) {
  expect_rejected(R"("\ud800")", 1, "unpaired high surrogate");
  expect_rejected(R"("\ud800x")", 1, "unpaired high surrogate");
  expect_rejected(R"("\ud800\u0041")", 1, "unpaired high surrogate");
  expect_rejected(R"("\ud800\ud800")", 1, "unpaired high surrogate");
  expect_rejected(R"("ab\udc00")", 3, "unpaired low surrogate");
  expect_rejected(R"("\ude00\ud83d")", 1, "unpaired low surrogate");  // pair in the wrong order
}

TEST(JsonReject, InvalidUtf8) {
  expect_rejected("\"\x80\"", 1, "invalid UTF-8");                  // lone continuation byte
  expect_rejected("\"a\xC3(\"", 2, "invalid UTF-8");                // bad continuation
  expect_rejected("\"\xFF\"", 1, "invalid UTF-8");                  // never valid in UTF-8
  expect_rejected("\"\xF8\x88\x80\x80\x80\"", 1, "invalid UTF-8");  // 5-byte form
  expect_rejected("\"\xE2\x82", 1, "truncated UTF-8 sequence");
  // Overlong encodings: '/' as C0 AF and E0 80 AF, NUL as C0 80, U+FFFF as F0 8F BF BF.
  expect_rejected("\"\xC0\xAF\"", 1, "invalid UTF-8");
  expect_rejected("\"\xE0\x80\xAF\"", 1, "invalid UTF-8");
  expect_rejected("\"\xC0\x80\"", 1, "invalid UTF-8");
  expect_rejected("\"\xF0\x8F\xBF\xBF\"", 1, "invalid UTF-8");
  // Surrogates encoded directly in UTF-8 (U+D800, U+DFFF) and code points above U+10FFFF.
  expect_rejected("\"x\xED\xA0\x80\"", 2, "invalid UTF-8");
  expect_rejected("\"\xED\xBF\xBF\"", 1, "invalid UTF-8");
  expect_rejected("\"\xF4\x90\x80\x80\"", 1, "invalid UTF-8");
  // Invalid bytes in a member name are rejected the same way.
  expect_rejected("{\"\xC0\xAF\":1}", 2, "invalid UTF-8");
}

// is_valid_utf8 guards paths, query strings and headers (http/api.cpp) with the same rules.
TEST(JsonUtf8, IsValidUtf8) {
  for (const std::string_view valid :
       {""sv, "plain ASCII"sv, "\0\x01\x1F\x7F"sv,   // control bytes are valid UTF-8
        "\xC2\x80"sv, "\xDF\xBF"sv,                  // U+0080, U+07FF
        "\xE0\xA0\x80"sv, "\xED\x9F\xBF"sv,          // U+0800, U+D7FF (below the surrogates)
        "\xEE\x80\x80"sv, "\xEF\xBF\xBF"sv,          // U+E000 (above them), U+FFFF
        "\xF0\x90\x80\x80"sv, "\xF4\x8F\xBF\xBF"sv,  // U+10000, U+10FFFF
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"sv}) {
    EXPECT_TRUE(is_valid_utf8(valid)) << testing::PrintToString(std::string(valid));
    // The parser agrees: the same bytes inside a JSON string parse (controls aside).
    if (valid.find_first_of("\0\x01\x1F"sv) == std::string_view::npos) {
      EXPECT_TRUE(parse("\"" + std::string(valid) + "\"").ok());
    }
  }
  for (const std::string_view invalid :
       {"\x80"sv, "a\xBF"sv, "\xC3("sv, "\xC3"sv, "\xE2\x82"sv, "\xF0\x9F\x98"sv,  // stray, cut
        "\xC0\xAF"sv, "\xC1\xBF"sv, "\xE0\x80\xAF"sv, "\xE0\x9F\xBF"sv,            // overlong
        "\xF0\x8F\xBF\xBF"sv,                                                      // overlong
        "\xED\xA0\x80"sv, "\xED\xBF\xBF"sv,                                        // surrogates
        "\xF4\x90\x80\x80"sv, "\xF5\x80\x80\x80"sv, "\xF8\x88\x80\x80\x80"sv,      // > U+10FFFF
        "\xFE"sv, "\xFF"sv,
        "ok\xE2\x82\xAC"
        "but\xE2"sv}) {
    EXPECT_FALSE(is_valid_utf8(invalid)) << testing::PrintToString(std::string(invalid));
    EXPECT_FALSE(parse("\"" + std::string(invalid) + "\"").ok());
  }
}

TEST(JsonReject, ControlCharactersInStrings) {
  expect_rejected("\"a\nb\"", 2, "control character");
  expect_rejected("\"\t\"", 1, "control character");
  expect_rejected("\"\x1F\"", 1, "control character");
  expect_rejected("\"a\0\""s, 2, "control character");
}

TEST(JsonReject, DuplicateKeys) {
  expect_rejected(R"({"a":1,"a":2})", 7, "duplicate member name \"a\"");
  expect_rejected(R"({"a":1,"b":{"c":1,"c":2}})", 18, "duplicate member name \"c\"");
  // Escapes are resolved before comparing: "\u0061" is "a".
  expect_rejected(R"({"a":1,"\u0061":2})", 7, "duplicate member name");
  // The same key in different objects is fine.
  EXPECT_TRUE(parse(R"([{"a":1},{"a":2}])").ok());
}

TEST(JsonReject, DuplicateKeysInLargeObjects) {
  std::string text = "{";
  for (int i = 0; i < 1000; ++i) {
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  }
  const std::size_t offset = text.size();
  text += "\"k500\":0}";
  expect_rejected(text, offset, "duplicate member name \"k500\"");
}

// Regression: duplicate detection compared every key with every earlier one, so one 10 MiB
// object (limits::body_bytes_max) with ~1M members cost ~10^12 comparisons: a request of death.
TEST(JsonParse, ManyMembersParseInLinearTime) {
  std::string text = "{";
  for (int i = 0; i < 100'000; ++i) {
    if (i > 0) text += ',';
    text += "\"m" + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += '}';
  const auto start = std::chrono::steady_clock::now();
  const auto result = parse(text);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->members().size(), 100'000u);
  // Quadratic: 200,000 members ran for over 8 minutes under ASan; linear: about a second.
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(JsonReject, TrailingData) {
  expect_rejected("{} x", 3, "unexpected data after the JSON value");
  expect_rejected("1 2", 2, "unexpected data after the JSON value");
  expect_rejected("[1]]", 3, "unexpected data after the JSON value");
  expect_rejected("null\0"s, 4, "unexpected data after the JSON value");
}

TEST(JsonDepth, ExactlyTheLimitIsAccepted) {
  const std::size_t max = limits::json_depth_max;
  EXPECT_TRUE(parse(nested_arrays(max)).ok());
  // Regression: a scalar inside the deepest allowed container counted as one level more, so
  // 64 nested arrays parsed when empty but not when holding a number.
  EXPECT_TRUE(parse(nested_arrays(max, "1")).ok());
  EXPECT_TRUE(parse(nested_arrays(max, "\"s\"")).ok());
  std::string objects;
  for (std::size_t i = 0; i < max; ++i) objects += "{\"a\":";
  objects += "null" + std::string(max, '}');
  EXPECT_TRUE(parse(objects).ok());
}

TEST(JsonDepth, OneLevelOverTheLimitIsRejected) {
  const std::size_t max = limits::json_depth_max;
  expect_rejected(nested_arrays(max + 1), max, "nesting deeper than the limit");
  expect_rejected(nested_arrays(max + 1, "1"), max, "nesting deeper than the limit");
  std::string objects;
  for (std::size_t i = 0; i <= max; ++i) objects += "{\"a\":";
  objects += "1" + std::string(max + 1, '}');
  expect_rejected(objects, max * 5, "nesting deeper than the limit");
  // Far deeper input fails the same way instead of exhausting the stack.
  expect_rejected(std::string(100'000, '['), max, "nesting deeper than the limit");
}

// --- serialization ---------------------------------------------------------------------------

TEST(JsonSerialize, CompactInMemberOrder) {
  const std::string text = R"({"b":1,"a":[true,false,null],"c":{"z":"x","y":-0.50}})";
  EXPECT_EQ(serialize(parse_ok(text)), text);
  EXPECT_EQ(serialize(parse_ok(" { \"b\" : [ 1 , 2 ] } ")), R"({"b":[1,2]})");
  EXPECT_EQ(serialize(Value{}), "null");
  EXPECT_EQ(serialize(Value::array()), "[]");
  EXPECT_EQ(serialize(Value::object()), "{}");
}

TEST(JsonSerialize, CanonicalSortsKeysBytewiseAtEveryLevel) {
  const Value v = parse_ok(R"({"b":1,"a":{"y":2,"x":[{"d":1,"c":2}]},"B":3,"":0,"aa":4})");
  EXPECT_EQ(serialize_canonical(v), R"({"":0,"B":3,"a":{"x":[{"c":2,"d":1}],"y":2},"aa":4,"b":1})");
  // Bytes compare unsigned: U+007F (7F) sorts before U+00E9 (C3 A9), which sorts after "z".
  const Value u = parse_ok("{\"\xC3\xA9\":1,\"\x7F\":2,\"z\":3}");
  EXPECT_EQ(serialize_canonical(u), "{\"z\":3,\"\x7F\":2,\"\xC3\xA9\":1}");
  // Array order is data, never sorted.
  EXPECT_EQ(serialize_canonical(parse_ok("[3,1,2]")), "[3,1,2]");
}

TEST(JsonSerialize, EscapesControlCharactersQuotesAndBackslashes) {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  const std::string expected =
      R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f)"
      R"(\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d)"
      R"(\u001e\u001f")";
  EXPECT_EQ(serialize(Value::string(all_controls)), expected);
  EXPECT_EQ(serialize_canonical(Value::string(all_controls)), expected);
  EXPECT_EQ(serialize(Value::string("say \"hi\" \\ / \x7F")), R"("say \"hi\" \\ / )"
                                                              "\x7F\"");
  // Non-ASCII stays raw UTF-8, never \u-escaped.
  EXPECT_EQ(serialize(Value::string("\xE2\x82\xAC")), "\"\xE2\x82\xAC\"");
  // Member names are escaped the same way.
  Value object;
  object.set("a\"\n", Value::number(1));
  EXPECT_EQ(serialize(object), R"({"a\"\n":1})");
  std::string quoted;
  append_quoted(quoted, "x\ty");
  EXPECT_EQ(quoted, R"("x\ty")");
}

TEST(JsonSerialize, RoundTrips) {
  for (
      const std::string_view text : {
          R"({"events":[{"event_id":"e1","timestamp":"2026-01-05T10:00:00Z","properties":{"n":1.50}}]})",
          R"([null,true,false,0,-0,1e400,"",[],{},[[[]]]])",
          R"({"s":"\u0000\u001f\"\\\/\b\f\n\r\t\ud83d\ude00\u00e9"})",
          "\"\xF4\x8F\xBF\xBF\"",
      }) {
    const Value first = parse_ok(text);
    const std::string compact = serialize(first);
    const Value second = parse_ok(compact);
    EXPECT_EQ(first, second) << text;
    EXPECT_EQ(serialize(second), compact);
    EXPECT_EQ(serialize_canonical(second), serialize_canonical(first));
    EXPECT_EQ(parse_ok(serialize_canonical(first)), parse_ok(serialize_canonical(second)));
  }
}

// --- Value -----------------------------------------------------------------------------------

TEST(JsonValue, AsInt64Bounds) {
  EXPECT_EQ(parse_ok("9223372036854775807").as_int64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_ok("-9223372036854775808").as_int64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(parse_ok("9223372036854775808").as_int64(), std::nullopt);
  EXPECT_EQ(parse_ok("-9223372036854775809").as_int64(), std::nullopt);
  EXPECT_EQ(parse_ok("0").as_int64(), 0);
  EXPECT_EQ(parse_ok("-0").as_int64(), 0);
  EXPECT_EQ(parse_ok("42").as_int64(), 42);
  // Not plain integers: fractions and exponents, even when the value is integral.
  EXPECT_EQ(parse_ok("1.0").as_int64(), std::nullopt);
  EXPECT_EQ(parse_ok("1e2").as_int64(), std::nullopt);
  EXPECT_EQ(parse_ok("\"42\"").as_int64(), std::nullopt);
  EXPECT_EQ(parse_ok("true").as_int64(), std::nullopt);
  EXPECT_EQ(Value::number(std::numeric_limits<std::int64_t>::min()).text(), "-9223372036854775808");
  EXPECT_EQ(Value::number(std::numeric_limits<std::int64_t>::min()).as_int64(),
            std::numeric_limits<std::int64_t>::min());
}

TEST(JsonValue, EqualityComparesKindTextAndOrder) {
  EXPECT_EQ(parse_ok(R"({"a":[1,2]})"), parse_ok(R"( { "a" : [ 1 , 2 ] } )"));
  EXPECT_NE(parse_ok("1.0"), parse_ok("1"));    // literal text, not numeric value
  EXPECT_NE(parse_ok("\"1\""), parse_ok("1"));  // kind
  EXPECT_NE(parse_ok(R"({"a":1,"b":2})"), parse_ok(R"({"b":2,"a":1})"));  // member order
  EXPECT_NE(parse_ok("[1]"), parse_ok("[1,1]"));
  EXPECT_NE(parse_ok("true"), parse_ok("false"));
  EXPECT_EQ(Value::null(), parse_ok("null"));
}

TEST(JsonValue, BuildersSetAndPushBack) {
  Value v;
  v.set("b", Value::number(1));
  v.set("a", Value::string("x"));
  v.set("b", Value::boolean(true));  // replaces in place, keeps the position
  EXPECT_EQ(serialize(v), R"({"b":true,"a":"x"})");
  Value list;
  list.push_back(Value::number(-5));
  list.push_back(Value::number_literal("1.50"));
  list.push_back(Value::null());
  EXPECT_EQ(serialize(list), "[-5,1.50,null]");
}

}  // namespace
}  // namespace neruba::json
