#include "entropix/train/setup.h"

#include <algorithm>
#include <cstdlib>

#include "entropix/entropy/regulariser.h"
#include "entropix/train/optimizer.h"
#include "entropix/util/cpu_load.h"
#include "entropix/util/error.h"
#include "entropix/util/torch_compat.h"

namespace entropix {

torch::Device resolve_device(const std::string& requested) {
  if (requested == "cpu") return torch::kCPU;
  if (requested == "cuda") {
    if (!compat::cuda_available())
      throw InputError("train.device: cuda requested but LibTorch sees no CUDA device (valid here: auto, cpu)");
    return torch::kCUDA;
  }
  if (requested == "auto" || requested.empty()) return compat::cuda_available() ? torch::kCUDA : torch::kCPU;
  throw InputError("--device: unknown device '" + requested + "'; valid: auto, cpu, cuda");
}

int resolve_threads(int64_t requested) {
  if (requested > 0) return static_cast<int>(requested);
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return available_cpus();
}

AttentionKernel attention_kernel(const TrainSpec& train) {
  AttentionKernel kernel;
  kernel.online_entropy = train.attention_kernel == "online_entropy";
  kernel.block = train.attention_block;
  return kernel;
}

GPT build_model(const ExperimentSpec& spec) {
  torch::manual_seed(spec.seed);
  GPT model = build_model(spec.model, spec.entropy_reg);
  model->set_attention_kernel(attention_kernel(spec.train));
  model->train();
  return model;
}

TrainingModel build_training_model(const ExperimentSpec& spec, torch::Device device) {
  TrainingModel out;
  out.model = build_model(spec);
  out.model->to(device);
  out.optimizer = std::make_unique<torch::optim::AdamW>(make_optimizer(out.model, spec.train));
  return out;
}

}  // namespace entropix
