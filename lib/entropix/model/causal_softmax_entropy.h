// Row entropies of causal softmax attention computed from the queries and keys, for entropy
// records beside the fused attention kernel: no (B, H, T, T) probabilities and no graph.
//
// Row i of a head attends to keys 0..i with p_j = exp(s_j - m) / l, s_j = scale q_i . k_j,
// m = max_j s_j, l = sum_j exp(s_j - m). Its entropy needs no p_j:
//     H_i = -sum_j p_j ln p_j = ln l - w / l,   w = sum_j exp(s_j - m) (s_j - m),
// so one pass over the i + 1 visible logits (a maximum, then exp, two sums) replaces the
// softmax over all T keys and the -p ln p pass over its output.
#pragma once
#include <torch/torch.h>

namespace entropix {

// q, k (B, H, T, hs), one dtype -> (B, H, T) float64, no gradient: the entropy (nats) of every
// query row of softmax(scale q k^T + causal mask). Non-finite logits behave as in softmax: a row
// with a NaN or +inf logit among its keys is NaN, a -inf logit has probability 0, and a row whose
// keys are all -inf is NaN. The logits are q k^T in the inputs' dtype (as softmax's input would
// be); from there on the arithmetic is float64. float32 CPU tensors take one pass per row (eight
// exponentials at a time through glibc's libmvec where AVX-512 is usable); anything else goes
// through LibTorch's softmax and entr in float64.
torch::Tensor causal_softmax_row_entropy(const torch::Tensor& q, const torch::Tensor& k, double scale);

}  // namespace entropix
