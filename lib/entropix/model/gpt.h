// GPT-2-style pre-norm decoder assembled from registry components:
//   x = x + Attn(norm_1(x));  x = mix(x, FFN(norm_2(x)));  logits = norm_f(x) W_te^T  (tied head)
// where mix is x + f, or beta * x + f / alpha with learnable FFN scaling.
// Attention is computed explicitly when its probabilities are wanted for entropy, through the
// online-entropy kernel when only their row entropies are (train.attention_kernel), and by
// LibTorch 2.x's fused kernel when neither is.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "entropix/model/registry.h"
#include "entropix/spec/spec.h"

namespace entropix {

// train.attention_kernel / train.attention_block: how attention is computed on the forwards that
// feed entropy (records, the regulariser).
struct AttentionKernel {
  bool online_entropy = false;  // false: "explicit", the probabilities; true: "online_entropy"
  int64_t block = 128;          // keys per block of the online kernel
};

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const LayerContext& ctx);
  // x: (B, T, d) -> (B, T, d). When `entropy` is non-null it receives what entropy needs: with the
  // explicit kernel the attention probabilities (B, H, T, T), with the online-entropy kernel and on
  // the record-only fused path the entropy of every query row (B, H, T); `*entropy_is_rows` says
  // which (when non-null). Attached to the graph when `entropy_grad` and grad mode is on (the
  // regulariser differentiates it); otherwise (a record only reads it) it may be computed outside
  // the graph (attention_path "fused_with_row_entropy").
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* entropy = nullptr, bool* entropy_is_rows = nullptr,
                        bool entropy_grad = true);

  // Which attention computation forward takes: "online_entropy" when entropy is wanted and the
  // online-entropy kernel is selected; "explicit" (logits, the registry's score function,
  // weighted values) for entropy otherwise, except "fused_with_row_entropy" when entropy is wanted
  // without gradient and the fused kernel applies (the output from the fused kernel, each row's
  // entropy computed beside it from q and k without a graph or probabilities:
  // causal_softmax_row_entropy);
  // without entropy "fused" (LibTorch 2.x's scaled-dot-product attention kernel) when the scores
  // are plain softmax, else "explicit" (always on LibTorch 1.13). Never a fused path for attention
  // dropout while training on the CPU (`on_cpu`): LibTorch's CPU kernel has no dropout of its own
  // and would fall back to the explicit path's operations with serial Bernoulli draws; the
  // explicit path computes the same with hashed_dropout.
  std::string attention_path(bool entropy_wanted, bool entropy_grad = true, bool on_cpu = true) const;
  // Throws InputError when the online kernel is asked for and the scores are not a scaled softmax.
  void set_kernel(const AttentionKernel& kernel);

  LinearOp q, k;  // d -> d, with bias
  LinearOp v, o;  // d -> d, no bias (o is the residual projection)
  UnaryOp scores;  // registry "attention": logits -> probabilities

 private:
  // softmax(logits) over q.k / sqrt(hs) and the causal mask, through the registry's scores
  // component; q, k, v (B, H, T, hs) -> (B, H, T, hs).
  torch::Tensor explicit_attention(const torch::Tensor& qh, const torch::Tensor& kh, const torch::Tensor& vh,
                                   torch::Tensor* probs);
  // The probabilities of explicit_attention: q, k (B, H, T, hs) -> (B, H, T, T).
  torch::Tensor probabilities(const torch::Tensor& qh, const torch::Tensor& kh);
  // The same output through online_entropy_attention; *row_entropy (B, H, T) when non-null.
  torch::Tensor online_attention(const torch::Tensor& qh, const torch::Tensor& kh, const torch::Tensor& vh,
                                 torch::Tensor* row_entropy);
  // (T, T): 0 where a query may look, -inf where it may not, in `like`'s dtype and device.
  const torch::Tensor& mask_bias(int64_t T, const torch::Tensor& like);

  int64_t n_head_, head_dim_;
  bool plain_softmax_;         // capability fused_attention: the fused kernel computes the same function
  bool scaled_softmax_;        // capability scaled_softmax: the online-entropy kernel may replace it
  double attention_dropout_;   // model.dropout.attention, on the probabilities while training
  AttentionKernel kernel_;
  torch::Tensor causal_mask_;  // (T, T) bool, true where a query may not look (future keys)
  torch::Tensor mask_bias_;    // cache of mask_bias(); not a buffer, so checkpoints are unchanged
};
TORCH_MODULE(CausalSelfAttention);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const LayerContext& ctx);
  // As CausalSelfAttentionImpl::forward for the entropy arguments.
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* entropy = nullptr, bool* entropy_is_rows = nullptr,
                        bool entropy_grad = true);

  UnaryOp norm_1, norm_2, ffn;  // nullptr when absent
  ResidualMix ffn_scale;        // nullptr: plain residual x + FFN(x)
  CausalSelfAttention attn{nullptr};

 private:
  double residual_dropout_;  // model.dropout.residual, while training
};
TORCH_MODULE(Block);

// What a forward returns. When attention was requested, exactly one of attn_probs (explicit
// kernel) and attn_entropy (online-entropy kernel, or a record beside the fused kernel: see
// CausalSelfAttentionImpl::attention_path) holds one tensor per layer
// (entropy/attention_entropy.h turns either into records and the regulariser's term).
struct ForwardResult {
  torch::Tensor logits;                     // (B, T, V); undefined when the head was left out
  torch::Tensor hidden;                     // (B, T, d) final hidden states, when the head was left out
  std::vector<torch::Tensor> attn_probs;    // L tensors (B, H, T, T)
  std::vector<torch::Tensor> attn_entropy;  // L tensors (B, H, T): each query row's entropy (nats)
};

// The model is a ComponentModule too: it declares its embeddings' roles and owns the parameters
// components share across layers. Modules registered on it later (the entropy regulariser's
// thresholds) are optimised, checkpointed and logged with it.
class GPTImpl : public ComponentModule {
 public:
  explicit GPTImpl(const ModelSpec& spec);
  // idx: (B, T) int64 token ids, T <= context. keep_attention: also return what entropy needs
  // (see ForwardResult), through the kernel set_attention_kernel chose; `attention_grad`: attached to
  // the graph (the regulariser) or possibly not (a record; CausalSelfAttentionImpl::forward).
  // `head` false: no logits, `hidden` instead, for lm_head_cross_entropy with the tied head
  // weight (head_weight()).
  ForwardResult forward(const torch::Tensor& idx, bool keep_attention = false, bool attention_grad = true,
                        bool head = true);
  // (V, d): the LM head's weight, tied to the token embedding.
  const torch::Tensor& head_weight() const { return wte->weight; }
  // Every layer's attention kernel (explicit by default). InputError when a layer's scores do not
  // allow the online kernel.
  void set_attention_kernel(const AttentionKernel& kernel);

  const ModelSpec& spec() const { return spec_; }
  int64_t parameter_count() const;
  // Parameters excluding the token and position embeddings.
  int64_t non_embedding_parameter_count() const;
  // Current learned values for the logs, as the components (and modules registered on the
  // model) report them: a per-layer value becomes a list over layers, null where a layer lacks
  // it; a model-wide value is given once. Empty object when there are none.
  nlohmann::json learned_parameters() const;

  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  std::vector<Block> blocks;
  UnaryOp norm_f;

 private:
  void init_weights();
  ModelSpec spec_;
  SharedParameters shared_{this};
};
TORCH_MODULE(GPT);

// Mean next-token cross-entropy (nats) of logits (B, T, V) against targets (B, T).
torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace entropix
