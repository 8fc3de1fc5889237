// The tied language-model head and its next-token cross-entropy as one autograd function.
//
// LibTorch's cross_entropy over logits = x W^T keeps the (N, V) log-softmax for backward and
// builds two more (N, V) tensors there (nll_loss's one-hot gradient, log_softmax's result), each a
// full pass over memory; at GPT-2's V = 50257 those passes are a tenth of a CPU step. Here the
// logits' buffer becomes their gradient (softmax - onehot) / N in the forward, while it is being
// read anyway, and backward is just the two products with it.
#pragma once
#include <torch/torch.h>

namespace entropix {

// x (..., d) final hidden states, weight (V, d) the tied embedding, targets (...) int64 in [0, V)
// -> () the mean over positions of -ln softmax(x W^T)[target], as
// torch::nn::functional::cross_entropy(x W^T, targets) computes it (float32; in float64 for
// float64 inputs). Differentiable in x and weight. The product runs in the dtype autocast gives
// it (bf16 under bf16 autocast), the softmax in float32. float32 CPU rows take a vectorised pass
// (AVX-512 and glibc's libmvec exp) where the CPU has it, anything else LibTorch's operations.
// Throws c10::Error for a target outside [0, V).
torch::Tensor lm_head_cross_entropy(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& targets);

}  // namespace entropix
