// GPT-2-style pre-norm decoder assembled from registry components:
//   x = x + Attn(norm_1(x));  x = x + FFN(norm_2(x));  logits = norm_f(x) W_te^T  (tied head)
// Attention is computed explicitly so its probabilities can be returned for entropy.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "entropix/model/registry.h"
#include "entropix/spec/spec.h"

namespace entropix {

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const LayerContext& ctx);
  // x: (B, T, d) -> (B, T, d). When `probs` is non-null it receives the attention probabilities
  // (B, H, T, T), still attached to the graph.
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* probs = nullptr);

  torch::nn::Linear q_k{nullptr};  // d -> 2d, with bias (Q and K)
  torch::nn::Linear v{nullptr};    // d -> d, no bias
  torch::nn::Linear o{nullptr};    // d -> d, no bias (residual projection)
  UnaryOp scores;                  // registry "attention": logits -> probabilities

 private:
  int64_t n_head_, head_dim_;
  torch::Tensor causal_mask_;  // (T, T) bool, true where a query may not look (future keys)
};
TORCH_MODULE(CausalSelfAttention);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const LayerContext& ctx);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* probs = nullptr);

  UnaryOp norm_1, norm_2, ffn;  // nullptr when absent
  CausalSelfAttention attn{nullptr};
};
TORCH_MODULE(Block);

struct ForwardResult {
  torch::Tensor logits;                   // (B, T, V)
  std::vector<torch::Tensor> attn_probs;  // L tensors (B, H, T, T); empty unless requested
};

class GPTImpl : public torch::nn::Module {
 public:
  explicit GPTImpl(const ModelSpec& spec);
  // idx: (B, T) int64 token ids, T <= context.
  ForwardResult forward(const torch::Tensor& idx, bool keep_attention = false);

  const ModelSpec& spec() const { return spec_; }
  int64_t parameter_count() const;
  // Parameters excluding the token and position embeddings.
  int64_t non_embedding_parameter_count() const;

  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  std::vector<Block> blocks;
  UnaryOp norm_f;

 private:
  void init_weights();
  ModelSpec spec_;
};
TORCH_MODULE(GPT);

// Mean next-token cross-entropy (nats) of logits (B, T, V) against targets (B, T).
torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace entropix
