// Internal to the spec module: the table of every spec key (type, checks, doc, how to store and
// render it) and the problem collector. spec.cpp walks YAML against this table.
#pragma once
#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "entropix/spec/component_catalog.h"
#include "entropix/spec/spec.h"

namespace entropix::spec_detail {

// Collects problems instead of throwing at the first, so users see them all at once.
class Problems {
 public:
  void add(std::string p) { list_.push_back(std::move(p)); }
  bool empty() const { return list_.empty(); }
  void raise_if_any() const;

 private:
  std::vector<std::string> list_;
};

enum class KeyType { Int, Float, String, Bool, StringList, Custom };

struct KeyDef {
  std::string path;
  KeyType type;
  std::string doc;
  // Valid values for string (and string-list element) keys; empty function = any string.
  // A function so that registry names stay current.
  std::function<std::vector<std::string>()> choices;
  // Range check on a numeric value: a problem description, or "" when fine.
  std::function<std::string(double)> check;
  // Stores a value that passed the type, range and choice checks.
  std::function<void(ExperimentSpec&, const YAML::Node&)> assign;
  // Custom keys (model.layers) parse and check the node themselves; `at` locates it for messages.
  std::function<void(ExperimentSpec&, const YAML::Node&, const std::string& at, Problems&)> parse;
  // The current value as YAML, for the resolved spec.
  std::function<YAML::Node(const ExperimentSpec&)> render;
};

// Every key one parse knows: the fixed keys below (model sizes, train, data, log, entropy_reg)
// and the options the catalogue's components declare, model.<component>.<key>, in
// documentation order. Choices of component keys (model.norm, ...) come from the catalogue.
class KeyTable {
 public:
  explicit KeyTable(const ComponentCatalog& catalog);
  const std::vector<KeyDef>& keys() const { return keys_; }
  const KeyDef* find(const std::string& path) const;
  // model, train, data, log, entropy_reg, and model.<component> for components with options.
  bool is_section(const std::string& path) const;
  // Every key and section, for "did you mean".
  std::vector<std::string> all_paths() const;
  // The key's current path when `path` is a component option's former name, else "".
  std::string renamed(const std::string& path) const;
  const ComponentCatalog& catalog() const { return catalog_; }

 private:
  const ComponentCatalog& catalog_;
  std::vector<KeyDef> keys_;
};

// The valid key (or section) closest to an unknown one, for "did you mean".
std::string closest_key(const std::string& path, const std::vector<std::string>& candidates);

std::string format_double(double v);
// The names of a list value: [qk, v] or the string "qk,v".
std::vector<std::string> list_items(const YAML::Node& node);
std::string join(const std::vector<std::string>& v, const std::string& sep);
// "origin:line:column" of a node (1-based), or origin alone when the node has no position.
std::string where(const std::string& origin, const YAML::Node& node);
// `at` without a trailing ":line:col", when it has one ("spec.yaml:3:5" -> "spec.yaml").
std::string file_of(const std::string& at);

// The keys of model.layers entries that name components, with their registry kinds.
struct LayerKey {
  std::string name;  // "ffn"
  std::string kind;  // registry kind, "ffn"
  std::string LayerSpec::*field;
};
const std::vector<LayerKey>& layer_keys();

}  // namespace entropix::spec_detail
