#include "entropix/model/registry.h"

#include "entropix/util/error.h"

namespace entropix {
namespace {

// Explicit registration (rather than static initialisers) so that a static library link can't
// silently drop a component file.
std::vector<RegistryEntry> register_builtin_components() {
  std::vector<RegistryEntry> all;
  register_norms(all);
  register_activations(all);
  register_attention_scores(all);
  register_ffns(all);
  register_reparams(all);
  register_ffn_scalings(all);
  return all;
}

}  // namespace

const std::vector<RegistryEntry>& registry_entries() {
  static const std::vector<RegistryEntry> entries = register_builtin_components();
  return entries;
}

std::vector<std::string> registry_kinds() {
  return {"norm", "activation", "attention", "ffn", "reparam", "ffn_scaling"};
}

std::vector<std::string> registry_names(const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& e : registry_entries())
    if (e.kind == kind) names.push_back(e.name);
  return names;
}

const RegistryEntry& registry_lookup(const std::string& kind, const std::string& name) {
  for (const auto& e : registry_entries())
    if (e.kind == kind && e.name == name) return e;
  std::string valid;
  for (const auto& n : registry_names(kind)) valid += (valid.empty() ? "" : ", ") + n;
  throw InputError("unknown " + kind + " '" + name + "'; valid: " + valid);
}

}  // namespace entropix
