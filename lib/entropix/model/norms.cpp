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
  }
  torch::Tensor forward(const torch::Tensor& x) override { return norm->forward(x); }
  torch::nn::LayerNorm norm{nullptr};
};

// RMSNorm: x / sqrt(mean(x^2) + eps) * g over the last dimension; no mean subtraction and no
// bias, so one reciprocal square root per token instead of LayerNorm's mean and variance.
struct RmsNormOp : UnaryOpImpl {
  explicit RmsNormOp(int64_t dim) {
    // The gain is named "weight" like LayerNorm's, so the model's init and weight-decay rules
    // (1-D: left at its initial value, not decayed) treat both the same way.
    weight = register_parameter("weight", torch::ones({dim}));  // (d), init 1
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto inv_rms = torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + kNormEps);  // (..., 1)
    return x * inv_rms * weight;                                                // (..., d)
  }
  torch::Tensor weight;
};

}  // namespace

void register_norms(std::vector<RegistryEntry>& out) {
  out.push_back({"norm", "layernorm", "LayerNorm with learnable gain and bias (GPT-2), eps 1e-5", "layernorm",
                 [](const LayerContext& ctx) -> std::shared_ptr<torch::nn::Module> {
                   return std::make_shared<LayerNormOp>(ctx.dim);
                 }});
  out.push_back({"norm", "rmsnorm", "RMSNorm: x / sqrt(mean(x^2) + 1e-5) * g, learnable gain g (init 1), no bias",
                 "rmsnorm",
                 [](const LayerContext& ctx) -> std::shared_ptr<torch::nn::Module> {
                   return std::make_shared<RmsNormOp>(ctx.dim);
                 }});
  out.push_back({"norm", "none", "no normalisation (the sub-block input passes through unchanged)", "",
                 [](const LayerContext&) -> std::shared_ptr<torch::nn::Module> { return nullptr; }});
}

}  // namespace entropix
