// Registry kind "norm": normalisation layers, (..., d) -> (..., d).
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

constexpr double kNormEps = 1e-5;

// LayerNorm over the last dimension with learnable gain and bias (GPT-2).
struct LayerNormOp : UnaryOpImpl {
  explicit LayerNormOp(int64_t dim) {
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kNormEps)));
    declare_role(norm->weight, ParamRole::Gain);  // (d), init 1
    declare_role(norm->bias, ParamRole::Bias);    // (d), init 0
  }
  torch::Tensor forward(const torch::Tensor& x) override { return norm->forward(x); }
  torch::nn::LayerNorm norm{nullptr};
};

// RMSNorm: x / sqrt(mean(x^2) + eps) * g over the last dimension; no mean subtraction and no
// bias, so one reciprocal square root per token instead of LayerNorm's mean and variance.
struct RmsNormOp : UnaryOpImpl {
  explicit RmsNormOp(int64_t dim) {
    // (Named "weight" like LayerNorm's gain so checkpoints read the same; its role says what it is.)
    gain = add_parameter("weight", torch::ones({dim}), ParamRole::Gain);  // (d), init 1
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto inv_rms = torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + kNormEps);  // (..., 1)
    return x * inv_rms * gain;                                                  // (..., d)
  }
  torch::Tensor gain;
};

// One norm of a T x d activation per application.
std::function<ComponentCost(const LayerContext&)> norm_cost(const std::string& op) {
  return [op](const LayerContext& ctx) {
    ComponentCost c;
    c.nonlinear.push_back({op, 1, {ctx.model.context, ctx.dim}});
    return c;
  };
}

}  // namespace

void register_norms(std::vector<ComponentDescriptor>& out) {
  using ModulePtr = std::shared_ptr<ComponentModule>;
  {
    ComponentDescriptor d;
    d.info = {"norm", "layernorm", "LayerNorm with learnable gain and bias (GPT-2), eps 1e-5", {}, {}};
    d.make = [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<LayerNormOp>(ctx.dim); };
    d.cost = norm_cost("layernorm");
    out.push_back(d);
  }
  {
    ComponentDescriptor d;
    d.info = {"norm", "rmsnorm", "RMSNorm: x / sqrt(mean(x^2) + 1e-5) * g, learnable gain g (init 1), no bias", {}, {}};
    d.make = [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<RmsNormOp>(ctx.dim); };
    d.cost = norm_cost("rmsnorm");
    out.push_back(d);
  }
  {
    ComponentDescriptor d;
    d.info = {"norm", "none", "no normalisation (the sub-block input passes through unchanged)", {}, {}};
    d.make = [](const LayerContext&) -> ModulePtr { return nullptr; };
    d.caps.builds_nothing = true;
    out.push_back(d);
  }
}

}  // namespace entropix
