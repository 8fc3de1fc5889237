#include "entropix/spec/component_catalog.h"

namespace entropix {

std::vector<std::string> ComponentCatalog::names(const std::string& kind) const {
  std::vector<std::string> out;
  for (const auto& c : components)
    if (c.kind == kind) out.push_back(c.name);
  return out;
}

const ComponentInfo* ComponentCatalog::find(const std::string& kind, const std::string& name) const {
  for (const auto& c : components)
    if (c.kind == kind && c.name == name) return &c;
  return nullptr;
}

const ComponentInfo* ComponentCatalog::with_options(const std::string& name) const {
  for (const auto& c : components)
    if (c.name == name && !c.options.empty()) return &c;
  return nullptr;
}

}  // namespace entropix
