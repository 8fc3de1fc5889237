// `entropix bench`: times the training steps of a spec's model and reports throughput, FLOP/s,
// MFU against a matmul peak measured on the same device, peak memory and the cost of entropy
// measurement. The JSON it returns is documented field by field in docs/performance.md.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "entropix/spec/spec.h"

namespace entropix {

struct BenchOptions {
  int64_t steps = 20;   // measured steps (of each kind)
  int64_t warmup = 3;   // untimed steps first (of each kind)
  std::string device;   // overrides train.device when set
  // Where batches come from: "synthetic" (uniform random tokens, no data needed) or "spec"
  // (the spec's training data through the same sampler as `run`). Same compute either way.
  std::string data = "synthetic";
  // Entropy measurement timed against plain steps: "step" (the training forward keeps its
  // attention probabilities and a record is computed from them), "forward" (an extra no-grad
  // forward on the step's batch, as `run` does for log.entropy_split train and val), or "none".
  std::string entropy = "step";
  int64_t peak_size = 2048;   // the peak is the best of peak_repeats n x n x n matmuls
  int64_t peak_repeats = 5;
  std::filesystem::path profile;  // when set: a Chrome trace of 2 extra plain steps is written here
  std::string command_line;       // recorded in the result
  std::function<void(const std::string&)> progress;  // progress lines; may be empty
};

// Runs the benchmark. InputError for bad options or an unavailable device.
nlohmann::json run_bench(const ExperimentSpec& spec, const BenchOptions& options);

// A short human-readable summary of run_bench's result.
std::string bench_text(const nlohmann::json& result);

// Training FLOPs of one optimizer step as bench counts them (see docs/performance.md):
// {forward_blocks_per_sequence, lm_head_per_sequence, forward_per_sequence, sequences_per_step,
//  train_per_step}; train_per_step = 3 x forward_per_sequence x sequences_per_step.
nlohmann::json training_flops(const ExperimentSpec& spec);

}  // namespace entropix
