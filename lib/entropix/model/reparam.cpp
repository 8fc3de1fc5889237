// Registry kind "reparam": a linear layer x (..., in) -> (..., out) whose weight may be
// reparameterised. Built with LayerContext::in_features, out_features and bias; the attention and
// FFN code choose the entry (LayerSpec::attn_reparam, LayerSpec::ffn_reparam).
//
// Initial values: every (out, in) matrix parameter is drawn from N(0, 0.02) (GPT-2), biases are 0;
// the model redraws them by role (GPTImpl::init_weights), the residual std where
// LayerContext::residual_output says so.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

constexpr double kInitStd = 0.02;

torch::Tensor init_matrix(int64_t out, int64_t in) { return torch::randn({out, in}) * kInitStd; }

// Unit vector along `dim` (eps guards a zero vector).
torch::Tensor unit(const torch::Tensor& x) {
  return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().p(2).dim(0).eps(1e-12));
}

// Shared by the three entries: the optional bias and the linear map with the effective weight.
struct LinearBase : LinearOpImpl {
  explicit LinearBase(const LayerContext& ctx) {
    TORCH_CHECK(ctx.in_features > 0 && ctx.out_features > 0, "reparam: in_features and out_features must be set (got ",
                ctx.in_features, ", ", ctx.out_features, ")");
    if (ctx.bias) bias = add_parameter("bias", torch::zeros({ctx.out_features}), ParamRole::Bias);  // (out)
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::nn::functional::linear(x, weight(), bias);  // (..., in) -> (..., out)
  }
  torch::Tensor bias;  // undefined when ctx.bias is false
};

// Plain linear layer: parameter "weight" (out, in).
struct PlainLinear : LinearBase {
  explicit PlainLinear(const LayerContext& ctx) : LinearBase(ctx) {
    weight_ = add_parameter("weight", init_matrix(ctx.out_features, ctx.in_features), ParamRole::Matrix,
                            ctx.residual_output);  // (out, in)
  }
  torch::Tensor weight() override { return weight_; }
  torch::Tensor weight_;
};

// Weight normalisation (Salimans & Kingma 2016), per output row: w_i = g_i * v_i / ||v_i||.
// Parameters "v" (out, in) and "g" (out); g starts at the row norms of v, so w = v at
// construction and the layer computes the same function as a plain one with weight v.
struct WeightNormLinear : LinearBase {
  explicit WeightNormLinear(const LayerContext& ctx) : LinearBase(ctx) {
    v = add_parameter("v", init_matrix(ctx.out_features, ctx.in_features), ParamRole::ReparamDirection,
                      ctx.residual_output);  // (out, in)
    g = add_parameter("g", v.detach().norm(2, {1}), ParamRole::ReparamMagnitude, false, v);  // (out)
  }
  torch::Tensor weight() override {
    return v * (g.unsqueeze(1) / v.norm(2, {1}, /*keepdim=*/true));  // (out, in)
  }
  torch::Tensor v, g;
};

// Spectral normalisation (Miyato et al. 2018): w = w_orig / sigma(w_orig), sigma estimated by
// power iteration as torch.nn.utils.spectral_norm does. Parameter "weight_orig" (out, in),
// buffer "u" (out): the running left singular vector estimate.
//
// weight() is what forward uses. In training mode each call first advances the power iteration
// by one step (no gradient): v = unit(W^T u), u = unit(W v), u stored; then sigma = u . (W v) with
// u and v held constant, so the gradient flows through W only. In eval mode u is not updated:
// v = unit(W^T u) from the stored u.
struct SpectralNormLinear : LinearBase {
  explicit SpectralNormLinear(const LayerContext& ctx) : LinearBase(ctx) {
    weight_orig = add_parameter("weight_orig", init_matrix(ctx.out_features, ctx.in_features), ParamRole::Matrix,
                                ctx.residual_output);  // (out, in)
    // A random start (from the global, seeded generator) is almost surely not orthogonal to the
    // top singular vector.
    u = register_buffer("u", unit(torch::randn({ctx.out_features})));  // (out)
  }
  torch::Tensor weight() override {
    torch::Tensor u_now, v_now;  // (out), (in); fresh tensors, constants of the graph below
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor W = weight_orig.detach();
      v_now = unit(torch::mv(W.t(), u));  // (in)
      if (is_training()) {
        u_now = unit(torch::mv(W, v_now));  // (out)
        u.copy_(u_now);
      } else {
        // A copy, so a later in-place update of the buffer can't invalidate this graph.
        u_now = u.clone();
      }
    }
    const torch::Tensor sigma = torch::dot(u_now, torch::mv(weight_orig, v_now));  // scalar
    return weight_orig / sigma;                                                  // (out, in)
  }
  torch::Tensor weight_orig, u;
};

// A linear map in -> out over T tokens, whatever its reparameterisation (computed once per
// forward on the weight, not per token).
ComponentCost linear_cost(const LayerContext& ctx) {
  const double T = static_cast<double>(ctx.model.context);
  ComponentCost c;
  c.macs = T * static_cast<double>(ctx.in_features) * static_cast<double>(ctx.out_features);
  c.outputs = T * static_cast<double>(ctx.out_features);
  return c;
}

ComponentDescriptor reparam(const std::string& name, const std::string& doc, ComponentFactory make) {
  ComponentDescriptor d;
  d.info.kind = "reparam";
  d.info.name = name;
  d.info.doc = doc;
  d.make = std::move(make);
  d.cost = linear_cost;
  return d;
}

}  // namespace

void register_reparams(std::vector<ComponentDescriptor>& out) {
  using ModulePtr = std::shared_ptr<ComponentModule>;
  out.push_back(reparam("none", "plain linear layer: parameter weight (out, in)",
                        [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<PlainLinear>(ctx); }));
  out.push_back(reparam(
      "weight_norm", "weight normalisation per output row: w = g * v / ||v||, g initialised to ||v|| (w = v at init)",
      [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<WeightNormLinear>(ctx); }));
  out.push_back(reparam(
      "spectral_norm", "spectral normalisation: w = weight_orig / sigma, sigma by one power iteration per training forward",
      [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<SpectralNormLinear>(ctx); }));
}

}  // namespace entropix
