#include "entropix/model/registry.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "entropix/util/error.h"

// Every component file, one line each: the file defines `void register_<name>(out)`, which
// appends its descriptors. Explicit registration (rather than static initialisers) so that a
// static library link can't silently drop a component file.
#define ENTROPIX_COMPONENT_FILES(X) \
  X(norms)                          \
  X(activations)                    \
  X(squared_relu)                   \
  X(attention_scores)               \
  X(ffns)                           \
  X(reparams)                       \
  X(ffn_scalings)

namespace entropix {

#define ENTROPIX_DECLARE_REGISTRATION(file) void register_##file(std::vector<ComponentDescriptor>& out);
ENTROPIX_COMPONENT_FILES(ENTROPIX_DECLARE_REGISTRATION)
#undef ENTROPIX_DECLARE_REGISTRATION

namespace {

std::vector<ComponentDescriptor> register_builtin_components() {
  std::vector<ComponentDescriptor> all;
#define ENTROPIX_CALL_REGISTRATION(file) register_##file(all);
  ENTROPIX_COMPONENT_FILES(ENTROPIX_CALL_REGISTRATION)
#undef ENTROPIX_CALL_REGISTRATION
  // Options live under model.<component name>: two components with options may not share a name.
  std::map<std::string, std::string> with_options;
  for (const auto& d : all) {
    if (d.info.options.empty()) continue;
    auto [it, fresh] = with_options.emplace(d.info.name, d.info.kind);
    if (!fresh)
      throw std::logic_error("registry: components " + it->second + "/" + d.info.name + " and " + d.info.kind + "/" +
                             d.info.name + " both declare options under model." + d.info.name);
  }
  return all;
}

}  // namespace

const char* role_name(ParamRole role) {
  switch (role) {
    case ParamRole::Matrix: return "matrix";
    case ParamRole::Embedding: return "embedding";
    case ParamRole::Bias: return "bias";
    case ParamRole::Gain: return "gain";
    case ParamRole::Scalar: return "scalar";
    case ParamRole::Temperature: return "temperature";
    case ParamRole::Threshold: return "threshold";
    case ParamRole::ReparamDirection: return "reparam_direction";
    case ParamRole::ReparamMagnitude: return "reparam_magnitude";
  }
  return "?";
}

torch::Tensor ComponentModule::add_parameter(const std::string& name, torch::Tensor value, ParamRole role,
                                             bool residual_output, torch::Tensor pair) {
  torch::Tensor p = register_parameter(name, std::move(value));
  roles_.push_back({p, role, residual_output, std::move(pair)});
  return p;
}

void ComponentModule::declare_role(const torch::Tensor& parameter, ParamRole role) {
  roles_.push_back({parameter, role, false, {}});
}

nlohmann::json to_json_nested(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  if (c.dim() == 0) return c.item<double>();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < c.size(0); ++i) out.push_back(to_json_nested(c[i]));
  return out;
}

std::vector<RoledParameter> parameter_roles(const torch::nn::Module& root) {
  std::unordered_map<const void*, RoledParameter> by_tensor;
  for (const auto& m : root.modules(/*include_self=*/false))
    if (const auto* c = dynamic_cast<const ComponentModule*>(m.get()))
      for (const auto& r : c->roles()) by_tensor.emplace(r.tensor.unsafeGetTensorImpl(), r);
  if (const auto* self = dynamic_cast<const ComponentModule*>(&root))
    for (const auto& r : self->roles()) by_tensor.emplace(r.tensor.unsafeGetTensorImpl(), r);
  std::vector<RoledParameter> out;
  for (const auto& item : root.named_parameters()) {
    auto it = by_tensor.find(item.value().unsafeGetTensorImpl());
    // The name only identifies the culprit in this programming error.
    if (it == by_tensor.end()) throw std::logic_error("parameter " + item.key() + " was registered without a role");
    RoledParameter r = it->second;
    r.tensor = item.value();
    out.push_back(r);
  }
  return out;
}

torch::Tensor SharedParameters::get(const std::string& name, const std::function<torch::Tensor()>& make,
                                    ParamRole role) {
  for (const auto& [n, t] : made_)
    if (n == name) return t;
  TORCH_CHECK(owner_, "shared parameter ", name, " requested outside a model");
  torch::Tensor t = owner_->add_parameter(name, make(), role);
  made_.emplace_back(name, t);
  return t;
}

ComponentCost& ComponentCost::operator+=(const ComponentCost& other) {
  nonlinear.insert(nonlinear.end(), other.nonlinear.begin(), other.nonlinear.end());
  macs += other.macs;
  outputs += other.outputs;
  return *this;
}

const std::vector<ComponentDescriptor>& registry_entries() {
  static const std::vector<ComponentDescriptor> entries = register_builtin_components();
  return entries;
}

std::vector<std::string> registry_kinds() {
  return {"norm", "activation", "attention", "ffn", "reparam", "ffn_scaling"};
}

std::vector<std::string> registry_names(const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& e : registry_entries())
    if (e.info.kind == kind) names.push_back(e.info.name);
  return names;
}

const ComponentDescriptor& registry_lookup(const std::string& kind, const std::string& name) {
  for (const auto& e : registry_entries())
    if (e.info.kind == kind && e.info.name == name) return e;
  std::string valid;
  for (const auto& n : registry_names(kind)) valid += (valid.empty() ? "" : ", ") + n;
  throw InputError("unknown " + kind + " '" + name + "'; valid: " + valid);
}

const ComponentCatalog& component_catalog() {
  static const ComponentCatalog catalog = [] {
    ComponentCatalog c;
    c.kinds = registry_kinds();
    for (const auto& e : registry_entries()) c.components.push_back(e.info);
    return c;
  }();
  return catalog;
}

ComponentCost component_cost(const std::string& kind, const std::string& name, const LayerContext& ctx) {
  const ComponentDescriptor& d = registry_lookup(kind, name);
  return d.cost ? d.cost(ctx) : ComponentCost{};
}

std::vector<std::pair<std::string, std::string>> registry_nonlinear_ops() {
  // Each descriptor's cost in a default context (GPT-2 baseline layer, width n_embd).
  const ModelSpec model;
  const LayerSpec layer;
  std::vector<std::pair<std::string, std::string>> ops;
  for (const auto& d : registry_entries()) {
    if (!d.cost) continue;
    LayerContext ctx{model, layer, 0, model.n_embd};
    ctx.in_features = ctx.out_features = model.n_embd;
    for (const auto& use : d.cost(ctx).nonlinear) {
      const bool known = std::any_of(ops.begin(), ops.end(), [&](const auto& o) { return o.first == use.op; });
      if (!known) ops.emplace_back(use.op, d.info.kind);
    }
  }
  return ops;
}

namespace {

const ComponentOption& declared_option(const std::string& component, const std::string& key) {
  if (const ComponentInfo* c = component_catalog().with_options(component))
    for (const auto& o : c->options)
      if (o.key == key) return o;
  throw std::logic_error("component " + component + " declares no option " + key);
}

}  // namespace

std::string option_text(const LayerContext& ctx, const std::string& component, const std::string& key) {
  const ComponentOption& declared = declared_option(component, key);
  auto it = ctx.model.options.find(component + "." + key);
  return it == ctx.model.options.end() ? declared.default_value : it->second;
}

double option_number(const LayerContext& ctx, const std::string& component, const std::string& key) {
  const std::string text = option_text(ctx, component, key);
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw InputError("model." + component + "." + key + ": expected a number, got '" + text + "'");
}

ExperimentSpec load_spec(const std::string& path, const std::vector<std::string>& overrides) {
  return load_spec(path, overrides, component_catalog());
}

ExperimentSpec parse_spec(const std::string& yaml_text, const std::string& origin,
                          const std::vector<std::string>& overrides) {
  return parse_spec(yaml_text, origin, overrides, component_catalog());
}

std::function<std::string(double)> option_positive() {
  return [](double v) {
    std::ostringstream s;
    s << "must be > 0, got " << v;
    return v > 0 ? std::string() : s.str();
  };
}

std::function<std::string(double)> option_in_unit_interval() {
  return [](double v) {
    std::ostringstream s;
    s << "must be in [0, 1], got " << v;
    return (v >= 0 && v <= 1) ? std::string() : s.str();
  };
}

}  // namespace entropix
