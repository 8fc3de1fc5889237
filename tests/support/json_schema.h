// A small JSON Schema validator (a subset of draft-07) for checking real log output
// against docs/log-schema.json in tests.
//
// Supported keywords:
//   type (string or array; "integer" = a number with an integral value, "number" accepts integers),
//   enum, const, properties, required, additionalProperties (bool or schema), items (one schema),
//   minItems, maxItems, minimum, maximum, exclusiveMinimum (a number, as in draft-07), minLength
//   (in code points), oneOf, anyOf, allOf, and $ref to a local pointer ("#", "#/definitions/x"),
//   resolved against the schema passed to validate_json, recursively. Boolean schemas (true/false)
//   are accepted wherever a schema is.
// Ignored annotations: $schema, $id, title, description, definitions (its schemas are still
//   checked), $comment, examples.
// Anything else in a schema is an error, so a schema can't silently rely on an unsupported keyword.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace entropix::jsonschema {

// Returns every violation as "<json pointer>: <what is wrong>", empty when valid. Pointers are in
// URI-fragment form: "#" is the instance itself, "#/headwise/0/3" an element inside it.
// When no oneOf/anyOf branch matches, the violations of the plausible branches follow, suffixed
// " [oneOf[i] #/definitions/x]"; branches whose const-pinned required property (e.g. "kind")
// contradicts the instance are left out.
// Throws std::invalid_argument when the schema itself is unusable (unknown keyword, malformed
// keyword value, $ref that is not local or does not resolve, $ref loop); the whole schema is
// checked up front, including definitions and branches the instance never reaches.
std::vector<std::string> validate_json(const nlohmann::json& instance, const nlohmann::json& schema);

// Loads a schema file and returns the sub-schema at a JSON pointer, e.g. "#/definitions/summary".
// A sub-schema gets a copy of the file's top-level "definitions", so its "#/definitions/..."
// references keep resolving when it is used on its own as the root.
// Throws std::runtime_error when the file can't be read or parsed, std::invalid_argument when the
// pointer is malformed or names nothing.
nlohmann::json load_schema(const std::string& path, const std::string& pointer = "#");

}  // namespace entropix::jsonschema
