#include "entropix/model/gpt.h"

#include <cmath>

namespace entropix {

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const LayerContext& ctx)
    : n_head_(ctx.model.n_head), head_dim_(ctx.dim / ctx.model.n_head) {
  const int64_t d = ctx.dim;
  q_k = register_module("q_k", torch::nn::Linear(torch::nn::LinearOptions(d, 2 * d).bias(true)));
  v = register_module("v", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  o = register_module("o", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  scores = registry_lookup("attention", ctx.model.attention).make(ctx);
  register_module("scores", scores);
  const int64_t T = ctx.model.context;
  causal_mask_ = register_buffer("causal_mask", torch::ones({T, T}, torch::kBool).triu(1));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, torch::Tensor* probs) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  auto qk = q_k->forward(x).split(C, /*dim=*/2);                       // 2 x (B, T, d)
  auto q = qk[0].view({B, T, n_head_, head_dim_}).transpose(1, 2);    // (B, H, T, hs)
  auto k = qk[1].view({B, T, n_head_, head_dim_}).transpose(1, 2);    // (B, H, T, hs)
  auto val = v->forward(x).view({B, T, n_head_, head_dim_}).transpose(1, 2);  // (B, H, T, hs)

  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  auto logits = torch::matmul(q, k.transpose(-2, -1)).mul_(scale);    // (B, H, T, T)
  using torch::indexing::Slice;
  logits.masked_fill_(causal_mask_.index({Slice(0, T), Slice(0, T)}), -std::numeric_limits<float>::infinity());
  auto p = scores->forward(logits);                                   // (B, H, T, T), rows sum to 1
  if (probs) *probs = p;
  auto y = torch::matmul(p, val);                                     // (B, H, T, hs)
  y = y.transpose(1, 2).contiguous().view({B, T, C});                 // (B, T, d)
  return o->forward(y);
}

BlockImpl::BlockImpl(const LayerContext& ctx) {
  norm_1 = registry_lookup("norm", ctx.model.norm).make(ctx);
  if (norm_1) register_module("norm_1", norm_1);
  attn = register_module("attn", CausalSelfAttention(ctx));
  ffn = registry_lookup("ffn", ctx.model.ffn).make(ctx);
  if (ffn) {
    norm_2 = registry_lookup("norm", ctx.model.norm).make(ctx);
    if (norm_2) register_module("norm_2", norm_2);
    register_module("ffn", ffn);
  }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, torch::Tensor* probs) {
  auto h = x + attn->forward(norm_1 ? norm_1->forward(x) : x, probs);
  if (ffn) h = h + ffn->forward(norm_2 ? norm_2->forward(h) : h);
  return h;
}

GPTImpl::GPTImpl(const ModelSpec& spec) : spec_(spec) {
  wte = register_module("wte", torch::nn::Embedding(spec.vocab_size, spec.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(spec.context, spec.n_embd));
  for (int64_t l = 0; l < spec.n_layer; ++l) {
    LayerContext ctx{spec_, l, spec.n_embd};
    blocks.push_back(register_module("h" + std::to_string(l), Block(ctx)));
  }
  norm_f = registry_lookup("norm", spec.final_norm).make(LayerContext{spec_, -1, spec.n_embd});
  if (norm_f) register_module("norm_f", norm_f);
  init_weights();
}

// GPT-2 initialisation: weights N(0, 0.02), biases 0, norm gains 1; the projections that write
// into the residual stream (attn.o, ffn.c_proj) get std 0.02 / sqrt(2 L) so the residual variance
// does not grow with depth.
void GPTImpl::init_weights() {
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(spec_.n_layer));
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (p.dim() >= 2) {
      bool residual = ends_with("attn.o.weight") || ends_with("ffn.c_proj.weight");
      p.normal_(0.0, residual ? residual_std : 0.02);
    } else if (ends_with(".bias")) {
      p.zero_();
    }
  }
}

ForwardResult GPTImpl::forward(const torch::Tensor& idx, bool keep_attention) {
  const int64_t T = idx.size(1);
  TORCH_CHECK(T <= spec_.context, "sequence length ", T, " exceeds model.context ", spec_.context);
  auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(idx.device()));
  auto x = wte->forward(idx) + wpe->forward(pos);  // (B, T, d)
  ForwardResult out;
  for (auto& block : blocks) {
    if (keep_attention) {
      torch::Tensor p;
      x = block->forward(x, &p);
      out.attn_probs.push_back(p);
    } else {
      x = block->forward(x);
    }
  }
  if (norm_f) x = norm_f->forward(x);
  out.logits = torch::nn::functional::linear(x, wte->weight);  // (B, T, V), head tied to wte
  return out;
}

int64_t GPTImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

int64_t GPTImpl::non_embedding_parameter_count() const {
  return parameter_count() - wte->weight.numel() - wpe->weight.numel();
}

torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

}  // namespace entropix
