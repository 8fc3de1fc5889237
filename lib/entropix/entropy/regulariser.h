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

#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"

namespace entropix {

// The two-sided penalty with a dead band: delta^2 where |delta| > band, else 0.
torch::Tensor banded_square(const torch::Tensor& delta, double band);

// A ComponentModule so that its thresholds carry their role (never decayed, left at their
// initial value by the model's init) and are logged as the learned value "threshold".
class EntropyRegulariserImpl : public ComponentModule {
 public:
  EntropyRegulariserImpl(int64_t n_layer, int64_t n_head, const EntropyRegSpec& spec);
  // probs: L tensors (B, H, T, T) -> L_ent, a scalar (without the coefficient lambda).
  torch::Tensor forward(const std::vector<torch::Tensor>& probs) const;
  // The same from every layer's row entropies: L tensors (B, H, T) -> L_ent.
  torch::Tensor forward_rows(const std::vector<torch::Tensor>& row_entropy) const;

  // threshold [L][H]
  std::vector<LearnedValue> learned_values() const override;

  torch::Tensor threshold;  // (L, H) theta, a fraction of E_max

 private:
  EntropyRegSpec spec_;
};
TORCH_MODULE(EntropyRegulariser);

// What the regulariser logs, as component descriptors declare theirs.
LearnedValueInfo regulariser_learned_value();

// With the regulariser enabled: creates it and registers it on the model as "entropy_reg", so its
// thresholds are optimised, checkpointed and logged with the model's parameters. Returns it (an
// empty handle when disabled). Call before moving the model to its device and building the optimizer.
EntropyRegulariser attach_entropy_regulariser(GPT& model, const EntropyRegSpec& spec);
// The model of `model_spec`, with the regulariser of `entropy_reg` attached when it is enabled.
GPT build_model(const ModelSpec& model_spec, const EntropyRegSpec& entropy_reg);
// The regulariser attached to `model`, or an empty handle.
EntropyRegulariser attached_entropy_regulariser(const GPT& model);

}  // namespace entropix
