// The evaluation `entropix run` and `entropix eval` share: validation loss and attention entropy
// over the first n batches of the validation sampler, so both report the same numbers. Both go
// through the training step's forward and loss (train_step.h), without gradients or autocast.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "entropix/data/batches.h"
#include "entropix/entropy/entropy.h"
#include "entropix/model/gpt.h"
#include "entropix/train/train_step.h"

namespace entropix {

// Mean next-token loss over val batches k = 0..n-1 of `sampler`, no grad, model in eval mode
// during and its previous mode restored after. n_batches < 1 is std::invalid_argument.
double evaluate_loss(GPT& model, const BatchSampler& sampler, int64_t n_batches, torch::Device device);

// Entropy record (split "val") whose headwise table is averaged over val batches (nan_counts summed)
// 0..n-1: each batch is measured with measure_entropy, then every head is averaged over the batches
// where it is finite (NaN when it is finite in none); layerwise and bins are recomputed from the
// averaged table. learned = model->learned_parameters(). With n_batches = 1 this equals the
// trainer's record on val batch 0. Same mode handling and errors as evaluate_loss.
EntropyRecord evaluate_entropy(GPT& model, const BatchSampler& sampler, int64_t n_batches, torch::Device device,
                               int64_t step, const std::string& bin_max_mode = "observed");

}  // namespace entropix
