#include "entropix/picost/yaml_read.h"

#include <algorithm>
#include <cmath>

#include "entropix/util/error.h"

namespace entropix::picost_detail {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

YAML::Node YamlReader::load(const std::string& text) const {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(origin_ + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                     ": malformed YAML: " + e.msg);
  }
}

std::string YamlReader::at(const YAML::Node& node) const {
  const YAML::Mark m = node.Mark();
  if (m.line < 0) return origin_;
  return origin_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

void YamlReader::problem(const YAML::Node& node, const std::string& key, const std::string& what) {
  problems_.push_back(at(node) + ": " + key + ": " + what);
}

bool YamlReader::check_map(const YAML::Node& node, const std::string& key, const std::vector<std::string>& allowed,
                           const std::vector<std::string>& required) {
  if (!node.IsMap()) {
    problem(node, key.empty() ? "top level" : key, "expected a mapping with keys " + join_names(allowed));
    return false;
  }
  for (const auto& kv : node) {
    const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "(a non-scalar key)";
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      problem(kv.first, key.empty() ? name : key + "." + name, "unknown key; valid: " + join_names(allowed));
  }
  for (const auto& name : required)
    if (!node[name]) problem(node, key.empty() ? name : key + "." + name, "missing; required keys: " + join_names(required));
  return true;
}

double YamlReader::non_negative(const YAML::Node& node, const std::string& key) {
  double value = -1;
  if (node.IsScalar()) {
    try {
      value = node.as<double>();
    } catch (const YAML::Exception&) {
      problem(node, key, "expected a number >= 0, got '" + node.Scalar() + "'");
      return 0;
    }
  } else {
    problem(node, key, "expected a number >= 0");
    return 0;
  }
  if (!std::isfinite(value) || value < 0) {
    problem(node, key, "expected a finite number >= 0, got " + node.Scalar());
    return 0;
  }
  return value;
}

std::string YamlReader::text(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) {
    problem(node, key, "expected a string");
    return "";
  }
  return node.Scalar();
}

void YamlReader::raise_if_any() const {
  if (!problems_.empty()) throw InputError(problems_);
}

}  // namespace entropix::picost_detail
