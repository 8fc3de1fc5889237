#include "entropix/model/gpt.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "entropix/model/causal_softmax_entropy.h"
#include "entropix/model/hashed_dropout.h"
#include "entropix/model/online_entropy_attention.h"
#include "entropix/util/error.h"
#include "entropix/util/torch_compat.h"

namespace entropix {
namespace {

// Builds a d -> d projection, reparameterised when its group is selected.
LinearOp projection(const LayerContext& ctx, const std::string& group, bool bias, bool residual_output = false) {
  const auto& groups = ctx.model.attn_reparam_groups;
  const bool selected = std::find(groups.begin(), groups.end(), group) != groups.end();
  LayerContext lin = ctx;
  lin.in_features = ctx.dim;
  lin.out_features = ctx.dim;
  lin.bias = bias;
  lin.residual_output = residual_output;
  return build_component<LinearOpImpl>("reparam", selected ? ctx.layer.attn_reparam : kPlainReparam, lin);
}

template <typename T>
void register_if(torch::nn::Module& parent, const std::string& name, const std::shared_ptr<T>& child) {
  if (child) parent.register_module(name, child);
}

}  // namespace

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const LayerContext& ctx)
    : n_head_(ctx.model.n_head),
      head_dim_(ctx.dim / ctx.model.n_head),
      plain_softmax_(registry_lookup("attention", ctx.layer.attention).caps.fused_attention),
      scaled_softmax_(registry_lookup("attention", ctx.layer.attention).caps.scaled_softmax),
      attention_dropout_(ctx.model.dropout.attention) {
  q = register_module("q", projection(ctx, "qk", /*bias=*/true));
  k = register_module("k", projection(ctx, "qk", /*bias=*/true));
  v = register_module("v", projection(ctx, "v", /*bias=*/false));
  o = register_module("o", projection(ctx, "o", /*bias=*/false, /*residual_output=*/true));
  scores = build_component<UnaryOpImpl>("attention", ctx.layer.attention, ctx);
  TORCH_CHECK(scores, "attention component ", ctx.layer.attention, " built nothing");
  register_module("scores", scores);
  const int64_t T = ctx.model.context;
  causal_mask_ = register_buffer("causal_mask", torch::ones({T, T}, torch::kBool).triu(1));
}

std::string CausalSelfAttentionImpl::attention_path(bool entropy_wanted, bool entropy_grad, bool on_cpu) const {
  const bool cpu_dropout = on_cpu && attention_dropout_ > 0 && is_training();
  const bool fused = compat::has_fused_sdpa && plain_softmax_ && !cpu_dropout;
  if (entropy_wanted) {
    if (kernel_.online_entropy) return "online_entropy";
    return fused && !entropy_grad ? "fused_with_row_entropy" : "explicit";
  }
  return fused ? "fused" : "explicit";
}

void CausalSelfAttentionImpl::set_kernel(const AttentionKernel& kernel) {
  if (kernel.block < 1)
    throw InputError("train.attention_block: must be >= 1, got " + std::to_string(kernel.block));
  if (kernel.online_entropy && !scaled_softmax_) {
    std::string valid;
    for (const auto& d : registry_entries())
      if (d.caps.scaled_softmax) valid += (valid.empty() ? "" : ", ") + d.info.name;
    throw InputError("train.attention_kernel: online_entropy needs attention scores that are a softmax of "
                     "scaled logits (" + valid + "); use explicit for this model");
  }
  if (kernel.online_entropy && attention_dropout_ > 0)
    throw InputError("train.attention_kernel: online_entropy keeps no attention probabilities to drop out; set "
                     "model.dropout.attention: 0 or use the explicit kernel");
  kernel_ = kernel;
}

const torch::Tensor& CausalSelfAttentionImpl::mask_bias(int64_t T, const torch::Tensor& like) {
  if (!mask_bias_.defined() || mask_bias_.size(0) != T || mask_bias_.device() != like.device() ||
      mask_bias_.scalar_type() != like.scalar_type()) {
    using torch::indexing::Slice;
    mask_bias_ = torch::zeros({T, T}, like.options())
                     // (to kBool: Module::to(dtype) converts every buffer, the mask too)
                     .masked_fill_(causal_mask_.index({Slice(0, T), Slice(0, T)}).to(like.device(), torch::kBool),
                                   -std::numeric_limits<float>::infinity());
  }
  return mask_bias_;
}

torch::Tensor CausalSelfAttentionImpl::probabilities(const torch::Tensor& qh, const torch::Tensor& kh) {
  const int64_t B = qh.size(0), H = qh.size(1), T = qh.size(2), hs = qh.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  // One batched product does the scaling and the masking: logits = bias + scale * q k^T, with
  // bias -inf above the diagonal (future keys) and 0 elsewhere. This saves the separate scale and
  // masked_fill passes over the (B, H, T, T) logits, and their backward passes.
  auto q3 = qh.reshape({B * H, T, hs});
  auto k3 = kh.reshape({B * H, T, hs});
  auto logits = torch::baddbmm(mask_bias(T, q3), q3, k3.transpose(1, 2), /*beta=*/1.0, /*alpha=*/scale)
                    .view({B, H, T, T});  // (B, H, T, T), -inf at future keys
  return scores->forward(logits);        // (B, H, T, T), rows sum to 1
}

torch::Tensor CausalSelfAttentionImpl::explicit_attention(const torch::Tensor& qh, const torch::Tensor& kh,
                                                          const torch::Tensor& vh, torch::Tensor* probs) {
  const int64_t B = qh.size(0), H = qh.size(1), T = qh.size(2), hs = qh.size(3);
  auto p = probabilities(qh, kh);  // (B, H, T, T)
  if (probs) *probs = p;           // entropy of the probabilities, before dropout
  if (attention_dropout_ > 0 && is_training()) p = hashed_dropout(p, attention_dropout_);
  return torch::bmm(p.reshape({B * H, T, T}), vh.reshape({B * H, T, hs})).view({B, H, T, hs});  // (B, H, T, hs)
}

torch::Tensor CausalSelfAttentionImpl::online_attention(const torch::Tensor& qh, const torch::Tensor& kh,
                                                        const torch::Tensor& vh, torch::Tensor* row_entropy) {
  const int64_t T = qh.size(2);
  // The kernel takes the whole logit scale on the queries: q / (sqrt(hs) t).
  auto q_scaled = qh * (1.0 / std::sqrt(static_cast<double>(head_dim_)));  // (B, H, T, hs)
  const torch::Tensor t = dynamic_cast<const ScaledSoftmax&>(*scores).temperature(T);  // (1, H, T|1, 1) or none
  if (t.defined()) q_scaled = q_scaled / t;
  // (Under bf16 autocast k and v are bf16 and a float32 temperature would promote q.)
  auto r = online_entropy_attention(q_scaled.to(kh.scalar_type()), kh, vh, kernel_.block);
  if (row_entropy) *row_entropy = r.entropy;
  return r.out;  // (B, H, T, hs)
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, torch::Tensor* entropy, bool* entropy_is_rows,
                                               bool entropy_grad) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  auto split_heads = [&](const torch::Tensor& t) { return t.view({B, T, n_head_, head_dim_}).transpose(1, 2); };
  auto qh = split_heads(q->forward(x));  // (B, H, T, hs)
  auto kh = split_heads(k->forward(x));  // (B, H, T, hs)
  auto vh = split_heads(v->forward(x));  // (B, H, T, hs)
  // Without grad mode (evaluations, records of their own) nothing could differentiate the entropy.
  const bool grad = entropy_grad && torch::GradMode::is_enabled();
  const std::string path = attention_path(entropy != nullptr, grad, qh.device().is_cpu());
  if (entropy_is_rows) *entropy_is_rows = path == "online_entropy" || path == "fused_with_row_entropy";
  torch::Tensor y;  // (B, H, T, hs)
  if (path == "fused" || path == "fused_with_row_entropy") {
    y = compat::fused_causal_attention(qh, kh, vh, is_training() ? attention_dropout_ : 0.0);
    // For reading only: each row's entropy straight from q and k, outside the graph, without the
    // (B, H, T, T) probabilities (softmax of the same logits the fused kernel uses).
    if (path == "fused_with_row_entropy")
      *entropy = causal_softmax_row_entropy(qh, kh, 1.0 / std::sqrt(static_cast<double>(head_dim_)));  // (B, H, T)
  } else if (path == "online_entropy") y = online_attention(qh, kh, vh, entropy);
  else y = explicit_attention(qh, kh, vh, entropy);
  y = y.transpose(1, 2).contiguous().view({B, T, C});  // (B, T, d)
  return o->forward(y);
}

BlockImpl::BlockImpl(const LayerContext& ctx) : residual_dropout_(ctx.model.dropout.residual) {
  norm_1 = build_component<UnaryOpImpl>("norm", ctx.layer.norm, ctx);
  register_if(*this, "norm_1", norm_1);
  attn = register_module("attn", CausalSelfAttention(ctx));
  ffn = build_component<UnaryOpImpl>("ffn", ctx.layer.ffn, ctx);
  if (ffn) {
    norm_2 = build_component<UnaryOpImpl>("norm", ctx.layer.norm, ctx);
    register_if(*this, "norm_2", norm_2);
    register_module("ffn", ffn);
    ffn_scale = build_component<ResidualMixImpl>("ffn_scaling", ctx.layer.ffn_scaling, ctx);
    register_if(*this, "ffn_scale", ffn_scale);
  }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, torch::Tensor* entropy, bool* entropy_is_rows,
                                 bool entropy_grad) {
  // Each sub-block's output is dropped out (while training) before it joins the residual stream.
  auto drop = [&](const torch::Tensor& t) {
    return residual_dropout_ > 0 && is_training() ? hashed_dropout(t, residual_dropout_) : t;
  };
  auto h = x + drop(attn->forward(norm_1 ? norm_1->forward(x) : x, entropy, entropy_is_rows, entropy_grad));  // (B, T, d)
  if (!ffn) return h;
  auto f = drop(ffn->forward(norm_2 ? norm_2->forward(h) : h));  // (B, T, d)
  return ffn_scale ? ffn_scale->forward(h, f) : h + f;
}

GPTImpl::GPTImpl(const ModelSpec& spec) : spec_(spec) {
  wte = register_module("wte", torch::nn::Embedding(spec.vocab_size, spec.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(spec.context, spec.n_embd));
  declare_role(wte->weight, ParamRole::Embedding);  // (V, d), also the LM head
  declare_role(wpe->weight, ParamRole::Embedding);  // (T, d)
  std::vector<LayerSpec> layer_specs;
  for (int64_t l = 0; l < spec.n_layer; ++l) layer_specs.push_back(spec_.layer(l));
  for (int64_t l = 0; l < spec.n_layer; ++l) {
    LayerContext ctx{spec_, layer_specs[l], l, spec.n_embd};
    ctx.shared = &shared_;
    blocks.push_back(register_module("h" + std::to_string(l), Block(ctx)));
  }
  const LayerSpec model_level = spec_.layer(0);
  LayerContext final_ctx{spec_, model_level, -1, spec.n_embd};
  norm_f = build_component<UnaryOpImpl>("norm", spec.final_norm, final_ctx);
  register_if(*this, "norm_f", norm_f);
  init_weights();
}

// GPT-2 initialisation, by parameter role: weight matrices (and weight-norm directions) and
// embeddings N(0, 0.02), biases 0, gains, scalars and temperatures as their components set them.
// With model.scaled_residual_init the matrices that write into the residual stream (attention's
// output projection, the FFN's output matrix) get std 0.02 / sqrt(2 L), so the residual variance
// does not grow with depth. Weight norm's magnitude g then starts at the row norms of its freshly
// drawn direction v, so the effective weight equals v, as a plain layer's would.
void GPTImpl::init_weights() {
  torch::NoGradGuard no_grad;
  const double residual_std =
      spec_.scaled_residual_init ? 0.02 / std::sqrt(2.0 * static_cast<double>(spec_.n_layer)) : 0.02;
  const std::vector<RoledParameter> roles = parameter_roles(*this);
  for (const auto& r : roles) {
    torch::Tensor p = r.tensor;
    switch (r.role) {
      case ParamRole::Matrix:
      case ParamRole::ReparamDirection:
      case ParamRole::Embedding: p.normal_(0.0, r.residual_output ? residual_std : 0.02); break;
      case ParamRole::Bias: p.zero_(); break;
      default: break;
    }
  }
  for (const auto& r : roles)
    if (r.role == ParamRole::ReparamMagnitude) r.tensor.copy_(r.pair.norm(2, /*dim=*/1));  // (out) from (out, in)
}

ForwardResult GPTImpl::forward(const torch::Tensor& idx, bool keep_attention, bool attention_grad, bool head) {
  const int64_t T = idx.size(1);
  TORCH_CHECK(T <= spec_.context, "sequence length ", T, " exceeds model.context ", spec_.context);
  auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(idx.device()));
  auto x = wte->forward(idx) + wpe->forward(pos);  // (B, T, d)
  if (spec_.dropout.embedding > 0 && is_training()) x = hashed_dropout(x, spec_.dropout.embedding);
  ForwardResult out;
  for (auto& block : blocks) {
    if (keep_attention) {
      torch::Tensor a;
      bool rows = false;
      x = block->forward(x, &a, &rows, attention_grad);
      (rows ? out.attn_entropy : out.attn_probs).push_back(a);
    } else {
      x = block->forward(x);
    }
  }
  if (norm_f) x = norm_f->forward(x);
  if (head) out.logits = torch::nn::functional::linear(x, wte->weight);  // (B, T, V), head tied to wte
  else out.hidden = x;                                                    // (B, T, d)
  return out;
}

void GPTImpl::set_attention_kernel(const AttentionKernel& kernel) {
  for (auto& block : blocks) block->attn->set_kernel(kernel);
}

int64_t GPTImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

int64_t GPTImpl::non_embedding_parameter_count() const {
  return parameter_count() - wte->weight.numel() - wpe->weight.numel();
}

nlohmann::json GPTImpl::learned_parameters() const {
  torch::NoGradGuard no_grad;
  nlohmann::json out = nlohmann::json::object();
  auto add_model_wide = [&](const ComponentModule::LearnedValue& v) {
    if (!out.contains(v.name)) out[v.name] = v.value;
  };
  // Per-layer values: name -> one entry per layer (null until a layer reports it).
  const size_t L = blocks.size();
  for (size_t l = 0; l < L; ++l) {
    for (const auto& m : blocks[l]->modules(/*include_self=*/false)) {
      const auto* c = dynamic_cast<const ComponentModule*>(m.get());
      if (!c) continue;
      for (const auto& v : c->learned_values()) {
        if (v.model_wide) {
          add_model_wide(v);
          continue;
        }
        if (!out.contains(v.name)) out[v.name] = nlohmann::json(std::vector<nlohmann::json>(L, nullptr));
        out[v.name][l] = v.value;
      }
    }
  }
  // Modules of the model outside the blocks (the final norm, a regulariser registered on it).
  for (const auto& child : children()) {
    if (std::any_of(blocks.begin(), blocks.end(), [&](const Block& b) { return b.ptr() == child; })) continue;
    for (const auto& m : child->modules(/*include_self=*/true))
      if (const auto* c = dynamic_cast<const ComponentModule*>(m.get()))
        for (const auto& v : c->learned_values()) add_model_wide(v);
  }
  return out;
}

torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

}  // namespace entropix
