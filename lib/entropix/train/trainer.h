// Training: one experiment spec -> one run directory.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "entropix/entropy/attention_entropy.h"
#include "entropix/entropy/entropy.h"
#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"

namespace entropix {

namespace dist {
class GradientSync;
}

struct RunOptions {
  std::filesystem::path out_dir;  // empty: runs/<spec name>
  bool overwrite = false;         // replace a finished run in out_dir
  bool quiet = false;             // no progress lines
  std::string device;             // overrides train.device when set
  std::string command_line;       // recorded in command.txt and summary.json
  // "" trains from scratch; "auto" continues from the newest complete checkpoint in the run
  // directory (from scratch when it has none); anything else is a checkpoint file or a run
  // directory to continue from (docs/cli.md, "Resuming").
  std::string resume;
  // > 0: stop after this step as an interruption would (checkpoint, status interrupted, exit 4),
  // for time-sliced jobs; the run is continued with --resume.
  int64_t stop_after = 0;
  // Data-parallel runs (docs/distributed.md): seconds a rank waits for the others (rendezvous,
  // each collective, rank 0's set-up) before it fails instead of hanging.
  int64_t dist_timeout_s = 300;
};

struct RunResult {
  std::string status;  // completed | diverged | interrupted (or completed for a finished run resumed)
  int exit_code = 0;   // 0 completed, 3 diverged, 4 interrupted (after writing a checkpoint)
  std::filesystem::path run_dir;
};

// Trains the model the spec describes and writes the run directory. Bad input (data, device,
// run directory) throws InputError before anything is written. Under torchrun or Slurm (or as a
// rank of `run --nproc`), the process is one rank of a data-parallel run: each rank trains on its
// share of every batch, gradients are averaged, and rank 0 alone writes (docs/distributed.md).
RunResult run_experiment(const ExperimentSpec& spec, const RunOptions& options);

using Batch = std::pair<torch::Tensor, torch::Tensor>;  // (x, y), each (B, T) int64

struct StepLosses {
  double loss = 0;       // mean next-token cross-entropy of the step's sequences
  double ereg_loss = 0;  // lambda * L_ent, the regulariser's term (0 when off)
};

// Forward and backward over the micro-batches of one optimizer step. Each micro-batch's loss is
// weighted by its share of the step's sequences, so the accumulated gradient equals that of one
// batch holding all of them. With ereg_coeff > 0 (and model->entropy_reg set) the objective is
// cross-entropy + ereg_coeff * L_ent. With `sync`, the last micro-batch's backward also averages
// the gradients over the ranks of a data-parallel run.
StepLosses accumulate_gradients(GPT& model, const std::vector<Batch>& micro_batches, double ereg_coeff = 0,
                                dist::GradientSync* sync = nullptr);

// What a step's forward and backward do beyond the plain objective.
struct StepOptions {
  double ereg_coeff = 0;  // as above
  bool bf16 = false;      // forward and losses under bf16 autocast (train.precision: bf16); backward outside it
  // When non-null: receives the first micro-batch's attention (detached_attention: probabilities
  // (B, H, T, T) as float32, or row entropies with the online-entropy kernel) from the training
  // forward itself, for an entropy record of the step without a second forward. They are taken
  // before this step's update.
  ForwardResult* attention = nullptr;
  // When non-null: the last micro-batch's backward also averages the gradients over the ranks
  // of a data-parallel run.
  dist::GradientSync* sync = nullptr;
};
StepLosses accumulate_gradients(GPT& model, const std::vector<Batch>& micro_batches, const StepOptions& options);

// train.attention_kernel and train.attention_block as the model takes them.
AttentionKernel attention_kernel(const TrainSpec& train);

// Resolves "auto" | "cpu" | "cuda" to a device; InputError when CUDA is asked for but absent.
torch::Device resolve_device(const std::string& requested);

// CPU threads to use: train.threads, else OMP_NUM_THREADS, else the cores this process may use.
int resolve_threads(int64_t requested);

}  // namespace entropix
