// The AdamW optimizer of a training run, shared by `run` and `bench`.
#pragma once
#include <torch/torch.h>

#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"

namespace entropix {

// AdamW over two parameter groups: weight decay (train.weight_decay) only on tensors with >= 2
// dimensions (matrices, embeddings), none on biases, norm gains, learned scalars and
// temperatures; train.lr, beta1, beta2 and eps for both.
torch::optim::AdamW make_optimizer(GPT& model, const TrainSpec& t);

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::AdamW& opt, double lr);

}  // namespace entropix
