#include "entropix/spec/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "entropix/spec/slurm_options.h"
#include "entropix/spec/spec_input.h"
#include "entropix/spec/spec_keys.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
using namespace spec_detail;

LayerSpec ModelSpec::layer(int64_t l) const {
  LayerSpec resolved = blocks;
  for (const auto& o : layers) {
    if (l < o.first || l > o.last) continue;
    for (const auto& [name, value] : o.values)
      for (const auto& k : layer_keys())
        if (k.name == name) resolved.*(k.field) = value;
  }
  return resolved;
}

namespace {

std::string type_name(const KeyDef& k) {
  switch (k.type) {
    case KeyType::Int: return "an integer";
    case KeyType::Float: return "a number";
    case KeyType::Bool: return "true or false";
    case KeyType::String: return "a string";
    case KeyType::StringList: return "a list of names";
    case KeyType::Custom: return "a list";
  }
  return "?";
}

std::string node_kind(const YAML::Node& n) {
  return n.IsMap() ? "a mapping" : n.IsSequence() ? "a list" : "a null value";
}

// Checks a value against its key's choices; returns false after reporting a problem.
bool check_choice(const KeyDef& key, const std::string& value, const std::string& prefix, Problems& problems) {
  if (!key.choices) return true;
  const auto valid = key.choices();
  if (std::find(valid.begin(), valid.end(), value) != valid.end()) return true;
  problems.add(prefix + "unknown value '" + value + "'; valid: " + join(valid, ", "));
  return false;
}

// Type-, range- and choice-checks one value and stores it. `at` is "file:line:col" or "--set k=v".
void apply_value(ExperimentSpec& spec, const KeyDef& key, const YAML::Node& value, const std::string& at,
                 Problems& problems) {
  if (key.parse) {
    key.parse(spec, value, at, problems);
    return;
  }
  const std::string prefix = at + ": " + key.path + ": ";
  if (key.type == KeyType::StringList) {
    bool ok = value.IsScalar() || value.IsSequence();
    if (value.IsSequence())
      for (const auto& item : value) ok = ok && item.IsScalar();
    if (!ok) {
      problems.add(prefix + "expected " + type_name(key) + ", got " + node_kind(value));
      return;
    }
    for (const auto& item : list_items(value))
      if (!check_choice(key, item, prefix, problems)) return;
    key.assign(spec, value);
    return;
  }
  if (!value.IsScalar()) {
    problems.add(prefix + "expected " + type_name(key) + ", got " + node_kind(value));
    return;
  }
  const std::string text = value.Scalar();
  try {
    double numeric = 0;
    if (key.type == KeyType::Int) numeric = static_cast<double>(value.as<int64_t>());
    if (key.type == KeyType::Float) {
      numeric = value.as<double>();
      if (!std::isfinite(numeric)) throw YAML::BadConversion(value.Mark());
    }
    if (key.type == KeyType::Bool) (void)value.as<bool>();
    if (key.check) {
      const std::string bad = key.check(numeric);
      if (!bad.empty()) {
        problems.add(prefix + bad);
        return;
      }
    }
    if (!check_choice(key, text, prefix, problems)) return;
    key.assign(spec, value);
  } catch (const YAML::BadConversion&) {
    problems.add(prefix + "expected " + type_name(key) + ", got '" + text + "'");
  }
}

// Walks a YAML mapping, applying known keys and reporting unknown ones.
// "unknown key" with the nearest valid one, or where a renamed key went.
std::string unknown_key(const KeyTable& table, const std::string& path) {
  const std::string now = table.renamed(path);
  if (!now.empty()) return path + ": renamed to " + now;
  return path + ": unknown key (did you mean " + closest_key(path, table.all_paths()) + "?)";
}

void walk(const KeyTable& table, ExperimentSpec& spec, const YAML::Node& map, const std::string& prefix,
          const std::string& origin, Problems& problems) {
  for (const auto& item : map) {
    const std::string name = item.first.Scalar();
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    const YAML::Node& value = item.second;
    // `sweep` and `slurm` describe a family of runs, not one: `entropix sweep` reads them
    // (lib/entropix/sweep/sweep_plan.h); a single run ignores them. The slurm keys are checked
    // here too, so that validate reports them.
    if (prefix.empty() && name == "sweep") continue;
    if (prefix.empty() && name == "slurm") {
      (void)read_slurm(value, origin, problems);
      continue;
    }
    if (table.is_section(path)) {
      if (value.IsMap()) walk(table, spec, value, path, origin, problems);
      else if (!value.IsNull()) problems.add(where(origin, value) + ": " + path + ": expected a mapping of keys");
      continue;
    }
    if (const KeyDef* key = table.find(path)) {
      apply_value(spec, *key, value, where(origin, value), problems);
      continue;
    }
    problems.add(where(origin, item.first) + ": " + unknown_key(table, path));
  }
}

// The first key of a section, for messages.
std::string example_key(const KeyTable& table, const std::string& section) {
  for (const auto& k : table.keys())
    if (k.path.rfind(section + ".", 0) == 0) return k.path;
  return section + ".<key>";
}

void apply_override(const KeyTable& table, ExperimentSpec& spec, const std::string& assignment, Problems& problems) {
  const std::string at = "--set " + assignment;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    problems.add(at + ": expected key=value, e.g. --set model.n_layer=6");
    return;
  }
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  if (path.rfind("slurm.", 0) == 0) {  // checked as the file's slurm section; used by `sweep --slurm`
    SlurmOptions ignored;
    apply_slurm_override(ignored, assignment, problems);
    return;
  }
  if (path == "sweep") {
    problems.add(at + ": sweep is a section, not a key; a sweep's axes are given in the file or with sweep --grid");
    return;
  }
  if (table.is_section(path) || path == "slurm") {
    problems.add(at + ": " + path + " is a section, not a key; set one of its keys, e.g. --set " +
                 (path == "slurm" ? std::string("slurm.partition=gpu") : example_key(table, path) + "=..."));
    return;
  }
  const KeyDef* key = table.find(path);
  if (!key) {
    problems.add(at + ": " + unknown_key(table, path));
    return;
  }
  YAML::Node value;
  try {
    value = text.empty() ? YAML::Node(std::string()) : YAML::Load(text);
  } catch (const YAML::Exception& e) {
    problems.add(at + ": " + path + ": cannot parse value: " + e.msg);
    return;
  }
  apply_value(spec, *key, value, at, problems);
}

// Checks that involve several keys, and defaults computed from other keys.
void resolve_and_cross_check(const ComponentCatalog& catalog, ExperimentSpec& spec, const std::string& origin,
                             bool warmup_given, Problems& problems) {
  const auto& m = spec.model;
  if (m.n_head > 0 && m.n_embd % m.n_head != 0)
    problems.add(origin + ": model.n_embd (" + std::to_string(m.n_embd) + ") must be divisible by model.n_head (" +
                 std::to_string(m.n_head) + ")");
  if (m.vocab_size > 65536)
    problems.add(origin + ": model.vocab_size: must be <= 65536 (tokens are stored as uint16), got " +
                 std::to_string(m.vocab_size));
  if (spec.data.tokenizer == "byte" && spec.data.format == "entropix" && m.vocab_size < 256)
    problems.add(origin + ": model.vocab_size: the byte tokenizer needs at least 256, got " + std::to_string(m.vocab_size));
  for (size_t i = 0; i < m.layers.size(); ++i)
    if (m.layers[i].last >= m.n_layer)
      problems.add(origin + ": model.layers[" + std::to_string(i) + "].range: layers " +
                   std::to_string(m.layers[i].first) + "-" + std::to_string(m.layers[i].last) +
                   " reach outside the model (model.n_layer is " + std::to_string(m.n_layer) + ": valid layers 0-" +
                   std::to_string(m.n_layer - 1) + ")");
  // Requirements a component makes on its layer (e.g. the fused FFN needs activation identity),
  // reported once per component and key.
  std::vector<std::string> reported;
  for (int64_t l = 0; l < m.n_layer; ++l) {
    const LayerSpec ls = m.layer(l);
    for (const auto& k : layer_keys()) {
      const ComponentInfo* c = catalog.find(k.kind, ls.*(k.field));
      if (!c || !c->check_layer) continue;
      const std::string bad = c->check_layer(ls);
      if (bad.empty() || std::find(reported.begin(), reported.end(), c->name + bad) != reported.end()) continue;
      reported.push_back(c->name + bad);
      problems.add(origin + ": model." + k.name + ": " + c->name + " " + bad + " (layer " + std::to_string(l) + ")");
    }
  }
  // Every component's options, defaults filled, so the resolved spec shows them all.
  for (const auto& c : catalog.components)
    for (const auto& o : c.options) spec.model.options.emplace(c.name + "." + o.key, o.default_value);
  if (spec.data.source == "files") {
    if (spec.data.train.empty()) problems.add(origin + ": data.train: required when data.source is files");
    if (spec.data.val.empty()) problems.add(origin + ": data.val: required when data.source is files");
  }
  if (spec.data.source == "pystdlib" && spec.data.format != "entropix")
    problems.add(origin + ": data.format: the pystdlib corpus is in entropix format; " + spec.data.format +
                 " needs data.source: files");
  if (!warmup_given) spec.train.warmup = static_cast<int64_t>(std::llround(0.05 * spec.train.steps));
}

bool mentions_warmup(const YAML::Node& root, const std::vector<std::string>& overrides) {
  if (root.IsMap() && root["train"] && root["train"].IsMap() && root["train"]["warmup"]) return true;
  for (const auto& o : overrides)
    if (o.rfind("train.warmup=", 0) == 0) return true;
  return false;
}

ExperimentSpec build(const YAML::Node& root, const std::string& origin, const std::vector<std::string>& overrides,
                     const ComponentCatalog& catalog) {
  const KeyTable table(catalog);
  ExperimentSpec spec;
  Problems problems;
  if (root.IsMap()) walk(table, spec, root, "", origin, problems);
  else if (!root.IsNull()) problems.add(where(origin, root) + ": expected a mapping of keys at the top level");
  for (const auto& o : overrides) apply_override(table, spec, o, problems);
  resolve_and_cross_check(catalog, spec, origin, mentions_warmup(root, overrides), problems);
  problems.raise_if_any();
  return spec;
}

}  // namespace

ExperimentSpec parse_spec(const std::string& yaml_text, const std::string& origin,
                          const std::vector<std::string>& overrides, const ComponentCatalog& catalog) {
  return build(parse_spec_yaml(yaml_text, origin), origin, overrides, catalog);
}

bool is_spec_key(const std::string& path, const ComponentCatalog& catalog, std::string* closest) {
  const KeyTable table(catalog);
  if (table.find(path)) return true;
  if (closest) {
    const std::string now = table.renamed(path);
    *closest = now.empty() ? closest_key(path, table.all_paths()) : now;
  }
  return false;
}

ExperimentSpec load_spec(const std::string& path, const std::vector<std::string>& overrides,
                         const ComponentCatalog& catalog) {
  namespace fs = std::filesystem;
  const YAML::Node root = parse_spec_yaml(read_spec_text(path), path);
  ExperimentSpec spec = build(root, path, overrides, catalog);
  // The name defaults to the file's stem unless the file or a --set gives one.
  std::string name_at;
  if (root.IsMap() && root["name"]) name_at = spec_detail::where(path, root["name"]);
  for (const auto& o : overrides)
    if (o.rfind("name=", 0) == 0) name_at = "--set " + o;
  if (name_at.empty()) {
    spec.name = fs::path(path).stem().string();
    name_at = path;
  }
  const std::string bad_name = run_name_problem(spec.name);
  if (!bad_name.empty()) throw InputError(name_at + ": name: " + bad_name);
  spec.source_file = path;
  return spec;
}

namespace {

// The components' options as model.<component>: {<key>: value} maps, components in name order.
void emit_options(YAML::Emitter& out, const std::map<std::string, std::string>& options) {
  std::string open;
  for (const auto& [id, value] : options) {
    const auto dot = id.find('.');
    const std::string component = id.substr(0, dot), key = id.substr(dot + 1);
    if (component != open) {
      if (!open.empty()) out << YAML::EndMap;
      out << YAML::Key << component << YAML::Value << YAML::BeginMap;
      open = component;
    }
    out << YAML::Key << key << YAML::Value << value;
  }
  if (!open.empty()) out << YAML::EndMap;
}

}  // namespace

std::string spec_to_yaml(const ExperimentSpec& spec) {
  // The fixed keys' rendering needs no catalogue; the options come from the spec itself.
  static const ComponentCatalog no_components;
  const KeyTable table(no_components);
  YAML::Emitter out;
  out << YAML::BeginMap;
  // A key a.b.c is written as a: {b: {c: value}}; consecutive keys share their open maps.
  std::string open_section, open_sub;
  auto close_sub = [&] {
    if (!open_sub.empty()) out << YAML::EndMap;
    open_sub.clear();
  };
  auto close_section = [&] {
    close_sub();
    if (open_section == "model") emit_options(out, spec.model.options);
    if (!open_section.empty()) out << YAML::EndMap;
  };
  for (const auto& key : table.keys()) {
    const auto dot = key.path.find('.');
    const std::string section = dot == std::string::npos ? "" : key.path.substr(0, dot);
    std::string leaf = dot == std::string::npos ? key.path : key.path.substr(dot + 1);
    if (section != open_section) {
      close_section();
      if (!section.empty()) out << YAML::Key << section << YAML::Value << YAML::BeginMap;
      open_section = section;
    }
    const auto sub_dot = leaf.find('.');
    const std::string sub = sub_dot == std::string::npos ? "" : leaf.substr(0, sub_dot);
    if (sub != open_sub) {
      close_sub();
      if (!sub.empty()) out << YAML::Key << sub << YAML::Value << YAML::BeginMap;
      open_sub = sub;
    }
    if (!sub.empty()) leaf = leaf.substr(sub_dot + 1);
    out << YAML::Key << leaf << YAML::Value;
    const YAML::Node value = key.render(spec);
    // Strings stay quoted so that values like "1" or "yes" read back as strings.
    if (key.type == KeyType::String) out << YAML::DoubleQuoted << value.Scalar();
    else out << value;
  }
  close_section();
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<SpecKeyInfo> spec_key_reference(const ComponentCatalog& catalog) {
  const ExperimentSpec defaults;
  const KeyTable table(catalog);
  std::vector<SpecKeyInfo> out;
  for (const auto& key : table.keys()) {
    SpecKeyInfo info;
    info.path = key.path;
    info.doc = key.doc;
    YAML::Emitter e;
    e << key.render(defaults);
    info.default_value = e.c_str();
    if (key.choices) info.type = (key.type == KeyType::StringList ? "list of " : "one of ") + join(key.choices(), "|");
    else if (key.type == KeyType::Custom) info.type = "list";
    else info.type = key.type == KeyType::Int ? "int" : key.type == KeyType::Float ? "float" : key.type == KeyType::Bool ? "bool" : "string";
    out.push_back(info);
  }
  return out;
}

}  // namespace entropix
