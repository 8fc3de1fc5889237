// The layer registry: string-keyed components per kind. A spec names components; the model asks
// the registry to build them. Adding a nonlinearity is one file with a factory plus one line in
// register_builtin_components() (registry.cpp).
//
// Kinds and the interface their modules implement:
//   norm         UnaryOpImpl      (..., d) -> (..., d)
//   activation   UnaryOpImpl      elementwise, inside the FFN
//   attention    UnaryOpImpl      masked, scaled logits (B, H, T, T) -> probabilities (B, H, T, T)
//   ffn          UnaryOpImpl      (B, T, d) -> (B, T, d)
//   reparam      LinearOpImpl     a linear layer with its weight reparameterised (or plain)
//   ffn_scaling  ResidualMixImpl  (residual x, FFN output f) -> next residual stream
// A factory may return nullptr where the component is absent (norm "none", activation
// "identity", ffn "none", ffn_scaling "none"); the caller then skips it.
//
// Learned scalars that the logs report are found by parameter name: a component that owns one
// registers it under one of these names, shaped as noted (see GPTImpl::learned_parameters):
//   "log_temperature" (H) or (H, T): attention temperature t = exp(log_temperature)
//   "slope" (1): learnable leaky-ReLU slope
//   "alpha", "beta" (1): FFN scaling x_out = beta * x + FFN(x) / alpha
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "entropix/spec/spec.h"

namespace entropix {

struct UnaryOpImpl : torch::nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};
using UnaryOp = std::shared_ptr<UnaryOpImpl>;

// Implemented by "attention" components that compute softmax(logits / t): the online-entropy
// attention kernel (train.attention_kernel) folds 1/t into the queries instead of calling forward.
struct ScaledSoftmax {
  virtual ~ScaledSoftmax() = default;
  // t for queries 0..T-1, broadcastable to (B, H, T, 1); undefined when t = 1.
  virtual torch::Tensor temperature(int64_t T) const = 0;
};

struct LinearOpImpl : torch::nn::Module {
  // x (..., in_features) -> (..., out_features)
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // The effective weight (out_features, in_features) used by forward, differentiable.
  virtual torch::Tensor weight() = 0;
};
using LinearOp = std::shared_ptr<LinearOpImpl>;

struct ResidualMixImpl : torch::nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& residual, const torch::Tensor& update) = 0;
};
using ResidualMix = std::shared_ptr<ResidualMixImpl>;

// Parameters shared by components of several layers; owned (registered) by the model so that
// they are counted and optimised once.
struct SharedParameters {
  torch::Tensor global_slope;  // (1), learnable_leaky_relu with learnable_slope_scope: global
};

// What a factory knows about the place it builds for.
struct LayerContext {
  const ModelSpec& model;
  const LayerSpec& layer;  // this layer's resolved components (model-level: the layer-0 defaults)
  int64_t index;           // block index, or -1 for model-level components (final norm)
  int64_t dim;             // feature size the component acts on
  // Kind "reparam" only: the linear layer to build.
  int64_t in_features = 0;
  int64_t out_features = 0;
  bool bias = false;
  SharedParameters* shared = nullptr;
};

using ComponentFactory = std::function<std::shared_ptr<torch::nn::Module>(const LayerContext&)>;

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

// Builds a component and checks it implements the interface of its kind; nullptr when absent.
template <typename Interface>
std::shared_ptr<Interface> build_component(const std::string& kind, const std::string& name,
                                           const LayerContext& ctx) {
  std::shared_ptr<torch::nn::Module> m = registry_lookup(kind, name).make(ctx);
  if (!m) return nullptr;
  auto typed = std::dynamic_pointer_cast<Interface>(m);
  TORCH_CHECK(typed, "registry entry ", kind, "/", name, " built a module of the wrong interface");
  return typed;
}

// Registration functions, one per component file.
void register_norms(std::vector<RegistryEntry>& out);
void register_activations(std::vector<RegistryEntry>& out);
void register_attention_scores(std::vector<RegistryEntry>& out);
void register_ffns(std::vector<RegistryEntry>& out);
void register_reparams(std::vector<RegistryEntry>& out);
void register_ffn_scalings(std::vector<RegistryEntry>& out);

}  // namespace entropix
