// Tests of the JSON Schema subset validator used to check log output against docs/log-schema.json.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/json_schema.h"

namespace {

using entropix::jsonschema::load_schema;
using entropix::jsonschema::validate_json;
using nlohmann::json;

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

bool valid(const json& instance, const json& schema) { return validate_json(instance, schema).empty(); }

// Asserts exactly one violation and returns it, so tests can check the pointer and wording.
std::string only_error(const json& instance, const json& schema) {
  auto errors = validate_json(instance, schema);
  EXPECT_EQ(errors.size(), 1u) << joined(errors);
  return errors.empty() ? "" : errors.front();
}

// --- type

TEST(JsonSchemaType, EachTypeNameAcceptsItsOwnKind) {
  EXPECT_TRUE(valid(nullptr, {{"type", "null"}}));
  EXPECT_TRUE(valid(true, {{"type", "boolean"}}));
  EXPECT_TRUE(valid(json::object(), {{"type", "object"}}));
  EXPECT_TRUE(valid(json::array(), {{"type", "array"}}));
  EXPECT_TRUE(valid("x", {{"type", "string"}}));
  EXPECT_TRUE(valid(1.5, {{"type", "number"}}));
  EXPECT_TRUE(valid(7, {{"type", "integer"}}));
}

TEST(JsonSchemaType, RejectsOtherKinds) {
  EXPECT_FALSE(valid(0, {{"type", "null"}}));
  EXPECT_FALSE(valid(1, {{"type", "boolean"}}));
  EXPECT_FALSE(valid(json::array(), {{"type", "object"}}));
  EXPECT_FALSE(valid(json::object(), {{"type", "array"}}));
  EXPECT_FALSE(valid(3, {{"type", "string"}}));
  EXPECT_FALSE(valid("3", {{"type", "number"}}));
  EXPECT_FALSE(valid(true, {{"type", "integer"}}));
}

TEST(JsonSchemaType, IntegerMeansIntegralValue) {
  json integer = {{"type", "integer"}};
  EXPECT_TRUE(valid(-4, integer));
  EXPECT_TRUE(valid(json(18446744073709551615ull), integer));
  EXPECT_TRUE(valid(2.0, integer)) << "a float with an integral value is an integer";
  EXPECT_FALSE(valid(2.5, integer));
  EXPECT_EQ(only_error(2.5, integer), "#: expected integer, got number 2.5");
}

TEST(JsonSchemaType, NumberAcceptsIntegers) {
  json number = {{"type", "number"}};
  EXPECT_TRUE(valid(3, number));
  EXPECT_TRUE(valid(json(3u), number));
  EXPECT_TRUE(valid(-0.25, number));
}

TEST(JsonSchemaType, ArrayOfTypesAcceptsAny) {
  json nullable = {{"type", {"number", "null"}}};
  EXPECT_TRUE(valid(1.5, nullable));
  EXPECT_TRUE(valid(nullptr, nullable));
  EXPECT_EQ(only_error("nan", nullable), "#: expected number or null, got string \"nan\"");
  EXPECT_EQ(only_error(nullptr, {{"type", "number"}}), "#: expected number, got null");
}

// --- enum / const

TEST(JsonSchemaEnum, AcceptsListedValuesOnly) {
  json schema = {{"enum", {"val", "train", 3}}};
  EXPECT_TRUE(valid("val", schema));
  EXPECT_TRUE(valid(3, schema));
  EXPECT_TRUE(valid(3.0, schema)) << "numbers compare by value";
  EXPECT_FALSE(valid("test", schema));
  EXPECT_FALSE(valid(nullptr, schema));
}

TEST(JsonSchemaConst, AcceptsOnlyThatValue) {
  json schema = {{"const", "train"}};
  EXPECT_TRUE(valid("train", schema));
  EXPECT_EQ(only_error("eval", schema), "#: expected \"train\", got \"eval\"");
  EXPECT_TRUE(valid(json{{"a", {1, 2}}}, {{"const", {{"a", {1, 2}}}}}));
  EXPECT_FALSE(valid(json{{"a", {2, 1}}}, {{"const", {{"a", {1, 2}}}}}));
}

// --- objects

TEST(JsonSchemaProperties, ValidatesPresentPropertiesAtTheirPointer) {
  json schema = {{"properties", {{"step", {{"type", "integer"}}}, {"a/b~c", {{"type", "string"}}}}}};
  EXPECT_TRUE(valid(json{{"step", 3}}, schema));
  EXPECT_TRUE(valid(json::object(), schema)) << "properties alone does not require anything";
  EXPECT_EQ(only_error(json{{"step", "3"}}, schema), "#/step: expected integer, got string \"3\"");
  EXPECT_EQ(only_error(json{{"a/b~c", 1}}, schema), "#/a~1b~0c: expected string, got integer 1");
}

TEST(JsonSchemaProperties, NestedPointers) {
  json schema = {{"properties", {{"params", {{"properties", {{"total", {{"minimum", 0}}}}}}}}}};
  EXPECT_EQ(only_error(json{{"params", {{"total", -1}}}}, schema), "#/params/total: expected >= 0, got -1");
}

TEST(JsonSchemaRequired, ReportsEachMissingProperty) {
  json schema = {{"required", {"kind", "step"}}};
  EXPECT_TRUE(valid(json{{"kind", "x"}, {"step", nullptr}}, schema));
  auto errors = validate_json(json{{"other", 1}}, schema);
  ASSERT_EQ(errors.size(), 2u) << joined(errors);
  EXPECT_EQ(errors[0], "#: missing required property \"kind\"");
  EXPECT_EQ(errors[1], "#: missing required property \"step\"");
}

TEST(JsonSchemaAdditionalProperties, FalseRejectsUndeclared) {
  json schema = {{"properties", {{"a", true}}}, {"additionalProperties", false}};
  EXPECT_TRUE(valid(json{{"a", 1}}, schema));
  EXPECT_EQ(only_error(json{{"a", 1}, {"b", 2}}, schema), "#/b: no value is allowed here (schema false)");
}

TEST(JsonSchemaAdditionalProperties, SchemaAppliesToUndeclared) {
  // The shape of summary.nonlinearities: any op name, each with a fixed record.
  json schema = {{"additionalProperties",
                  {{"type", "object"}, {"required", {"count"}}, {"properties", {{"count", {{"type", "integer"}}}}}}}};
  EXPECT_TRUE(valid(json{{"softmax", {{"count", 4}}}, {"gelu", {{"count", 2}}}}, schema));
  EXPECT_EQ(only_error(json{{"softmax", {{"count", 4}}}, {"gelu", 2}}, schema),
            "#/gelu: expected object, got integer 2");
}

TEST(JsonSchemaAdditionalProperties, AllowedByDefaultAndWhenTrue) {
  json declared = {{"properties", {{"a", {{"type", "integer"}}}}}};
  EXPECT_TRUE(valid(json{{"a", 1}, {"later_field", "x"}}, declared));
  declared["additionalProperties"] = true;
  EXPECT_TRUE(valid(json{{"a", 1}, {"later_field", "x"}}, declared));
}

// --- arrays

TEST(JsonSchemaItems, ValidatesEveryElementAtItsIndex) {
  json schema = {{"items", {{"type", "array"}, {"items", {{"type", {"number", "null"}}}}}}};
  EXPECT_TRUE(valid(json{{1.0, nullptr}, {2.5}}, schema));
  EXPECT_EQ(only_error(json{{1.0, nullptr}, {2.5, "x"}}, schema), "#/1/1: expected number or null, got string \"x\"");
}

TEST(JsonSchemaItems, MinAndMaxItems) {
  json schema = {{"minItems", 4}, {"maxItems", 4}};
  EXPECT_TRUE(valid(json{0, 0, 0, 1}, schema));
  EXPECT_EQ(only_error(json{0, 1}, schema), "#: expected at least 4 items, got 2");
  EXPECT_EQ(only_error(json::array(), {{"minItems", 1}}), "#: expected at least 1 item, got 0");
  EXPECT_EQ(only_error(json{0, 0, 0, 0, 1}, schema), "#: expected at most 4 items, got 5");
}

// --- numbers

TEST(JsonSchemaNumbers, MinimumAndMaximumAreInclusive) {
  json schema = {{"minimum", 0}, {"maximum", 1}};
  EXPECT_TRUE(valid(0, schema));
  EXPECT_TRUE(valid(1.0, schema));
  EXPECT_TRUE(valid(0.5, schema));
  EXPECT_EQ(only_error(-0.001, schema), "#: expected >= 0, got -0.001");
  EXPECT_EQ(only_error(1.5, schema), "#: expected <= 1, got 1.5");
}

TEST(JsonSchemaNumbers, ExclusiveMinimumExcludesTheBound) {
  json schema = {{"exclusiveMinimum", 0}};
  EXPECT_TRUE(valid(1e-9, schema));
  EXPECT_EQ(only_error(0, schema), "#: expected > 0, got 0");
  EXPECT_FALSE(valid(-1, schema));
}

// --- strings

TEST(JsonSchemaStrings, MinLengthCountsCharactersNotBytes) {
  json schema = {{"minLength", 2}};
  EXPECT_TRUE(valid("ab", schema));
  EXPECT_FALSE(valid("\xC3\xA9", schema)) << "one character (e-acute) in two UTF-8 bytes";
  EXPECT_EQ(only_error("", schema), "#: expected at least 2 characters, got 0");
}

TEST(JsonSchemaKeywords, TypeSpecificKeywordsIgnoreOtherTypes) {
  json schema = {{"minimum", 0}, {"minLength", 3}, {"minItems", 1}, {"required", {"a"}}, {"items", false}};
  EXPECT_TRUE(valid(nullptr, schema));
  EXPECT_TRUE(valid(true, schema));
}

// --- combinators

TEST(JsonSchemaOneOf, ExactlyOneBranchMustMatch) {
  json schema = {{"oneOf", {{{"type", "integer"}}, {{"type", "number"}, {"minimum", 10}}}}};
  EXPECT_TRUE(valid(3, schema)) << "only the integer branch";
  EXPECT_TRUE(valid(10.5, schema)) << "only the number branch";
  EXPECT_FALSE(valid(-0.5, schema)) << "no branch";
  auto errors = validate_json(12, schema);
  ASSERT_EQ(errors.size(), 1u) << joined(errors);
  EXPECT_EQ(errors[0], "#: matches oneOf branches 0, 1; expected exactly one");
}

TEST(JsonSchemaOneOf, NoMatchListsTheBranchErrors) {
  json schema = {{"oneOf", {{{"type", "integer"}}, {{"type", "string"}}}}};
  auto errors = validate_json(1.5, schema);
  ASSERT_EQ(errors.size(), 3u) << joined(errors);
  EXPECT_EQ(errors[0], "#: matches none of the 2 oneOf branches");
  EXPECT_EQ(errors[1], "#: expected integer, got number 1.5 [oneOf[0]]");
  EXPECT_EQ(errors[2], "#: expected string, got number 1.5 [oneOf[1]]");
}

TEST(JsonSchemaOneOf, DiscriminatorHidesBranchesOfOtherKinds) {
  json schema = json::parse(R"({
    "definitions": {
      "a": {"properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}, "required": ["kind", "x"]},
      "b": {"properties": {"kind": {"const": "b"}}, "required": ["kind", "y"]}
    },
    "oneOf": [{"$ref": "#/definitions/a"}, {"$ref": "#/definitions/b"}]
  })");
  EXPECT_TRUE(valid(json{{"kind", "a"}, {"x", 1}}, schema));
  auto errors = validate_json(json{{"kind", "a"}, {"x", "1"}}, schema);
  ASSERT_EQ(errors.size(), 2u) << joined(errors);
  EXPECT_EQ(errors[1], "#/x: expected integer, got string \"1\" [oneOf[0] #/definitions/a]");
  // A kind that no branch has, or none at all, is reported on its own.
  errors = validate_json(json{{"kind", "c"}}, schema);
  ASSERT_EQ(errors.size(), 2u) << joined(errors);
  EXPECT_EQ(errors[1], "#/kind: expected one of [\"a\",\"b\"], got \"c\"");
  errors = validate_json(json{{"x", 1}}, schema);
  ASSERT_EQ(errors.size(), 2u) << joined(errors);
  EXPECT_EQ(errors[1], "#: missing required property \"kind\"");
}

TEST(JsonSchemaAnyOf, AtLeastOneBranchMustMatch) {
  json schema = {{"anyOf", {{{"type", "integer"}}, {{"type", "number"}, {"minimum", 10}}}}};
  EXPECT_TRUE(valid(12, schema)) << "both branches is fine for anyOf";
  EXPECT_TRUE(valid(3, schema));
  auto errors = validate_json(-0.5, schema);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0], "#: matches none of the 2 anyOf branches");
}

TEST(JsonSchemaAllOf, EveryBranchMustMatch) {
  json schema = {{"allOf", {{{"type", "number"}}, {{"minimum", 0}}, {{"maximum", 1}}}}};
  EXPECT_TRUE(valid(0.25, schema));
  EXPECT_EQ(only_error(2, schema), "#: expected <= 1, got 2");
  EXPECT_EQ(validate_json("x", schema).size(), 1u);
}

TEST(JsonSchemaBoolean, TrueAcceptsFalseRejects) {
  EXPECT_TRUE(valid(json{{"anything", 1}}, true));
  EXPECT_FALSE(valid(nullptr, false));
}

// --- $ref

TEST(JsonSchemaRef, ResolvesAgainstTheRoot) {
  json schema = {{"definitions", {{"probability", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}}}},
                 {"properties", {{"p", {{"$ref", "#/definitions/probability"}}}}}};
  EXPECT_TRUE(valid(json{{"p", 0.5}}, schema));
  EXPECT_EQ(only_error(json{{"p", 2}}, schema), "#/p: expected <= 1, got 2");
}

TEST(JsonSchemaRef, ChainsAndRecursion) {
  json schema = json::parse(R"({
    "definitions": {
      "alias": {"$ref": "#/definitions/tree"},
      "tree": {
        "type": "object",
        "required": ["value"],
        "properties": {"value": {"type": "integer"}, "children": {"items": {"$ref": "#/definitions/alias"}}}
      }
    },
    "$ref": "#/definitions/alias"
  })");
  json tree = {{"value", 1}, {"children", {{{"value", 2}}, {{"value", 3}, {"children", {{{"value", 4}}}}}}}};
  EXPECT_TRUE(valid(tree, schema));
  tree["children"][1]["children"][0]["value"] = "4";
  EXPECT_EQ(only_error(tree, schema), "#/children/1/children/0/value: expected integer, got string \"4\"");
}

TEST(JsonSchemaRef, RootReference) {
  json schema = {{"type", {"array", "integer"}}, {"items", {{"$ref", "#"}}}};
  EXPECT_TRUE(valid(json{1, {2, {3}}}, schema));
  EXPECT_FALSE(valid(json{1, {2, {"3"}}}, schema));
}

TEST(JsonSchemaRef, BadReferencesAreSchemaErrors) {
  EXPECT_THROW(validate_json(1, {{"$ref", "#/definitions/missing"}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"$ref", "other.json#/definitions/x"}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"$ref", "#/definitions/x"}, {"type", "integer"}, {"definitions", {{"x", true}}}}),
               std::invalid_argument)
      << "draft-07 ignores siblings of $ref, so they are refused";
}

TEST(JsonSchemaRef, LoopWithoutProgressIsASchemaError) {
  json schema = json::parse(R"({
    "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"allOf": [{"$ref": "#/definitions/a"}]}},
    "$ref": "#/definitions/a"
  })");
  EXPECT_THROW(validate_json(1, schema), std::invalid_argument);
}

// --- unknown keywords

TEST(JsonSchemaKeywords, UnknownKeywordIsAnError) {
  EXPECT_THROW(validate_json(1, {{"multipleOf", 2}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"oneOf", {{{"type", "integer"}, {"exclusiveMaximum", 3}}}}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"properties", {{"a", {{"tpye", "integer"}}}}}}), std::invalid_argument)
      << "found even where the instance never reaches";
  EXPECT_THROW(validate_json(1, {{"definitions", {{"unused", {{"pattern", "^a"}}}}}}), std::invalid_argument);
}

TEST(JsonSchemaKeywords, ErrorNamesTheKeywordLocation) {
  try {
    validate_json(1, {{"definitions", {{"x", {{"properties", {{"y", {{"format", "date-time"}}}}}}}}}});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("#/definitions/x/properties/y/format: unknown keyword"), std::string::npos)
        << e.what();
  }
}

TEST(JsonSchemaKeywords, AnnotationsAreAllowed) {
  json schema = {{"$schema", "http://json-schema.org/draft-07/schema#"},
                 {"$id", "https://example.org/x.json"},
                 {"title", "t"},
                 {"description", "d"},
                 {"$comment", "c"},
                 {"examples", {1, 2}},
                 {"definitions", json::object()},
                 {"type", "integer"}};
  EXPECT_TRUE(valid(1, schema));
}

TEST(JsonSchemaKeywords, MalformedKeywordValuesAreErrors) {
  EXPECT_THROW(validate_json(1, {{"type", "int"}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"type", json::array()}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"enum", json::array()}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"required", "a"}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"minItems", -1}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"minimum", "0"}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"oneOf", json::array()}}), std::invalid_argument);
  EXPECT_THROW(validate_json(1, {{"items", {true, false}}}), std::invalid_argument) << "tuple form unsupported";
  EXPECT_THROW(validate_json(1, {{"properties", {{"a", 3}}}}), std::invalid_argument);
}

// --- load_schema

class LoadSchema : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("entropix_schema_test_" + std::to_string(::getpid()) + ".json");
    json schema = {{"$schema", "http://json-schema.org/draft-07/schema#"},
                   {"definitions",
                    {{"count", {{"type", "integer"}, {"minimum", 0}}},
                     {"pair", {{"type", "object"}, {"properties", {{"n", {{"$ref", "#/definitions/count"}}}}}}}}}};
    std::ofstream(path_) << schema.dump(2);
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

TEST_F(LoadSchema, WholeFile) {
  json root = load_schema(path_.string());
  EXPECT_TRUE(root.contains("definitions"));
  EXPECT_EQ(load_schema(path_.string(), "#"), root);
}

TEST_F(LoadSchema, SubSchemaKeepsItsReferencesWorking) {
  json pair = load_schema(path_.string(), "#/definitions/pair");
  EXPECT_TRUE(valid(json{{"n", 2}}, pair));
  EXPECT_EQ(only_error(json{{"n", -2}}, pair), "#/n: expected >= 0, got -2");
}

TEST_F(LoadSchema, BadPointerOrFile) {
  EXPECT_THROW(load_schema(path_.string(), "#/definitions/nope"), std::invalid_argument);
  EXPECT_THROW(load_schema(path_.string(), "definitions/pair"), std::invalid_argument);
  EXPECT_THROW(load_schema(path_.string() + ".missing"), std::runtime_error);
}

TEST_F(LoadSchema, UnparsableFile) {
  std::ofstream(path_) << "{ not json";
  EXPECT_THROW(load_schema(path_.string()), std::runtime_error);
}

#ifdef ENTROPIX_SOURCE_DIR
// The shipped schema must stay within the subset this validator understands.
TEST(LogSchema, UsesOnlySupportedKeywords) {
  const std::string path = std::string(ENTROPIX_SOURCE_DIR) + "/docs/log-schema.json";
  EXPECT_NO_THROW(validate_json(json::object(), load_schema(path)));
  for (const char* name : {"train", "eval", "entropy", "event", "metrics_record", "summary"}) {
    json sub = load_schema(path, std::string("#/definitions/") + name);
    EXPECT_NO_THROW(validate_json(json::object(), sub)) << name;
    EXPECT_FALSE(validate_json(json::object(), sub).empty()) << name << " should require fields";
  }
}
#endif

}  // namespace
