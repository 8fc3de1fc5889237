// A trained model read back from a run directory or a checkpoint file, for the commands that use
// a model outside training: `export` and `sample`.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"
#include "entropix/train/checkpoint.h"

namespace entropix {

struct LoadedModel {
  std::filesystem::path checkpoint;  // the file the weights came from
  CheckpointMeta meta;
  ExperimentSpec spec;  // the checkpoint's resolved spec
  GPT model{nullptr};   // in eval mode, on `device`
};

// Resolves a run directory to its newest complete checkpoint (or takes a checkpoint file), builds
// the model its spec describes and loads the weights, exactly as `entropix eval` does. InputError
// for a missing, incomplete or mismatched checkpoint.
LoadedModel load_trained_model(const std::filesystem::path& run_dir_or_checkpoint,
                               torch::Device device = torch::kCPU);

}  // namespace entropix
