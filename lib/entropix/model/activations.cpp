// Registry kind "activation": the FFN's pointwise nonlinearity.
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

// Leaky ReLU whose negative slope is learned. Scope "layer": this module owns the parameter
// "slope" (1). Scope "global": every layer uses the model's SharedParameters::global_slope, which
// the model registers once; this module only keeps a handle, so it is neither counted nor
// optimised twice.
struct LearnableLeakyReluOp : UnaryOpImpl {
  explicit LearnableLeakyReluOp(const LayerContext& ctx) {
    const std::string& scope = ctx.model.slope_scope;
    if (scope == "layer") {
      slope = register_parameter("slope", torch::full({1}, ctx.model.slope_init));  // (1)
    } else if (scope == "global") {
      TORCH_CHECK(ctx.shared && ctx.shared->global_slope.defined(),
                  "learnable_leaky_relu with slope scope 'global' needs SharedParameters::global_slope");
      slope = ctx.shared->global_slope;  // (1), registered by the model
    } else {
      TORCH_CHECK(false, "learnable_leaky_relu: unknown slope scope '", scope, "' (valid: layer, global)");
    }
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    // where() rather than torch::leaky_relu, whose slope is a plain double: this form keeps the
    // slope in the graph, d out / d slope = x on the negative side.
    return torch::where(x >= 0, x, x * slope);  // same shape as x
  }
  torch::Tensor slope;
};

}  // namespace

void register_activations(std::vector<RegistryEntry>& out) {
  using ModulePtr = std::shared_ptr<torch::nn::Module>;
  out.push_back({"activation", "gelu", "GELU (exact erf form), the GPT-2 baseline", "gelu",
                 [](const LayerContext&) -> ModulePtr { return std::make_shared<GeluOp>(); }});
  out.push_back({"activation", "relu", "ReLU: max(0, x); cheaper than GELU in private inference", "relu",
                 [](const LayerContext&) -> ModulePtr { return std::make_shared<ReluOp>(); }});
  out.push_back({"activation", "leaky_relu", "leaky ReLU with fixed negative slope model.leaky_slope", "leaky_relu",
                 [](const LayerContext& ctx) -> ModulePtr {
                   return std::make_shared<LeakyReluOp>(ctx.model.leaky_slope);
                 }});
  out.push_back({"activation", "learnable_leaky_relu",
                 "leaky ReLU with a learned negative slope (init model.slope_init; one per layer or one global)",
                 "leaky_relu",
                 [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<LearnableLeakyReluOp>(ctx); }});
  out.push_back({"activation", "identity", "no activation: the FFN becomes linear", "",
                 [](const LayerContext&) -> ModulePtr { return nullptr; }});
}

}  // namespace entropix
