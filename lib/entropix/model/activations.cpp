// Registry kind "activation": the FFN's pointwise nonlinearity, applied to its T x hidden
// activations (LayerContext::dim is the hidden width).
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

struct GeluOp : UnaryOpImpl {
  torch::Tensor forward(const torch::Tensor& x) override { return torch::gelu(x); }
};
struct ReluOp : UnaryOpImpl {
  torch::Tensor forward(const torch::Tensor& x) override { return torch::relu(x); }
};

// Leaky ReLU with a fixed negative slope: x for x >= 0, slope * x otherwise.
struct LeakyReluOp : UnaryOpImpl {
  explicit LeakyReluOp(double slope) : slope_(slope) {}
  torch::Tensor forward(const torch::Tensor& x) override { return torch::leaky_relu(x, slope_); }
  double slope_;
};

// Leaky ReLU whose negative slope is learned. Scope "layer": this module owns its slope (1).
// Scope "global": every layer uses one slope that the model owns (SharedParameters), so it is
// neither counted nor optimised twice.
struct LearnableLeakyReluOp : UnaryOpImpl {
  explicit LearnableLeakyReluOp(const LayerContext& ctx) {
    const std::string scope = option_text(ctx, "learnable_leaky_relu", "scope");
    const double init = option_number(ctx, "learnable_leaky_relu", "init");
    if (scope == "layer") {
      slope = add_parameter("slope", torch::full({1}, init), ParamRole::Scalar);  // (1)
    } else if (scope == "global") {
      TORCH_CHECK(ctx.shared, "learnable_leaky_relu with scope 'global' needs the model's shared parameters");
      slope = ctx.shared->get("global_slope", [init] { return torch::full({1}, init); }, ParamRole::Scalar);  // (1)
      global_ = true;
    } else {
      TORCH_CHECK(false, "learnable_leaky_relu: unknown slope scope '", scope, "' (valid: layer, global)");
    }
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    // where() rather than torch::leaky_relu, whose slope is a plain double: this form keeps the
    // slope in the graph, d out / d slope = x on the negative side.
    return torch::where(x >= 0, x, x * slope);  // same shape as x
  }
  std::vector<LearnedValue> learned_values() const override {
    const double v = slope.item<double>();
    // A global slope is logged once, as a one-entry list.
    return {{"slope", global_ ? nlohmann::json::array({v}) : nlohmann::json(v), global_}};
  }
  torch::Tensor slope;
  bool global_ = false;
};

// One elementwise op over the T x hidden activations.
std::function<ComponentCost(const LayerContext&)> pointwise(const std::string& op) {
  return [op](const LayerContext& ctx) {
    ComponentCost c;
    c.nonlinear.push_back({op, 1, {ctx.model.context, ctx.dim}});
    return c;
  };
}

ComponentDescriptor activation(const std::string& name, const std::string& doc, ComponentFactory make,
                               const std::string& op) {
  ComponentDescriptor d;
  d.info.kind = "activation";
  d.info.name = name;
  d.info.doc = doc;
  d.make = std::move(make);
  if (!op.empty()) d.cost = pointwise(op);
  return d;
}

}  // namespace

void register_activations(std::vector<ComponentDescriptor>& out) {
  using ModulePtr = std::shared_ptr<ComponentModule>;
  out.push_back(activation("gelu", "GELU (exact erf form), the GPT-2 baseline",
                           [](const LayerContext&) -> ModulePtr { return std::make_shared<GeluOp>(); }, "gelu"));
  out.push_back(activation("relu", "ReLU: max(0, x); cheaper than GELU in private inference",
                           [](const LayerContext&) -> ModulePtr { return std::make_shared<ReluOp>(); }, "relu"));

  ComponentDescriptor leaky = activation(
      "leaky_relu", "leaky ReLU with a fixed negative slope (model.leaky_relu.slope)",
      [](const LayerContext& ctx) -> ModulePtr {
        return std::make_shared<LeakyReluOp>(option_number(ctx, "leaky_relu", "slope"));
      },
      "leaky_relu");
  leaky.info.options.push_back({"slope", OptionType::Float, "0.1", "fixed negative slope", {}, {}, "model.leaky_slope"});
  out.push_back(leaky);

  ComponentDescriptor learnable = activation(
      "learnable_leaky_relu", "leaky ReLU with a learned negative slope, one per layer or one for the model",
      [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<LearnableLeakyReluOp>(ctx); }, "leaky_relu");
  learnable.info.options.push_back(
      {"init", OptionType::Float, "0.01", "initial negative slope", {}, {}, "model.slope_init"});
  learnable.info.options.push_back({"scope", OptionType::String, "layer",
                                    "layer: one learned slope per layer; global: one slope shared by every layer",
                                    {"layer", "global"}, {}, "model.slope_scope"});
  learnable.learned.push_back({"slope", "[L] (one entry when global)", "learned negative slope of the leaky ReLU"});
  out.push_back(learnable);

  ComponentDescriptor identity = activation(
      "identity", "no activation: the FFN becomes linear",
      [](const LayerContext&) -> ModulePtr { return nullptr; }, "");
  identity.caps.builds_nothing = true;
  out.push_back(identity);
}

}  // namespace entropix
