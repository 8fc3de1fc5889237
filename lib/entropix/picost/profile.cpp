#include "entropix/picost/profile.h"

#include <algorithm>
#include <filesystem>

#include "entropix/model/registry.h"
#include "entropix/picost/yaml_read.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
using picost_detail::join_names;
using picost_detail::YamlReader;

std::vector<std::string> nonlinear_op_kinds() {
  std::vector<std::string> kinds;
  for (const auto& [op, kind] : registry_nonlinear_ops()) kinds.push_back(op);
  return kinds;
}

namespace {

UnitCost read_unit_cost(YamlReader& r, const YAML::Node& node, const std::string& key) {
  UnitCost c;
  if (!r.check_map(node, key, {"bytes", "seconds"}, {"bytes", "seconds"})) return c;
  if (node["bytes"]) c.bytes = r.non_negative(node["bytes"], key + ".bytes");
  if (node["seconds"]) c.seconds = r.non_negative(node["seconds"], key + ".seconds");
  return c;
}

}  // namespace

CostProfile parse_profile(const std::string& yaml_text, const std::string& origin) {
  YamlReader r(origin);
  const YAML::Node root = r.load(yaml_text);
  CostProfile p;
  p.origin = origin;
  const std::vector<std::string> top = {"name", "protocol", "network", "source", "nonlinear", "linear"};
  if (!r.check_map(root, "", top, top)) r.raise_if_any();
  for (const auto& [key, field] : {std::pair{"name", &p.name}, std::pair{"protocol", &p.protocol},
                                   std::pair{"network", &p.network}, std::pair{"source", &p.source}})
    if (root[key]) *field = r.text(root[key], key);

  if (const YAML::Node nl = root["nonlinear"]) {
    p.nonlinear_at = r.at(nl);
    const auto kinds = nonlinear_op_kinds();
    if (r.check_map(nl, "nonlinear", kinds, {}))
      for (const auto& kv : nl) {
        const std::string op = kv.first.IsScalar() ? kv.first.Scalar() : "";
        if (std::find(kinds.begin(), kinds.end(), op) != kinds.end())
          p.nonlinear[op] = read_unit_cost(r, kv.second, "nonlinear." + op);
      }
  }
  if (const YAML::Node lin = root["linear"]) {
    const std::vector<std::string> keys = {"mac", "output", "lm_head_mac"};
    if (r.check_map(lin, "linear", keys, keys)) {
      if (lin["mac"]) p.mac = read_unit_cost(r, lin["mac"], "linear.mac");
      if (lin["output"]) p.output = read_unit_cost(r, lin["output"], "linear.output");
      if (lin["lm_head_mac"]) p.lm_head_mac = read_unit_cost(r, lin["lm_head_mac"], "linear.lm_head_mac");
    }
  }
  r.raise_if_any();
  return p;
}

CostProfile load_profile(const std::string& name_or_path) {
  if (const std::string* text = builtin_profile_text(name_or_path))
    return parse_profile(*text, name_or_path + " (built in)");
  namespace fs = std::filesystem;
  if (!fs::exists(name_or_path))
    throw InputError("--profile " + name_or_path + ": neither a built-in profile (" +
                     join_names(builtin_profile_names()) + ") nor an existing file");
  if (fs::is_directory(name_or_path)) throw InputError(name_or_path + ": is a directory, expected a profile YAML file");
  return parse_profile(read_file(name_or_path), name_or_path);
}

}  // namespace entropix
