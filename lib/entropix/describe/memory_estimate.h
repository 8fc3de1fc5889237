// What training a spec needs in memory, estimated from its sizes alone (nothing is built), and
// the check `run` (and `validate`, `describe`) make with it before anything is written
// (docs/reliability.md, "Input checks").
//
// The estimate is meant as a floor, so that a refusal is never wrong by much:
//   parameters P = weights of the blocks' linear maps (their MACs per token, from the registry's
//                  costs) + token and position embeddings (V d + T d); biases and gains left out
//   parameter memory = 4 P bytes (fp32), gradients 4 P, AdamW moments 8 P
//   activations (one micro-batch, kept for the backward pass) = B T x (L x (6 d + 2 m d + H T) + 2 V)
//     elements of 4 bytes (2 under bf16): per layer the inputs of the Q/K/V/O projections and the
//     two norms (6 d), the FFN hidden before and after its activation (2 m d), the attention
//     probabilities (H T per token); then the logits and their gradient (2 V).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "entropix/spec/spec.h"

namespace entropix {

struct MemoryEstimate {
  double params = 0;            // parameter count
  double parameter_bytes = 0;   // weights
  double gradient_bytes = 0;
  double optimizer_bytes = 0;   // AdamW's two moments
  double activation_bytes = 0;  // one micro-batch
  double total() const { return parameter_bytes + gradient_bytes + optimizer_bytes + activation_bytes; }
};

MemoryEstimate estimate_training_memory(const ExperimentSpec& spec);

// Memory a run can use: `what` names it in messages ("available RAM (MemAvailable)", "CUDA device 0 free memory").
struct MemoryBudget {
  double bytes = 0;
  std::string what;
};

// The budget of `device` ("cpu" or "cuda"; "auto" resolves as training does): on the CPU the
// smaller of MemAvailable and the cgroup's memory.max - memory.current; on CUDA the device's free
// memory where LibTorch reports it (2.10 and later). nullopt when it cannot be read.
std::optional<MemoryBudget> device_memory(const std::string& device);

// Parses a size: a number of bytes with an optional K, M, G or T suffix (powers of 1024; "B",
// "iB" may follow): "8G", "512MiB", "1.5T", "1000000". Throws InputError naming `option`.
double parse_memory_size(const std::string& text, const std::string& option);

// "12.3 GiB"
std::string format_bytes(double bytes);

// "" when `needed` fits `budget`, else a one-line problem naming both.
std::string memory_problem(const std::string& origin, const MemoryEstimate& needed, const MemoryBudget& budget,
                           int64_t processes = 1);

}  // namespace entropix
