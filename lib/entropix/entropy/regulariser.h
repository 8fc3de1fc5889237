// The entropy regulariser of the seed paper (Algorithm 1), docs/entropy.md:
//   delta(l,h)   = E(l,h) - theta(l,h) * E_max            E_max = ln T
//   penalty(l,h) = delta^2 if |delta| > gamma * E_max else 0
//   L_ent        = mean over layers of (mean over heads of penalty)
// with learnable thresholds theta, one per head per layer. Reduction "mean" applies the penalty
// to E(l,h) averaged over batch and queries; "sum" applies it to every (sequence, query) entropy
// and sums them before the head and layer means, as the released code does.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "entropix/spec/spec.h"

namespace entropix {

// The two-sided penalty with a dead band: delta^2 where |delta| > band, else 0.
torch::Tensor banded_square(const torch::Tensor& delta, double band);

class EntropyRegulariserImpl : public torch::nn::Module {
 public:
  EntropyRegulariserImpl(int64_t n_layer, int64_t n_head, const EntropyRegSpec& spec);
  // probs: L tensors (B, H, T, T) -> L_ent, a scalar (without the coefficient lambda).
  torch::Tensor forward(const std::vector<torch::Tensor>& probs) const;
  // The same from every layer's row entropies: L tensors (B, H, T) -> L_ent.
  torch::Tensor forward_rows(const std::vector<torch::Tensor>& row_entropy) const;

  torch::Tensor threshold;  // (L, H) theta, a fraction of E_max

 private:
  EntropyRegSpec spec_;
};
TORCH_MODULE(EntropyRegulariser);

}  // namespace entropix
