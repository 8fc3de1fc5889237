// Registry kind "ffn": the feed-forward sub-block, (B, T, d) -> (B, T, d). Its weight matrices
// are built through the "reparam" registry (LayerSpec::ffn_reparam), so weight and spectral
// normalisation apply to them.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

// The context for one bias-free in -> out matrix of this FFN; `residual`: it writes the FFN's
// output, which joins the residual stream.
LayerContext linear_ctx(const LayerContext& ctx, int64_t in, int64_t out, bool residual) {
  LayerContext c = ctx;
  c.in_features = in;
  c.out_features = out;
  c.bias = false;
  c.residual_output = residual;
  return c;
}

// The activation's context: it acts on the hidden width.
LayerContext hidden_ctx(const LayerContext& ctx, int64_t hidden) {
  LayerContext c = ctx;
  c.dim = hidden;
  return c;
}

int64_t hidden_width(const LayerContext& ctx) { return ctx.model.ffn_mult * ctx.dim; }

// Whether the layer's activation builds nothing (identity): only then do two matrices fuse into one.
bool activation_is_absent(const LayerSpec& layer) {
  return registry_lookup("activation", layer.activation).caps.builds_nothing;
}

// FFN(x) = act(x W_fc^T) W_proj^T, both matrices without bias (as the seed papers' released code).
// "c_fc" / "c_proj" follow GPT-2's names; c_proj is a residual projection.
struct MlpFfn : UnaryOpImpl {
  explicit MlpFfn(const LayerContext& ctx) {
    const int64_t d = ctx.dim, hidden = hidden_width(ctx);
    c_fc = register_module("c_fc", build_component<LinearOpImpl>("reparam", ctx.layer.ffn_reparam,
                                                                  linear_ctx(ctx, d, hidden, false)));
    act = build_component<UnaryOpImpl>("activation", ctx.layer.activation, hidden_ctx(ctx, hidden));
    if (act) register_module("act", act);
    c_proj = register_module("c_proj", build_component<LinearOpImpl>("reparam", ctx.layer.ffn_reparam,
                                                                      linear_ctx(ctx, hidden, d, true)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = c_fc->forward(x);  // (B, T, hidden)
    if (act) h = act->forward(h);
    return c_proj->forward(h);           // (B, T, d)
  }
  LinearOp c_fc, c_proj;
  UnaryOp act;  // nullptr for activation "identity"
};

// With no activation the two matrices of mlp collapse into one: FFN(x) = x W^T, W (d, d). The
// same function class as mlp with activation identity, with d^2 parameters instead of
// 2 * ffn_mult * d^2.
struct FusedFfn : UnaryOpImpl {
  explicit FusedFfn(const LayerContext& ctx) {
    // The spec rejects this combination already; checked again for code that builds directly.
    TORCH_CHECK(activation_is_absent(ctx.layer), "ffn 'fused' needs an absent activation (identity), got '",
                ctx.layer.activation, "'");
    c_fused = register_module("c_fused", build_component<LinearOpImpl>("reparam", ctx.layer.ffn_reparam,
                                                                        linear_ctx(ctx, ctx.dim, ctx.dim, true)));
  }
  torch::Tensor forward(const torch::Tensor& x) override { return c_fused->forward(x); }  // (B, T, d)
  LinearOp c_fused;
};

}  // namespace

void register_ffns(std::vector<ComponentDescriptor>& out) {
  using ModulePtr = std::shared_ptr<ComponentModule>;
  {
    ComponentDescriptor d;
    d.info = {"ffn", "mlp", "two bias-free matrices d -> ffn_mult*d -> d with the layer's activation between them",
              {}, {}};
    d.make = [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<MlpFfn>(ctx); };
    d.cost = [](const LayerContext& ctx) {
      const int64_t hidden = hidden_width(ctx);
      ComponentCost c = component_cost("reparam", ctx.layer.ffn_reparam, linear_ctx(ctx, ctx.dim, hidden, false));
      c += component_cost("activation", ctx.layer.activation, hidden_ctx(ctx, hidden));
      c += component_cost("reparam", ctx.layer.ffn_reparam, linear_ctx(ctx, hidden, ctx.dim, true));
      return c;
    };
    d.caps.uses_activation = true;
    d.label = [](const LayerContext& ctx) { return "mlp x" + std::to_string(ctx.model.ffn_mult); };
    out.push_back(d);
  }
  {
    ComponentDescriptor d;
    d.info = {"ffn", "fused", "one bias-free d x d matrix (only with activation identity: a linear FFN)", {}, {}};
    d.info.check_layer = [](const LayerSpec& layer) -> std::string {
      if (activation_is_absent(layer)) return "";
      return "needs model.activation: identity (a fused FFN is one d x d matrix, which equals two matrices only "
             "without an activation between them), got " + layer.activation;
    };
    d.make = [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<FusedFfn>(ctx); };
    d.cost = [](const LayerContext& ctx) {
      return component_cost("reparam", ctx.layer.ffn_reparam, linear_ctx(ctx, ctx.dim, ctx.dim, true));
    };
    out.push_back(d);
  }
  {
    ComponentDescriptor d;
    d.info = {"ffn", "none", "FFN sub-block removed (attention-only blocks)", {}, {}};
    d.make = [](const LayerContext&) -> ModulePtr { return nullptr; };
    d.caps.builds_nothing = true;
    out.push_back(d);
  }
}

}  // namespace entropix
