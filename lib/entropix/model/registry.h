// The layer registry: one descriptor per component, string-keyed per kind. A spec names
// components; the model asks the registry to build them; describe, cost, the optimizer's groups,
// the initialisation, the logs and the report read what the descriptors declare, never a
// component's or a parameter's name. Adding a component is one file that returns its descriptor
// plus one line in register_builtin_components() (registry.cpp); docs/architecture.md walks through it.
//
// Kinds and the interface their modules implement:
//   norm         UnaryOpImpl      (..., d) -> (..., d)
//   activation   UnaryOpImpl      elementwise, inside the FFN
//   attention    UnaryOpImpl      masked, scaled logits (B, H, T, T) -> probabilities (B, H, T, T)
//   ffn          UnaryOpImpl      (B, T, d) -> (B, T, d)
//   reparam      LinearOpImpl     a linear layer with its weight reparameterised (or plain)
//   ffn_scaling  ResidualMixImpl  (residual x, FFN output f) -> next residual stream
// A descriptor with builds_nothing set returns nullptr from its factory (norm "none", activation
// "identity", ffn "none", ffn_scaling "none"); the caller then skips it.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "entropix/spec/component_catalog.h"
#include "entropix/spec/spec.h"

namespace entropix {

// What a parameter is. The initialisation (GPTImpl) and the optimizer's weight-decay groups
// (train/optimizer.cpp) each map roles to what they do, in one place.
enum class ParamRole {
  Matrix,            // weight matrix of a linear map: N(0, 0.02), or the residual std (see residual_output)
  Embedding,         // token or position embedding: N(0, 0.02)
  Bias,              // additive bias, of a linear map or a norm: 0
  Gain,              // a normalisation's multiplicative gain: as the component set it (1)
  Scalar,            // a learned scalar of a component (slope, FFN scale): as the component set it
  Temperature,       // a learned attention temperature: as the component set it; never decayed
  Threshold,         // the entropy regulariser's learned thresholds: as set; never decayed
  ReparamDirection,  // a reparameterised weight's direction (weight norm's v): drawn like a Matrix
  ReparamMagnitude,  // its per-row magnitude (weight norm's g): the row norms of `pair` after the draw
};
const char* role_name(ParamRole role);

struct RoledParameter {
  torch::Tensor tensor;
  ParamRole role;
  bool residual_output = false;  // Matrix / ReparamDirection writing into the residual stream
  torch::Tensor pair;            // ReparamMagnitude: the direction whose row norms it starts at
};

// Base of every registry module (and of the model and the regulariser): parameters are
// registered together with their role, so nothing downstream has to guess from names.
struct ComponentModule : torch::nn::Module {
  torch::Tensor add_parameter(const std::string& name, torch::Tensor value, ParamRole role,
                              bool residual_output = false, torch::Tensor pair = {});
  // A role for a parameter registered by a child module that is not a ComponentModule
  // (torch::nn::LayerNorm's weight and bias).
  void declare_role(const torch::Tensor& parameter, ParamRole role);
  const std::vector<RoledParameter>& roles() const { return roles_; }

  // Learned values for the logs (docs/logs.md), as declared in the descriptor's `learned`.
  // model_wide: one value for the whole model, logged as a one-entry list.
  struct LearnedValue {
    std::string name;
    nlohmann::json value;
    bool model_wide = false;
  };
  virtual std::vector<LearnedValue> learned_values() const { return {}; }

 private:
  std::vector<RoledParameter> roles_;
};

// A tensor's values as nested JSON arrays (a 0-d tensor as a number), for learned values.
nlohmann::json to_json_nested(const torch::Tensor& t);

// Every parameter of `root` with its role; throws std::logic_error naming a parameter that no
// module declared (a component that forgot a role must not be silently decayed or initialised).
std::vector<RoledParameter> parameter_roles(const torch::nn::Module& root);

struct UnaryOpImpl : ComponentModule {
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};
using UnaryOp = std::shared_ptr<UnaryOpImpl>;

// Implemented by "attention" components that compute softmax(logits / t) (capability
// scaled_softmax): the online-entropy attention kernel folds 1/t into the queries instead of
// calling forward.
struct ScaledSoftmax {
  virtual ~ScaledSoftmax() = default;
  // t for queries 0..T-1, broadcastable to (B, H, T, 1); undefined when t = 1.
  virtual torch::Tensor temperature(int64_t T) const = 0;
};

struct LinearOpImpl : ComponentModule {
  // x (..., in_features) -> (..., out_features)
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // The effective weight (out_features, in_features) used by forward, differentiable.
  virtual torch::Tensor weight() = 0;
};
using LinearOp = std::shared_ptr<LinearOpImpl>;

struct ResidualMixImpl : ComponentModule {
  virtual torch::Tensor forward(const torch::Tensor& residual, const torch::Tensor& update) = 0;
};
using ResidualMix = std::shared_ptr<ResidualMixImpl>;

// Parameters shared by the components of several layers (a global learnable slope): created on
// first request and registered once, on the model, so they are counted and optimised once.
class SharedParameters {
 public:
  explicit SharedParameters(ComponentModule* owner = nullptr) : owner_(owner) {}
  torch::Tensor get(const std::string& name, const std::function<torch::Tensor()>& make, ParamRole role);

 private:
  ComponentModule* owner_;
  std::vector<std::pair<std::string, torch::Tensor>> made_;
};

// What a factory (or a cost function) knows about the place it builds for.
struct LayerContext {
  const ModelSpec& model;
  const LayerSpec& layer;  // this layer's resolved components (model-level: the layer-0 defaults)
  int64_t index;           // block index, or -1 for model-level components (final norm)
  int64_t dim;             // feature size the component acts on
  // Kind "reparam" only: the linear layer to build.
  int64_t in_features = 0;
  int64_t out_features = 0;
  bool bias = false;
  bool residual_output = false;  // its output is added to the residual stream (GPT-2's scaled init)
  SharedParameters* shared = nullptr;
};

// A component option's value in this context: the spec's model.<component>.<key>, else the
// default the component's descriptor declares.
double option_number(const LayerContext& ctx, const std::string& component, const std::string& key);
std::string option_text(const LayerContext& ctx, const std::string& component, const std::string& key);

// A nonlinear operation a component performs: `count` applications on tensors of `shape`.
struct NonlinearUse {
  std::string op;  // "softmax", "layernorm", "gelu", ... (the PI cost profile's keys)
  int64_t count = 1;
  std::vector<int64_t> shape;
};

// The work of one application of a component on one forward pass over T = model.context tokens.
struct ComponentCost {
  std::vector<NonlinearUse> nonlinear;
  double macs = 0;     // multiply-accumulates of its linear maps (FLOPs = 2 x MACs)
  double outputs = 0;  // elements its linear maps write (each a fixed-point value to rescale in PI)
  ComponentCost& operator+=(const ComponentCost& other);
};

struct Capabilities {
  bool builds_nothing = false;   // the factory returns nullptr: the sub-block or op is absent
  bool fused_attention = false;  // attention: LibTorch's fused SDPA computes the same function
  bool scaled_softmax = false;   // attention: implements ScaledSoftmax (online-entropy kernel)
  bool uses_activation = false;  // ffn: applies the layer's activation (describe shows it)
};

// What the logs report of a component: name (the entropy record's field), shape, meaning.
struct LearnedValueInfo {
  std::string name;
  std::string shape;
  std::string meaning;
};

using ComponentFactory = std::function<std::shared_ptr<ComponentModule>(const LayerContext&)>;

struct ComponentDescriptor {
  ComponentInfo info;  // kind, name, one-line doc, spec keys, layer checks: what the spec sees
  ComponentFactory make;
  std::function<ComponentCost(const LayerContext&)> cost;  // empty: no cost
  Capabilities caps;
  std::vector<LearnedValueInfo> learned;
  std::function<std::string(const LayerContext&)> label;  // describe's column text; empty: the name
};

// The "reparam" entry of a linear layer whose weight is not reparameterised.
inline constexpr const char* kPlainReparam = "none";

std::vector<std::string> registry_kinds();
std::vector<std::string> registry_names(const std::string& kind);
const std::vector<ComponentDescriptor>& registry_entries();
// Throws InputError listing the valid names when `name` is not registered for `kind`.
const ComponentDescriptor& registry_lookup(const std::string& kind, const std::string& name);
// The registry as the spec sees it.
const ComponentCatalog& component_catalog();
// The cost of one application of kind/name in ctx (zero when it declares none).
ComponentCost component_cost(const std::string& kind, const std::string& name, const LayerContext& ctx);

// Every nonlinear operation a registered component can perform, with the kind of the first
// component (in registration order) that performs it: ("softmax", "attention"), ("gelu", "activation").
std::vector<std::pair<std::string, std::string>> registry_nonlinear_ops();

// Specs checked against the registry's components (spec.h's forms with component_catalog()).
ExperimentSpec load_spec(const std::string& path, const std::vector<std::string>& overrides = {});
ExperimentSpec parse_spec(const std::string& yaml_text, const std::string& origin,
                          const std::vector<std::string>& overrides = {});

// Builds a component and checks it implements the interface of its kind; nullptr when absent.
template <typename Interface>
std::shared_ptr<Interface> build_component(const std::string& kind, const std::string& name,
                                           const LayerContext& ctx) {
  std::shared_ptr<ComponentModule> m = registry_lookup(kind, name).make(ctx);
  if (!m) return nullptr;
  auto typed = std::dynamic_pointer_cast<Interface>(m);
  TORCH_CHECK(typed, "registry entry ", kind, "/", name, " built a module of the wrong interface");
  return typed;
}

// Numeric range checks for ComponentOption::check.
std::function<std::string(double)> option_positive();
std::function<std::string(double)> option_in_unit_interval();

}  // namespace entropix
