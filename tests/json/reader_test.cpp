// Unit tests for neruba::json::ObjectReader and parse_object_body: how request fields are read and
// how every problem is collected as a FieldError (field path, stable type slug, human detail).
#include "json/reader.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace neruba::json {
namespace {

Value body(std::string_view text) {
  auto parsed = parse(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : Value{};
}

// "field:type" for each error, in order: compact to compare whole lists.
std::vector<std::string> summary(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors) out.push_back(error.field + ":" + error.type);
  return out;
}

using Strings = std::vector<std::string>;

TEST(ObjectReader, RequiredStringPresentMissingNullEmptyWrongTypeTooLong) {
  const Value v = body(R"({"ok":"acme","null":null,"empty":"","num":5,"long":"abcdef"})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  EXPECT_EQ(reader.required_string("ok", 10), "acme");
  EXPECT_EQ(reader.required_string("missing", 10), std::nullopt);
  EXPECT_EQ(reader.required_string("null", 10), std::nullopt);  // null counts as absent
  EXPECT_EQ(reader.required_string("empty", 10), std::nullopt);
  EXPECT_EQ(reader.required_string("num", 10), std::nullopt);
  EXPECT_EQ(reader.required_string("long", 5), std::nullopt);
  EXPECT_EQ(reader.required_string("long", 6), "abcdef");  // the bound is inclusive, in bytes
  EXPECT_EQ(summary(errors), (Strings{"missing:required", "null:required", "empty:invalid_value",
                                      "num:invalid_type", "long:too_long"}));
  EXPECT_EQ(errors[0].detail, "is required");
  EXPECT_EQ(errors[2].detail, "must not be empty");
  EXPECT_EQ(errors[3].detail, "must be a string, not a number");
  EXPECT_EQ(errors[4].detail, "must be at most 5 bytes");
  EXPECT_FALSE(errors[0].index.has_value());
}

TEST(ObjectReader, OptionalStringAllowsAbsenceAndEmpty) {
  const Value v = body(R"({"a":"","b":null,"c":[]})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  EXPECT_EQ(reader.optional_string("a", 10), "");
  EXPECT_EQ(reader.optional_string("b", 10), std::nullopt);
  EXPECT_EQ(reader.optional_string("absent", 10), std::nullopt);
  EXPECT_EQ(reader.optional_string("c", 10), std::nullopt);
  EXPECT_EQ(summary(errors), (Strings{"c:invalid_type"}));
  EXPECT_EQ(errors[0].detail, "must be a string, not an array");
}

TEST(ObjectReader, OptionalEnumListsAllowedValues) {
  const Value v = body(R"({"aggregation":"sum","interval":"week","kind":true})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  EXPECT_EQ(reader.optional_enum("aggregation", {"count", "sum", "max"}), "sum");
  EXPECT_EQ(reader.optional_enum("interval", {"month", "year"}), std::nullopt);
  EXPECT_EQ(reader.optional_enum("kind", {"prepaid", "promotional"}), std::nullopt);
  EXPECT_EQ(reader.optional_enum("absent", {"a"}), std::nullopt);
  EXPECT_EQ(summary(errors), (Strings{"interval:invalid_value", "kind:invalid_type"}));
  EXPECT_EQ(errors[0].detail, "must be one of: month, year");
  EXPECT_EQ(errors[1].detail, "must be a string, not a boolean");
}

TEST(ObjectReader, RequiredStringArrayReportsEveryBadItemByIndex) {
  const std::vector<std::string_view> scopes = {"ingest", "read", "write", "operator"};
  const Value v = body(R"({"good":["read","write"],"bad":["read","admin",7,null],"none":[],)"
                       R"("object":{"a":"read"}})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  EXPECT_EQ(reader.required_string_array("good", scopes), (Strings{"read", "write"}));
  EXPECT_EQ(reader.required_string_array("none", scopes), Strings{});
  EXPECT_EQ(reader.required_string_array("bad", scopes), std::nullopt);
  EXPECT_EQ(reader.required_string_array("object", scopes), std::nullopt);
  EXPECT_EQ(reader.required_string_array("missing", scopes), std::nullopt);
  EXPECT_EQ(summary(errors),
            (Strings{"bad[1]:invalid_value", "bad[2]:invalid_value", "bad[3]:invalid_value",
                     "object:invalid_type", "missing:required"}));
  EXPECT_EQ(errors[0].detail, "must be one of: ingest, read, write, operator");
  EXPECT_EQ(errors[3].detail, "must be an array, not an object");
}

TEST(ObjectReader, OptionalIntegerTypeAndRange) {
  const Value v =
      body(R"({"days":35,"min":0,"max":3650,"below":-1,"above":3651,"fraction":1.5,)"
           R"("whole_fraction":2.0,"exponent":1e2,"text":"35","huge":99999999999999999999})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "settings.", errors);
  EXPECT_EQ(reader.optional_integer("days", 0, 3650), 35);
  EXPECT_EQ(reader.optional_integer("min", 0, 3650), 0);
  EXPECT_EQ(reader.optional_integer("max", 0, 3650), 3650);
  EXPECT_EQ(reader.optional_integer("absent", 0, 3650), std::nullopt);
  for (const auto* name :
       {"below", "above", "fraction", "whole_fraction", "exponent", "text", "huge"}) {
    EXPECT_EQ(reader.optional_integer(name, 0, 3650), std::nullopt) << name;
  }
  EXPECT_EQ(summary(errors),
            (Strings{"settings.below:out_of_range", "settings.above:out_of_range",
                     "settings.fraction:invalid_type", "settings.whole_fraction:invalid_type",
                     "settings.exponent:invalid_type", "settings.text:invalid_type",
                     "settings.huge:invalid_type"}));
  EXPECT_EQ(errors[0].detail, "must be between 0 and 3650");
  EXPECT_EQ(errors[2].detail, "must be an integer");
}

TEST(ObjectReader, OptionalIntegerFullInt64Range) {
  const Value v = body(R"({"min":-9223372036854775808,"max":9223372036854775807})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
  constexpr auto highest = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(reader.optional_integer("min", lowest, highest), lowest);
  EXPECT_EQ(reader.optional_integer("max", lowest, highest), highest);
  EXPECT_TRUE(errors.empty());
}

TEST(ObjectReader, OptionalBool) {
  const Value v = body(R"({"t":true,"f":false,"s":"true","n":0})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  EXPECT_EQ(reader.optional_bool("t"), true);
  EXPECT_EQ(reader.optional_bool("f"), false);
  EXPECT_EQ(reader.optional_bool("absent"), std::nullopt);
  EXPECT_EQ(reader.optional_bool("s"), std::nullopt);
  EXPECT_EQ(reader.optional_bool("n"), std::nullopt);
  EXPECT_EQ(summary(errors), (Strings{"s:invalid_type", "n:invalid_type"}));
  EXPECT_EQ(errors[0].detail, "must be a boolean, not a string");
}

TEST(ObjectReader, OptionalStringMap) {
  const Value v =
      body(R"({"metadata":{"crm":"sf-1","note":""},"bad":{"a":"x","b":1,"c":"long!"},)"
           R"("many":{"a":"1","b":"2","c":"3"},"list":["a"],"longkey":{"abcdef":"x"}})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  const auto metadata = reader.optional_string_map("metadata", 2, 5);
  ASSERT_TRUE(metadata.has_value());
  EXPECT_EQ(serialize(*metadata), R"({"crm":"sf-1","note":""})");
  EXPECT_EQ(reader.optional_string_map("absent", 2, 5), std::nullopt);
  EXPECT_EQ(reader.optional_string_map("bad", 5, 4), std::nullopt);
  EXPECT_EQ(reader.optional_string_map("many", 2, 5), std::nullopt);
  EXPECT_EQ(reader.optional_string_map("list", 2, 5), std::nullopt);
  EXPECT_EQ(reader.optional_string_map("longkey", 2, 5), std::nullopt);
  EXPECT_EQ(summary(errors), (Strings{"bad.b:invalid_type", "bad.c:too_long", "many:too_long",
                                      "list:invalid_type", "longkey.abcdef:too_long"}));
  EXPECT_EQ(errors[0].detail, "metadata values must be strings");
  EXPECT_EQ(errors[2].detail, "must have at most 2 entries");
}

TEST(ObjectReader, UnknownFieldsAreReportedWithTheirPath) {
  const Value v =
      body(R"({"name":"x","nmae":"typo","extra":null,"settings":{"late":1,"bogus":2}})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  EXPECT_EQ(reader.required_string("name", 200), "x");
  const Value* settings = reader.get("settings");
  ASSERT_NE(settings, nullptr);
  ObjectReader nested(*settings, "settings.", errors);
  EXPECT_EQ(nested.optional_integer("late", 0, 10), 1);
  nested.reject_unknown();
  reader.reject_unknown();
  EXPECT_EQ(summary(errors),
            (Strings{"settings.bogus:unknown_field", "nmae:unknown_field", "extra:unknown_field"}));
  EXPECT_EQ(errors[0].detail, "is not a recognised field");
}

TEST(ObjectReader, AskingForAFieldMarksItKnownEvenWhenInvalid) {
  const Value v = body(R"({"seats":"three"})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  EXPECT_EQ(reader.optional_integer("seats", 0, 100), std::nullopt);
  reader.reject_unknown();
  EXPECT_EQ(summary(errors), (Strings{"seats:invalid_type"}));  // not also unknown_field
}

TEST(ObjectReader, CollectsEveryErrorNotJustTheFirst) {
  const Value v = body(R"({"name":"","currency":5,"scopes":["root"],"seats":-1,"finalize":"yes",)"
                       R"("typo":1})");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "", errors);
  (void)reader.required_string("name", 200);
  (void)reader.optional_enum("currency", {"USD", "EUR"});
  (void)reader.required_string_array("scopes", {"read"});
  (void)reader.optional_integer("seats", 0, 10);
  (void)reader.optional_bool("finalize");
  (void)reader.required_string("external_id", 255);
  reader.reject_unknown();
  EXPECT_EQ(summary(errors),
            (Strings{"name:invalid_value", "currency:invalid_type", "scopes[0]:invalid_value",
                     "seats:out_of_range", "finalize:invalid_type", "external_id:required",
                     "typo:unknown_field"}));
}

TEST(ObjectReader, NotAnObjectIsOneErrorAtItsPath) {
  for (const auto& [text, kind] :
       std::vector<std::pair<std::string, std::string>>{{"[]", "an array"},
                                                        {"\"x\"", "a string"},
                                                        {"1", "a number"},
                                                        {"true", "a boolean"},
                                                        {"null", "null"}}) {
    const Value v = body(text);
    std::vector<FieldError> errors;
    ObjectReader reader(v, "settings.", errors);
    EXPECT_FALSE(reader.is_object());
    // Reading fields of a non-object adds nothing more: the one error says it all.
    EXPECT_EQ(reader.required_string("name", 10), std::nullopt);
    EXPECT_EQ(reader.required_string_array("scopes", {"a"}), std::nullopt);
    EXPECT_EQ(reader.optional_integer("n", 0, 1), std::nullopt);
    reader.reject_unknown();
    ASSERT_EQ(errors.size(), 1u) << text;
    EXPECT_EQ(errors[0].field, "settings");
    EXPECT_EQ(errors[0].type, "invalid_type");
    EXPECT_EQ(errors[0].detail, "must be an object, not " + kind);
  }
  std::vector<FieldError> errors;
  ObjectReader top(body("[1]"), "", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "");
}

TEST(ObjectReader, AddErrorAndFieldUseThePath) {
  const Value v = body("{}");
  std::vector<FieldError> errors;
  ObjectReader reader(v, "charges[2].", errors);
  EXPECT_EQ(reader.field("amount"), "charges[2].amount");
  reader.add_error("amount", "invalid_value", "must be a decimal string");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "charges[2].amount");
  EXPECT_EQ(errors[0].type, "invalid_value");
  EXPECT_EQ(errors[0].detail, "must be a decimal string");
}

TEST(ParseObjectBody, AcceptsOnlyObjects) {
  const auto ok = parse_object_body(R"({"name":"x"})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->find("name")->text(), "x");

  const auto array = parse_object_body("[1]");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.error().code, ErrorCode::malformed_request);
  EXPECT_EQ(array.error().detail, "The request body must be a JSON object.");

  const auto malformed = parse_object_body(R"({"name":})");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, ErrorCode::malformed_request);
  EXPECT_EQ(malformed.error().detail, "Malformed JSON at byte 8: invalid value");

  const auto empty = parse_object_body("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().detail, "Malformed JSON at byte 0: unexpected end of input");
}

}  // namespace
}  // namespace neruba::json
