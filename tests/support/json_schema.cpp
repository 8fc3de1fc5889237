#include "support/json_schema.h"

#include <cmath>
#include <cstddef>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

namespace entropix::jsonschema {
namespace {

using json = nlohmann::json;
using Errors = std::vector<std::string>;
using RefTrail = std::vector<std::string>;

// Keywords that carry no validation meaning; "definitions" is still walked by the schema check.
const std::set<std::string> kAnnotations = {"$schema",     "$id",      "title",   "description",
                                            "definitions", "$comment", "examples"};
const std::set<std::string> kTypeNames = {"null", "boolean", "object", "array", "number", "string", "integer"};

// ---------------------------------------------------------------------------------------------
// Small helpers

// RFC 6901 escaping of one reference token.
std::string escape_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string child(const std::string& at, const std::string& key) { return at + "/" + escape_token(key); }

std::string child(const std::string& at, std::size_t index) { return at + "/" + std::to_string(index); }

// A value short enough to quote in a message (headwise tables would drown the report).
std::string brief(const json& value) {
  constexpr std::size_t kMax = 60;
  std::string text = value.dump();
  if (text.size() > kMax) text = text.substr(0, kMax - 3) + "...";
  return text;
}

bool is_integral(const json& value) {
  if (value.is_number_integer()) return true;  // signed and unsigned
  if (!value.is_number_float()) return false;
  double x = value.get<double>();
  return std::isfinite(x) && std::floor(x) == x;
}

// The JSON Schema type name of a value, "integer" for integral numbers.
std::string type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    default:
      return value.is_number() ? (is_integral(value) ? "integer" : "number") : "binary";
  }
}

// "integer 3", "string \"x\"", or just "null".
std::string described(const json& value) { return value.is_null() ? "null" : type_name(value) + " " + brief(value); }

// "1 item", "4 items".
std::string counted(const json& n, const std::string& noun) {
  return n.dump() + " " + noun + (n.get<double>() == 1 ? "" : "s");
}

bool has_type(const json& value, const std::string& type) {
  if (type == "integer") return is_integral(value);
  if (type == "number") return value.is_number();
  return type_name(value) == type;
}

// JSON Schema counts string length in characters, i.e. UTF-8 code points, not bytes.
std::size_t code_points(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++n;  // skip continuation bytes
  }
  return n;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// Resolves a local reference ("#", "#/definitions/x") against the root; nullptr when it can't.
// Fragments are not percent-decoded: keep definition names plain.
const json* resolve_ref(const json& root, const std::string& ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  try {
    return &root.at(json::json_pointer(ref.substr(1)));
  } catch (const json::exception&) {
    return nullptr;
  }
}

// ---------------------------------------------------------------------------------------------
// Schema check: runs over the whole schema before any instance is looked at, so a typo in a branch
// the instance never reaches is still caught.

class SchemaChecker {
 public:
  explicit SchemaChecker(const json& root) : root_(root) {}

  std::vector<std::string> run() {
    check(root_, "#");
    return problems_;
  }

 private:
  void problem(const std::string& at, const std::string& what) { problems_.push_back(at + ": " + what); }

  void check(const json& schema, const std::string& at) {
    if (schema.is_boolean()) return;
    if (!schema.is_object()) return problem(at, "a schema must be an object or a boolean");
    for (const auto& [key, value] : schema.items()) check_keyword(key, value, child(at, key));
    if (schema.contains("$ref")) check_ref_siblings(schema, at);
  }

  void check_keyword(const std::string& key, const json& value, const std::string& at) {
    if (key == "definitions" || key == "properties") return check_schema_map(value, at);
    if (key == "$schema" || key == "$id" || key == "$comment" || key == "title" || key == "description")
      return expect(value.is_string(), at, "must be a string");
    if (key == "examples") return expect(value.is_array(), at, "must be an array");
    if (key == "type") return check_type(value, at);
    if (key == "enum") return expect(value.is_array() && !value.empty(), at, "must be a non-empty array");
    if (key == "const") return;
    if (key == "required") return check_required(value, at);
    if (key == "additionalProperties" || key == "items") return check_subschema(key, value, at);
    if (key == "minItems" || key == "maxItems" || key == "minLength")
      return expect(value.is_number_unsigned() || (is_integral(value) && value.get<double>() >= 0), at,
                    "must be a non-negative integer");
    if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum")
      return expect(value.is_number(), at, "must be a number");
    if (key == "oneOf" || key == "anyOf" || key == "allOf") return check_schema_list(value, at);
    if (key == "$ref") return check_ref(value, at);
    problem(at, "unknown keyword (not supported by this validator)");
  }

  void expect(bool ok, const std::string& at, const std::string& what) {
    if (!ok) problem(at, what);
  }

  void check_schema_map(const json& value, const std::string& at) {
    if (!value.is_object()) return problem(at, "must be an object of schemas");
    for (const auto& [name, schema] : value.items()) check(schema, child(at, name));
  }

  void check_schema_list(const json& value, const std::string& at) {
    if (!value.is_array() || value.empty()) return problem(at, "must be a non-empty array of schemas");
    for (std::size_t i = 0; i < value.size(); ++i) check(value[i], child(at, i));
  }

  void check_subschema(const std::string& key, const json& value, const std::string& at) {
    if (key == "items" && value.is_array()) return problem(at, "the array (tuple) form of items is not supported");
    check(value, at);
  }

  void check_type(const json& value, const std::string& at) {
    if (value.is_string())
      return expect(kTypeNames.count(value.get<std::string>()) > 0, at, "unknown type " + brief(value));
    if (!value.is_array() || value.empty()) return problem(at, "must be a type name or a non-empty array of them");
    for (std::size_t i = 0; i < value.size(); ++i) {
      const json& name = value[i];
      expect(name.is_string() && kTypeNames.count(name.get<std::string>()) > 0, child(at, i),
             "unknown type " + brief(name));
    }
  }

  void check_required(const json& value, const std::string& at) {
    if (!value.is_array()) return problem(at, "must be an array of property names");
    for (std::size_t i = 0; i < value.size(); ++i) expect(value[i].is_string(), child(at, i), "must be a string");
  }

  void check_ref(const json& value, const std::string& at) {
    if (!value.is_string()) return problem(at, "must be a string");
    const std::string ref = value.get<std::string>();
    if (ref.empty() || ref[0] != '#') return problem(at, "only local references (\"#/...\") are supported");
    expect(resolve_ref(root_, ref) != nullptr, at, "reference " + brief(value) + " does not resolve");
  }

  // Draft-07 ignores every keyword next to $ref; refuse them so nobody relies on them by mistake.
  void check_ref_siblings(const json& schema, const std::string& at) {
    for (const auto& [key, value] : schema.items()) {
      if (key != "$ref" && kAnnotations.count(key) == 0)
        problem(child(at, key), "ignored next to $ref in draft-07; wrap both in allOf");
    }
  }

  const json& root_;
  std::vector<std::string> problems_;
};

// ---------------------------------------------------------------------------------------------
// Instance validation

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}

  // `trail` lists the $refs followed without moving to a child of the instance: seeing one twice
  // means the schema would loop forever.
  void validate(const json& instance, const json& schema, const std::string& at, const RefTrail& trail,
                Errors& out) const {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) out.push_back(at + ": no value is allowed here (schema false)");
      return;
    }
    Frame frame{instance, schema, at, trail, out};
    for (const auto& [key, value] : schema.items()) apply(frame, key, value);
  }

 private:
  struct Frame {
    const json& instance;
    const json& schema;
    const std::string& at;
    const RefTrail& trail;
    Errors& out;
    void fail(const std::string& what) const { out.push_back(at + ": " + what); }
  };
  using Keyword = void (Validator::*)(const Frame&, const json&) const;

  void apply(const Frame& f, const std::string& key, const json& value) const {
    static const std::map<std::string, Keyword> kKeywords = {
        {"type", &Validator::on_type},
        {"enum", &Validator::on_enum},
        {"const", &Validator::on_const},
        {"properties", &Validator::on_properties},
        {"required", &Validator::on_required},
        {"additionalProperties", &Validator::on_additional_properties},
        {"items", &Validator::on_items},
        {"minItems", &Validator::on_min_items},
        {"maxItems", &Validator::on_max_items},
        {"minimum", &Validator::on_minimum},
        {"maximum", &Validator::on_maximum},
        {"exclusiveMinimum", &Validator::on_exclusive_minimum},
        {"minLength", &Validator::on_min_length},
        {"allOf", &Validator::on_all_of},
        {"anyOf", &Validator::on_any_of},
        {"oneOf", &Validator::on_one_of},
        {"$ref", &Validator::on_ref},
    };
    auto it = kKeywords.find(key);
    if (it != kKeywords.end()) return (this->*(it->second))(f, value);
    // The up-front check makes this unreachable; fail loudly rather than pass silently.
    if (kAnnotations.count(key) == 0) throw std::invalid_argument("unsupported schema keyword \"" + key + "\"");
  }

  // --- any type

  void on_type(const Frame& f, const json& value) const {
    std::vector<std::string> allowed;
    if (value.is_string())
      allowed.push_back(value.get<std::string>());
    else
      for (const json& t : value) allowed.push_back(t.get<std::string>());
    for (const auto& t : allowed) {
      if (has_type(f.instance, t)) return;
    }
    f.fail("expected " + join(allowed, " or ") + ", got " + described(f.instance));
  }

  // nlohmann compares numbers by value, so 1 and 1.0 are equal, as JSON Schema wants.
  void on_enum(const Frame& f, const json& value) const {
    for (const json& option : value) {
      if (option == f.instance) return;
    }
    f.fail("expected one of " + brief(value) + ", got " + brief(f.instance));
  }

  void on_const(const Frame& f, const json& value) const {
    if (value != f.instance) f.fail("expected " + brief(value) + ", got " + brief(f.instance));
  }

  // --- objects

  void on_properties(const Frame& f, const json& value) const {
    if (!f.instance.is_object()) return;
    for (const auto& [name, schema] : value.items()) {
      auto it = f.instance.find(name);
      if (it != f.instance.end()) validate(*it, schema, child(f.at, name), {}, f.out);
    }
  }

  void on_required(const Frame& f, const json& value) const {
    if (!f.instance.is_object()) return;
    for (const json& name : value) {
      if (!f.instance.contains(name.get<std::string>())) f.fail("missing required property " + name.dump());
    }
  }

  void on_additional_properties(const Frame& f, const json& value) const {
    if (!f.instance.is_object()) return;
    const json* declared = f.schema.contains("properties") ? &f.schema.at("properties") : nullptr;
    for (const auto& [name, item] : f.instance.items()) {
      if (declared && declared->contains(name)) continue;
      validate(item, value, child(f.at, name), {}, f.out);
    }
  }

  // --- arrays

  void on_items(const Frame& f, const json& value) const {
    if (!f.instance.is_array()) return;
    for (std::size_t i = 0; i < f.instance.size(); ++i) validate(f.instance[i], value, child(f.at, i), {}, f.out);
  }

  void on_min_items(const Frame& f, const json& value) const {
    if (f.instance.is_array() && f.instance.size() < value.get<std::size_t>())
      f.fail("expected at least " + counted(value, "item") + ", got " + std::to_string(f.instance.size()));
  }

  void on_max_items(const Frame& f, const json& value) const {
    if (f.instance.is_array() && f.instance.size() > value.get<std::size_t>())
      f.fail("expected at most " + counted(value, "item") + ", got " + std::to_string(f.instance.size()));
  }

  // --- numbers (compared as doubles: fine for log values, inexact beyond 2^53)

  void on_minimum(const Frame& f, const json& value) const {
    if (f.instance.is_number() && f.instance.get<double>() < value.get<double>())
      f.fail("expected >= " + value.dump() + ", got " + f.instance.dump());
  }

  void on_maximum(const Frame& f, const json& value) const {
    if (f.instance.is_number() && f.instance.get<double>() > value.get<double>())
      f.fail("expected <= " + value.dump() + ", got " + f.instance.dump());
  }

  void on_exclusive_minimum(const Frame& f, const json& value) const {
    if (f.instance.is_number() && f.instance.get<double>() <= value.get<double>())
      f.fail("expected > " + value.dump() + ", got " + f.instance.dump());
  }

  // --- strings

  void on_min_length(const Frame& f, const json& value) const {
    if (!f.instance.is_string()) return;
    std::size_t length = code_points(f.instance.get<std::string>());
    if (length < value.get<std::size_t>())
      f.fail("expected at least " + counted(value, "character") + ", got " + std::to_string(length));
  }

  // --- combinators

  void on_all_of(const Frame& f, const json& value) const {
    for (const json& branch : value) validate(f.instance, branch, f.at, f.trail, f.out);
  }

  void on_any_of(const Frame& f, const json& value) const {
    std::vector<Errors> results = try_branches(f, value);
    for (const Errors& errors : results) {
      if (errors.empty()) return;
    }
    report_no_match(f, "anyOf", value, results);
  }

  void on_one_of(const Frame& f, const json& value) const {
    std::vector<Errors> results = try_branches(f, value);
    std::vector<std::string> matched;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].empty()) matched.push_back(std::to_string(i));
    }
    if (matched.size() == 1) return;
    if (matched.empty()) return report_no_match(f, "oneOf", value, results);
    f.fail("matches oneOf branches " + join(matched, ", ") + "; expected exactly one");
  }

  std::vector<Errors> try_branches(const Frame& f, const json& branches) const {
    std::vector<Errors> results(branches.size());
    for (std::size_t i = 0; i < branches.size(); ++i) validate(f.instance, branches[i], f.at, f.trail, results[i]);
    return results;
  }

  // Lists why the plausible branches failed. Records like metrics lines are tagged unions: each
  // branch pins a property (e.g. "kind") with const. When all branches pin the same property, its
  // value picks the branch to report on, and a value no branch accepts is reported on its own.
  void report_no_match(const Frame& f, const std::string& keyword, const json& branches,
                       const std::vector<Errors>& results) const {
    f.fail("matches none of the " + std::to_string(branches.size()) + " " + keyword + " branches");
    std::vector<Tag> tags;
    for (const json& branch : branches) tags.push_back(tag_of(branch));
    std::string name = shared_tag_name(tags);
    if (!name.empty() && f.instance.is_object()) {
      if (!f.instance.contains(name)) return f.fail("missing required property \"" + name + "\"");
      if (!any_tag_matches(tags, f.instance.at(name))) return report_bad_tag(f, name, tags);
    }
    bool all_contradict = true;
    for (const Tag& tag : tags) all_contradict = all_contradict && contradicts(f.instance, tag);
    for (std::size_t i = 0; i < branches.size(); ++i) {
      if (!all_contradict && contradicts(f.instance, tags[i])) continue;
      std::string label = " [" + keyword + "[" + std::to_string(i) + "]" + ref_label(branches[i]) + "]";
      for (const std::string& error : results[i]) f.out.push_back(error + label);
    }
  }

  // A property a branch requires and pins to one value; empty name when it has none.
  struct Tag {
    std::string name;
    json value;
  };

  Tag tag_of(const json& branch) const {
    const json& schema = follow_refs(branch);
    if (!schema.is_object() || !schema.contains("properties") || !schema.contains("required")) return {};
    for (const auto& [name, property] : schema.at("properties").items()) {
      const json& resolved = follow_refs(property);
      bool required = false;
      for (const json& r : schema.at("required")) required = required || r == name;
      if (required && resolved.is_object() && resolved.contains("const")) return {name, resolved.at("const")};
    }
    return {};
  }

  static std::string shared_tag_name(const std::vector<Tag>& tags) {
    for (const Tag& tag : tags) {
      if (tag.name.empty() || tag.name != tags.front().name) return "";
    }
    return tags.empty() ? "" : tags.front().name;
  }

  static bool any_tag_matches(const std::vector<Tag>& tags, const json& value) {
    for (const Tag& tag : tags) {
      if (tag.value == value) return true;
    }
    return false;
  }

  static bool contradicts(const json& instance, const Tag& tag) {
    return !tag.name.empty() && instance.is_object() && instance.contains(tag.name) &&
           instance.at(tag.name) != tag.value;
  }

  static void report_bad_tag(const Frame& f, const std::string& name, const std::vector<Tag>& tags) {
    json values = json::array();
    for (const Tag& tag : tags) values.push_back(tag.value);
    f.out.push_back(child(f.at, name) + ": expected one of " + brief(values) + ", got " + brief(f.instance.at(name)));
  }

  // Follows a chain of plain {"$ref": ...} schemas (bounded, in case of a loop).
  const json& follow_refs(const json& schema) const {
    const json* current = &schema;
    for (int hops = 0; hops < 16 && current->is_object() && current->contains("$ref"); ++hops) {
      const json* target = resolve_ref(root_, current->at("$ref").get<std::string>());
      if (!target) break;
      current = target;
    }
    return *current;
  }

  static std::string ref_label(const json& branch) {
    if (branch.is_object() && branch.contains("$ref")) return " " + branch.at("$ref").get<std::string>();
    return "";
  }

  // --- references

  void on_ref(const Frame& f, const json& value) const {
    const std::string ref = value.get<std::string>();
    const json* target = resolve_ref(root_, ref);
    if (!target) throw std::invalid_argument("schema reference \"" + ref + "\" does not resolve");
    for (const std::string& seen : f.trail) {
      if (seen == ref)
        throw std::invalid_argument("schema reference loop at " + f.at + ": " + join(f.trail, " -> ") + " -> " + ref);
    }
    RefTrail trail = f.trail;
    trail.push_back(ref);
    validate(f.instance, *target, f.at, trail, f.out);
  }

  const json& root_;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read schema " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::vector<std::string> validate_json(const nlohmann::json& instance, const nlohmann::json& schema) {
  std::vector<std::string> problems = SchemaChecker(schema).run();
  if (!problems.empty()) throw std::invalid_argument("invalid schema:\n" + join(problems, "\n"));
  Errors errors;
  Validator(schema).validate(instance, schema, "#", {}, errors);
  return errors;
}

nlohmann::json load_schema(const std::string& path, const std::string& pointer) {
  json root;
  try {
    root = json::parse(read_text(path));
  } catch (const json::parse_error& e) {
    throw std::runtime_error("cannot parse schema " + path + ": " + e.what());
  }
  if (pointer.empty() || pointer[0] != '#')
    throw std::invalid_argument("schema pointer must start with '#': \"" + pointer + "\"");
  if (pointer == "#") return root;
  const json* found = resolve_ref(root, pointer);
  if (!found) throw std::invalid_argument("schema pointer \"" + pointer + "\" names nothing in " + path);
  json sub = *found;
  if (!sub.is_object() || !root.contains("definitions")) return sub;
  // The sub-schema becomes the root of its own validation, so it needs the file's definitions.
  if (sub.contains("definitions"))
    throw std::invalid_argument("sub-schema \"" + pointer + "\" has its own definitions; load it from \"#\"");
  sub["definitions"] = root["definitions"];
  return sub;
}

}  // namespace entropix::jsonschema
