// What `run`, `bench` and `eval` set up alike before they compute: the device, the CPU threads,
// and the model (and optimizer) a spec describes. One function builds the model for all three, so
// they train and measure the same thing.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"

namespace entropix {

// Resolves "auto" | "cpu" | "cuda" to a device; InputError when CUDA is asked for but absent.
torch::Device resolve_device(const std::string& requested);

// CPU threads to use: train.threads, else OMP_NUM_THREADS, else the cores this process may use.
int resolve_threads(int64_t requested);

// train.attention_kernel and train.attention_block as the model takes them.
AttentionKernel attention_kernel(const TrainSpec& train);

// The model the spec describes, initialised from spec.seed (the global generator is seeded
// here), with its attention kernel set; on the CPU, in training mode.
GPT build_model(const ExperimentSpec& spec);

// A model ready to train and its optimizer.
struct TrainingModel {
  GPT model{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
};

// build_model, moved to `device`, with make_optimizer's AdamW over its parameters: what `run`
// trains and `bench` times.
TrainingModel build_training_model(const ExperimentSpec& spec, torch::Device device);

}  // namespace entropix
