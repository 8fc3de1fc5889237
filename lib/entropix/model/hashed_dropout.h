// Training-time dropout whose random mask is a hash of (seed, element index).
//
// LibTorch's CPU dropout draws one Bernoulli per element from the mt19937 generator, serially
// under the generator's lock (about 10 ns per element here: 8-9% of a GPT-2-small step at
// dropout 0.1), and keeps the mask for backward. Here each call draws one 64-bit seed from the same
// default CPU generator, so seeding and checkpointed RNG states still decide every mask, and the
// mask of element i is a function of (seed, i): computed in parallel, vectorised, identical for
// any thread count, and recomputed in backward instead of stored.
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace entropix {

// x (any shape) -> x with each element zeroed with probability p and the others scaled by
// 1 / (1 - p), differentiable in x (the gradient goes through the same mask and scale).
// p must lie in [0, 1]: 0 returns x, 1 zeros. float32 CPU tensors take the hashed mask; any
// other dtype or device LibTorch's own dropout (its generator, its mask).
torch::Tensor hashed_dropout(const torch::Tensor& x, double p);

namespace hashed_dropout_detail {
// The definition of the mask, one element at a time (the kernels compute the same in blocks of
// 16): element i of a call with this seed is kept iff its 32-bit word >= threshold, where
// threshold = round(p * 2^32) and the word is half of SplitMix64's output number 8 (i / 16) + i % 8
// of the stream started at seed (the low half for i % 16 < 8, the high half otherwise).
uint32_t word(uint64_t seed, int64_t i);
uint32_t threshold(double p);
}  // namespace hashed_dropout_detail

}  // namespace entropix
