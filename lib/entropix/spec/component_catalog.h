// What the spec needs to know about the model's components, as plain data: the names registered
// for each kind, the spec keys each component declares (model.<component>.<key>) and the checks a
// component makes on the layer it is placed in. The model's registry fills one from its
// descriptors (model/registry.h, component_catalog()); the spec module never includes the model.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace entropix {

struct LayerSpec;

enum class OptionType { Int, Float, String, Bool };

// One spec key of a component: model.<component>.<key>.
struct ComponentOption {
  std::string key;            // "init"
  OptionType type = OptionType::Float;
  std::string default_value;  // as written in YAML: "0.01", "layer", "true"
  std::string doc;
  std::vector<std::string> choices;          // String options: the valid values (empty: any)
  std::function<std::string(double)> check;  // numeric options: a problem, or "" when fine
  std::string formerly;                      // the key's name before it moved here, for a helpful error
};

struct ComponentInfo {
  std::string kind;  // "activation"
  std::string name;  // "gelu"
  std::string doc;   // one line
  std::vector<ComponentOption> options;
  // A problem with the layer this component sits in, "" when fine (e.g. the fused FFN needs
  // activation identity). Empty function: no requirement.
  std::function<std::string(const LayerSpec&)> check_layer;
};

struct ComponentCatalog {
  std::vector<std::string> kinds;
  std::vector<ComponentInfo> components;

  std::vector<std::string> names(const std::string& kind) const;
  const ComponentInfo* find(const std::string& kind, const std::string& name) const;
  // The component whose options live under model.<name> (names with options are unique across kinds).
  const ComponentInfo* with_options(const std::string& name) const;
};

}  // namespace entropix
