// Registry kind "ffn_scaling": how the FFN output joins the residual stream. Absent ("none"),
// the block adds it: x + f.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

// x_out = beta * x + f / alpha with learned scalars alpha and beta (1), one pair per layer
// (the seed papers' learnable FFN scaling): without LayerNorm nothing else rescales the FFN
// output or the residual stream, so the model learns how much of each to keep.
struct LearnableFfnScaling : ResidualMixImpl {
  explicit LearnableFfnScaling(const LayerContext& ctx) {
    const double alpha0 = option_number(ctx, "learnable_scale", "alpha_init");
    const double beta0 = option_number(ctx, "learnable_scale", "beta_init");
    alpha = add_parameter("alpha", torch::full({1}, alpha0), ParamRole::Scalar);  // (1)
    beta = add_parameter("beta", torch::full({1}, beta0), ParamRole::Scalar);     // (1)
  }
  torch::Tensor forward(const torch::Tensor& residual, const torch::Tensor& update) override {
    return beta * residual + update / alpha;  // (B, T, d)
  }
  std::vector<LearnedValue> learned_values() const override {
    return {{"ffn_alpha", alpha.item<double>(), false}, {"ffn_beta", beta.item<double>(), false}};
  }
  torch::Tensor alpha, beta;
};

}  // namespace

void register_ffn_scalings(std::vector<ComponentDescriptor>& out) {
  using ModulePtr = std::shared_ptr<ComponentModule>;
  {
    ComponentDescriptor d;
    d.info = {"ffn_scaling", "none", "no scaling: the block adds the FFN output, x + FFN(x)", {}, {}};
    d.make = [](const LayerContext&) -> ModulePtr { return nullptr; };
    d.caps.builds_nothing = true;
    out.push_back(d);
  }
  {
    ComponentDescriptor d;
    d.info.kind = "ffn_scaling";
    d.info.name = "learnable_scale";
    d.info.doc = "x_out = beta * x + FFN(x) / alpha, learned scalars alpha and beta per layer";
    d.info.options.push_back({"alpha_init", OptionType::Float, "1", "initial alpha (FFN(x) / alpha)", {},
                              option_positive(), "model.ffn_alpha_init"});
    d.info.options.push_back({"beta_init", OptionType::Float, "1", "initial beta (beta * x)", {}, {},
                              "model.ffn_beta_init"});
    d.make = [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<LearnableFfnScaling>(ctx); };
    // Two scalar products per token and feature, each a fixed-point value to rescale in PI.
    d.cost = [](const LayerContext& ctx) {
      ComponentCost c;
      c.outputs = 2.0 * static_cast<double>(ctx.model.context) * static_cast<double>(ctx.dim);
      return c;
    };
    d.learned.push_back({"ffn_alpha", "[L]", "learned FFN scale alpha (x + FFN(x) / alpha), per layer"});
    d.learned.push_back({"ffn_beta", "[L]", "learned residual scale beta (beta * x + FFN(x) / alpha), per layer"});
    out.push_back(d);
  }
}

}  // namespace entropix
