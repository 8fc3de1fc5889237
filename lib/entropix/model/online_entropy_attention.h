// Causal attention that returns the Shannon entropy of every query row without keeping the
// T x T attention probabilities (train.attention_kernel: online_entropy, docs/entropy.md).
//
// Keys are visited in blocks with an online (flash-style) softmax. Besides the running maximum m,
// the running sum l = sum_j exp(s_j - m) and the weighted values, each row carries
// w = sum_j exp(s_j - m) (s_j - m), so that at the end
//     lse = m + ln l,     sum_j p_j s_j = m + w / l,     H = lse - sum_j p_j s_j = ln l - w / l.
// Backward recomputes each block's probabilities from the saved lse (FlashAttention-2 style);
// with dH the gradient reaching the entropies, each logit's gradient is
//     dS_ij = P_ij (dP_ij - D_i - dH_i (ln P_ij + H_i)),   dP_ij = dO_i . v_j,   D_i = dO_i . O_i,
// the softmax's usual term plus the entropy's, dH/ds_ij = -P_ij (ln P_ij + H).
//
// Memory between forward and backward: q, k, v, the output and two (B, H, T) statistics, instead
// of (B, H, T, T) probabilities per layer; the largest temporary is (B*H, T, block).
#pragma once
#include <torch/torch.h>

namespace entropix {

struct AttentionWithEntropy {
  torch::Tensor out;      // (B, H, T, hs), the dtype of the inputs
  torch::Tensor entropy;  // (B, H, T) nats, float32; differentiable
};

// q, k, v (B, H, T, hs), one dtype (float32, float64 or bfloat16). q carries the softmax's whole
// logit scale (1/sqrt(hs) divided by any learned temperature), so the probabilities are
// softmax(q k^T + causal mask) row by row. `block`: keys per block (>= 1).
// Statistics and probabilities are kept in float32 (float64 for float64 inputs); the products
// with k and v run in the inputs' dtype, as the fused kernels do.
AttentionWithEntropy online_entropy_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                              int64_t block = 128);

}  // namespace entropix
