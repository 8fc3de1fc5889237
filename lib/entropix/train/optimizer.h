// The AdamW optimizer of a training run, shared by `run` and `bench`.
#pragma once
#include <torch/torch.h>

#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"

namespace entropix {

// Whether weight decay applies to a parameter of this role under train.decay_groups:
//   matrices  weight matrices, weight-norm directions and embeddings decay; biases, gains,
//             learned scalars, temperatures, thresholds and weight-norm magnitudes do not;
//   released  as the papers' released code (HF Trainer: everything but LayerNorm and bias
//             parameters): learned scalars (slopes, FFN scales) and weight-norm magnitudes decay
//             too; norm gains, biases, temperatures and thresholds do not.
bool decays(ParamRole role, const std::string& decay_groups = "matrices");

// AdamW over two parameter groups by role (decays()): train.weight_decay on one, none on the
// other; train.lr, beta1, beta2 and eps for both. Every parameter of the model, including modules
// registered on it (the regulariser's thresholds), in the model's parameter order.
torch::optim::AdamW make_optimizer(GPT& model, const TrainSpec& t);

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::AdamW& opt, double lr);

}  // namespace entropix
