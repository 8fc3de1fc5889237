// Registry kind "norm": normalisation layers.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

// LayerNorm over the last dimension with learnable gain and bias (GPT-2).
struct LayerNormOp : UnaryOpImpl {
  explicit LayerNormOp(int64_t dim) {
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
  }
  torch::Tensor forward(const torch::Tensor& x) override { return norm->forward(x); }
  torch::nn::LayerNorm norm{nullptr};
};

}  // namespace

void register_norms(std::vector<RegistryEntry>& out) {
  out.push_back({"norm", "layernorm", "LayerNorm with learnable gain and bias (GPT-2)", "layernorm",
                 [](const LayerContext& ctx) -> UnaryOp { return std::make_shared<LayerNormOp>(ctx.dim); }});
  out.push_back({"norm", "none", "no normalisation (the sub-block input passes through unchanged)", "",
                 [](const LayerContext&) -> UnaryOp { return nullptr; }});
}

}  // namespace entropix
