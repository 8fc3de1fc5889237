// The layer registry: string-keyed components per kind ("norm", "activation", "attention", "ffn").
// A spec names components; the model asks the registry to build them. Adding a nonlinearity is one
// file with a factory plus one line in register_builtin_components() (registry.cpp).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "entropix/spec/spec.h"

namespace entropix {

// Every registry component maps a tensor to a tensor of the same shape (norms, activations,
// attention score normalisers) or (B, T, d) -> (B, T, d) (FFNs).
struct UnaryOpImpl : torch::nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};
using UnaryOp = std::shared_ptr<UnaryOpImpl>;

// What a factory knows about the place it builds for.
struct LayerContext {
  const ModelSpec& model;
  int64_t layer;  // block index, or -1 for model-level components (final norm)
  int64_t dim;    // feature size the component acts on
};

// Returns nullptr when the component is absent (norm "none", ffn "none"): the caller skips it.
using ComponentFactory = std::function<UnaryOp(const LayerContext&)>;

struct RegistryEntry {
  std::string kind;
  std::string name;
  std::string doc;  // one line, shown by `entropix list`
  // Name of the nonlinear operation this component performs once per application, for the
  // nonlinearity inventory ("layernorm", "gelu", "softmax", ...); empty when it adds none.
  std::string nonlinear_op;
  ComponentFactory make;
};

std::vector<std::string> registry_kinds();
std::vector<std::string> registry_names(const std::string& kind);
const std::vector<RegistryEntry>& registry_entries();
// Throws InputError listing the valid names when `name` is not registered for `kind`.
const RegistryEntry& registry_lookup(const std::string& kind, const std::string& name);

// Registration functions, one per component file.
void register_norms(std::vector<RegistryEntry>& out);
void register_activations(std::vector<RegistryEntry>& out);
void register_attention_scores(std::vector<RegistryEntry>& out);
void register_ffns(std::vector<RegistryEntry>& out);

}  // namespace entropix
