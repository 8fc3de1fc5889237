// Registry kind "ffn": the feed-forward sub-block.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

// FFN(x) = act(x W_in) W_out, both matrices without bias (as the seed papers' released code).
struct MlpFfn : UnaryOpImpl {
  MlpFfn(const LayerContext& ctx) {
    const int64_t hidden = ctx.model.ffn_mult * ctx.dim;
    c_fc = register_module("c_fc", torch::nn::Linear(torch::nn::LinearOptions(ctx.dim, hidden).bias(false)));
    act = registry_lookup("activation", ctx.model.activation).make(ctx);
    if (act) register_module("act", act);
    c_proj = register_module("c_proj", torch::nn::Linear(torch::nn::LinearOptions(hidden, ctx.dim).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = c_fc->forward(x);  // (B, T, hidden)
    if (act) h = act->forward(h);
    return c_proj->forward(h);           // (B, T, d)
  }
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
  UnaryOp act;
};

}  // namespace

void register_ffns(std::vector<RegistryEntry>& out) {
  out.push_back({"ffn", "mlp", "two matrices d -> ffn_mult*d -> d with model.activation between them", "",
                 [](const LayerContext& ctx) -> UnaryOp { return std::make_shared<MlpFfn>(ctx); }});
  out.push_back({"ffn", "none", "FFN sub-block removed (attention-only blocks)", "",
                 [](const LayerContext&) -> UnaryOp { return nullptr; }});
}

}  // namespace entropix
