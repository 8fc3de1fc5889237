// Registry kind "ffn_scaling": how the FFN output joins the residual stream. Absent ("none"),
// the block adds it: x + f.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

// x_out = beta * x + f / alpha with learned scalars "alpha" and "beta" (1), one pair per layer
// (the seed papers' learnable FFN scaling): without LayerNorm nothing else rescales the FFN
// output or the residual stream, so the model learns how much of each to keep.
struct LearnableFfnScaling : ResidualMixImpl {
  explicit LearnableFfnScaling(const LayerContext& ctx) {
    alpha = register_parameter("alpha", torch::full({1}, ctx.model.ffn_alpha_init));  // (1)
    beta = register_parameter("beta", torch::full({1}, ctx.model.ffn_beta_init));      // (1)
  }
  torch::Tensor forward(const torch::Tensor& residual, const torch::Tensor& update) override {
    return beta * residual + update / alpha;  // (B, T, d)
  }
  torch::Tensor alpha, beta;
};

}  // namespace

void register_ffn_scalings(std::vector<RegistryEntry>& out) {
  using ModulePtr = std::shared_ptr<torch::nn::Module>;
  out.push_back({"ffn_scaling", "none", "no scaling: the block adds the FFN output, x + FFN(x)", "",
                 [](const LayerContext&) -> ModulePtr { return nullptr; }});
  out.push_back({"ffn_scaling", "learnable",
                 "x_out = beta * x + FFN(x) / alpha, learned scalars alpha and beta per layer "
                 "(init model.ffn_alpha_init, model.ffn_beta_init)",
                 "",
                 [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<LearnableFfnScaling>(ctx); }});
}

}  // namespace entropix
