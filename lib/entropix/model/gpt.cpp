#include "entropix/model/gpt.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "entropix/model/online_entropy_attention.h"
#include "entropix/util/error.h"
#include "entropix/util/torch_compat.h"

namespace entropix {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Builds a d -> d projection, reparameterised when its group is selected.
LinearOp projection(const LayerContext& ctx, const std::string& group, bool bias) {
  const auto& groups = ctx.model.attn_reparam_groups;
  const bool selected = std::find(groups.begin(), groups.end(), group) != groups.end();
  LayerContext lin = ctx;
  lin.in_features = ctx.dim;
  lin.out_features = ctx.dim;
  lin.bias = bias;
  return build_component<LinearOpImpl>("reparam", selected ? ctx.layer.attn_reparam : "none", lin);
}

template <typename T>
void register_if(torch::nn::Module& parent, const std::string& name, const std::shared_ptr<T>& child) {
  if (child) parent.register_module(name, child);
}

// Copies a tensor into nested JSON arrays (scalars stay numbers).
nlohmann::json to_nested(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  if (c.dim() == 0) return c.item<double>();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < c.size(0); ++i) out.push_back(to_nested(c[i]));
  return out;
}

}  // namespace

bool exempt_from_weight_decay(const std::string& name) {
  return ends_with(name, "log_temperature") || ends_with(name, "entropy_reg.threshold");
}

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const LayerContext& ctx)
    : n_head_(ctx.model.n_head), head_dim_(ctx.dim / ctx.model.n_head), plain_softmax_(ctx.layer.attention == "softmax") {
  q = register_module("q", projection(ctx, "qk", /*bias=*/true));
  k = register_module("k", projection(ctx, "qk", /*bias=*/true));
  v = register_module("v", projection(ctx, "v", /*bias=*/false));
  o = register_module("o", projection(ctx, "o", /*bias=*/false));
  scores = build_component<UnaryOpImpl>("attention", ctx.layer.attention, ctx);
  TORCH_CHECK(scores, "attention component ", ctx.layer.attention, " built nothing");
  register_module("scores", scores);
  const int64_t T = ctx.model.context;
  causal_mask_ = register_buffer("causal_mask", torch::ones({T, T}, torch::kBool).triu(1));
}

std::string CausalSelfAttentionImpl::attention_path(bool entropy_wanted) const {
  if (entropy_wanted) return kernel_.online_entropy ? "online_entropy" : "explicit";
  return compat::has_fused_sdpa && plain_softmax_ ? "fused" : "explicit";
}

void CausalSelfAttentionImpl::set_kernel(const AttentionKernel& kernel) {
  if (kernel.block < 1)
    throw InputError("train.attention_block: must be >= 1, got " + std::to_string(kernel.block));
  if (kernel.online_entropy && !dynamic_cast<const ScaledSoftmax*>(scores.get()))
    throw InputError("train.attention_kernel: online_entropy needs attention scores that are a softmax of "
                     "scaled logits (softmax, softmax_temperature); use explicit for this model");
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

torch::Tensor CausalSelfAttentionImpl::explicit_attention(const torch::Tensor& qh, const torch::Tensor& kh,
                                                          const torch::Tensor& vh, torch::Tensor* probs) {
  const int64_t B = qh.size(0), H = qh.size(1), T = qh.size(2), hs = qh.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  // One batched product does the scaling and the masking: logits = bias + scale * q k^T, with
  // bias -inf above the diagonal (future keys) and 0 elsewhere. This saves the separate scale and
  // masked_fill passes over the (B, H, T, T) logits, and their backward passes.
  auto q3 = qh.reshape({B * H, T, hs});
  auto k3 = kh.reshape({B * H, T, hs});
  auto logits = torch::baddbmm(mask_bias(T, q3), q3, k3.transpose(1, 2), /*beta=*/1.0, /*alpha=*/scale)
                    .view({B, H, T, T});  // (B, H, T, T), -inf at future keys
  auto p = scores->forward(logits);      // (B, H, T, T), rows sum to 1
  if (probs) *probs = p;
  return torch::bmm(p.view({B * H, T, T}), vh.reshape({B * H, T, hs})).view({B, H, T, hs});  // (B, H, T, hs)
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

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, torch::Tensor* entropy, bool* entropy_is_rows) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  auto split_heads = [&](const torch::Tensor& t) { return t.view({B, T, n_head_, head_dim_}).transpose(1, 2); };
  auto qh = split_heads(q->forward(x));  // (B, H, T, hs)
  auto kh = split_heads(k->forward(x));  // (B, H, T, hs)
  auto vh = split_heads(v->forward(x));  // (B, H, T, hs)
  const std::string path = attention_path(entropy != nullptr);
  if (entropy_is_rows) *entropy_is_rows = path == "online_entropy";
  torch::Tensor y;  // (B, H, T, hs)
  if (path == "fused") y = compat::fused_causal_attention(qh, kh, vh);
  else if (path == "online_entropy") y = online_attention(qh, kh, vh, entropy);
  else y = explicit_attention(qh, kh, vh, entropy);
  y = y.transpose(1, 2).contiguous().view({B, T, C});  // (B, T, d)
  return o->forward(y);
}

BlockImpl::BlockImpl(const LayerContext& ctx) {
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

torch::Tensor BlockImpl::forward(const torch::Tensor& x, torch::Tensor* entropy, bool* entropy_is_rows) {
  auto h = x + attn->forward(norm_1 ? norm_1->forward(x) : x, entropy, entropy_is_rows);
  if (!ffn) return h;
  auto f = ffn->forward(norm_2 ? norm_2->forward(h) : h);
  return ffn_scale ? ffn_scale->forward(h, f) : h + f;
}

GPTImpl::GPTImpl(const ModelSpec& spec, const EntropyRegSpec& entropy_reg_spec) : spec_(spec) {
  wte = register_module("wte", torch::nn::Embedding(spec.vocab_size, spec.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(spec.context, spec.n_embd));
  std::vector<LayerSpec> layer_specs;
  for (int64_t l = 0; l < spec.n_layer; ++l) layer_specs.push_back(spec_.layer(l));
  const bool global_slope = spec.slope_scope == "global" &&
      std::any_of(layer_specs.begin(), layer_specs.end(),
                  [](const LayerSpec& ls) { return ls.activation == "learnable_leaky_relu"; });
  if (global_slope)
    shared_.global_slope = register_parameter("global_slope", torch::full({1}, spec.slope_init));
  for (int64_t l = 0; l < spec.n_layer; ++l) {
    LayerContext ctx{spec_, layer_specs[l], l, spec.n_embd};
    ctx.shared = &shared_;
    blocks.push_back(register_module("h" + std::to_string(l), Block(ctx)));
  }
  const LayerSpec model_level = spec_.layer(0);
  LayerContext final_ctx{spec_, model_level, -1, spec.n_embd};
  norm_f = build_component<UnaryOpImpl>("norm", spec.final_norm, final_ctx);
  register_if(*this, "norm_f", norm_f);
  if (entropy_reg_spec.enabled)
    entropy_reg = register_module("entropy_reg", EntropyRegulariser(spec.n_layer, spec.n_head, entropy_reg_spec));
  init_weights();
}

// GPT-2 initialisation: weight matrices and embeddings N(0, 0.02), biases 0, gains as their
// components set them; with model.scaled_residual_init the projections that write into the
// residual stream (attn.o and the FFN's output matrix) get std 0.02 / sqrt(2 L) so the residual
// variance does not grow with depth.
// Learned temperatures keep their initial value.
void GPTImpl::init_weights() {
  torch::NoGradGuard no_grad;
  const double residual_std =
      spec_.scaled_residual_init ? 0.02 / std::sqrt(2.0 * static_cast<double>(spec_.n_layer)) : 0.02;
  auto params = named_parameters();
  for (auto& item : params) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    if (p.dim() >= 2 && !exempt_from_weight_decay(name)) {
      const bool residual = name.find("attn.o.") != std::string::npos || name.find("ffn.c_proj.") != std::string::npos ||
                            name.find("ffn.c_fused.") != std::string::npos;
      p.normal_(0.0, residual ? residual_std : 0.02);
    } else if (ends_with(name, ".bias")) {
      p.zero_();
    }
  }
  // Weight norm (w = g v / ||v||): set g to the row norms of the freshly drawn v so that the
  // effective weight starts equal to v, as a plain layer's would.
  for (auto& item : params) {
    const std::string& name = item.key();
    if (!ends_with(name, ".g")) continue;
    const std::string v_name = name.substr(0, name.size() - 1) + "v";
    if (auto* v = params.find(v_name)) item.value().copy_(v->norm(2, /*dim=*/1));
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
      torch::Tensor a;
      bool rows = false;
      x = block->forward(x, &a, &rows);
      (rows ? out.attn_entropy : out.attn_probs).push_back(a);
    } else {
      x = block->forward(x);
    }
  }
  if (norm_f) x = norm_f->forward(x);
  out.logits = torch::nn::functional::linear(x, wte->weight);  // (B, T, V), head tied to wte
  return out;
}

void GPTImpl::set_attention_kernel(const AttentionKernel& kernel) {
  for (auto& block : blocks) block->attn->set_kernel(kernel);
}

EntropyRecord measure_attention_entropy(const ForwardResult& out, int64_t step, const std::string& split,
                                        const std::string& bin_max_mode) {
  return out.attn_entropy.empty() ? measure_entropy(out.attn_probs, step, split, bin_max_mode)
                                  : measure_row_entropy(out.attn_entropy, step, split, bin_max_mode);
}

torch::Tensor entropy_penalty(const EntropyRegulariserImpl& regulariser, const ForwardResult& out) {
  return out.attn_entropy.empty() ? regulariser.forward(out.attn_probs) : regulariser.forward_rows(out.attn_entropy);
}

ForwardResult detached_attention(const ForwardResult& out) {
  ForwardResult copy;
  for (const auto& p : out.attn_probs) copy.attn_probs.push_back(p.detach().to(torch::kFloat));
  for (const auto& e : out.attn_entropy) copy.attn_entropy.push_back(e.detach());
  return copy;
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
  // Log name -> (parameter leaf name, transform to the logged value).
  struct Tracked {
    const char* log_name;
    const char* leaf;
    bool exponentiate;
  };
  const Tracked tracked[] = {{"temperature", "log_temperature", true},
                             {"slope", "slope", false},
                             {"ffn_alpha", "alpha", false},
                             {"ffn_beta", "beta", false}};
  nlohmann::json out = nlohmann::json::object();
  torch::NoGradGuard no_grad;
  for (const auto& t : tracked) {
    nlohmann::json per_layer = nlohmann::json::array();
    bool any = false;
    for (const auto& block : blocks) {
      nlohmann::json value = nullptr;
      for (const auto& item : block->named_parameters()) {
        if (!ends_with(item.key(), std::string(".") + t.leaf)) continue;
        value = to_nested(t.exponentiate ? item.value().exp() : item.value());
        if (value.is_array() && value.size() == 1 && std::string(t.leaf) != "log_temperature") value = value[0];
        any = true;
      }
      per_layer.push_back(value);
    }
    if (any) out[t.log_name] = per_layer;
  }
  if (shared_.global_slope.defined()) out["slope"] = {shared_.global_slope.item<double>()};
  if (entropy_reg) out["threshold"] = to_nested(entropy_reg->threshold);
  return out;
}

torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

}  // namespace entropix
