// Resuming a run: which checkpoint to continue from, whether the spec still fits it, and how the
// run directory's metrics are cut back to the checkpoint's step (docs/logs.md, "Resuming").
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "entropix/spec/spec.h"
#include "entropix/train/checkpoint.h"

namespace entropix {

// A complete checkpoint whose meta could be read.
struct ResumePoint {
  std::filesystem::path checkpoint;
  CheckpointMeta meta;
};

// Complete checkpoints to try, newest first. `path` is a run directory (its checkpoints/), a
// checkpoints directory, or one checkpoint file (then only that one). Checkpoints whose meta
// cannot be read (corrupt, truncated) are skipped, each reported through `warn`.
std::vector<ResumePoint> resume_candidates(const std::filesystem::path& path,
                                           const std::function<void(const std::string&)>& warn);

// Spec keys that may differ between a checkpoint and the spec that resumes it: the length of the
// run, the optimizer's hyperparameters and schedule, logging, evaluation and checkpoint cadence,
// device and threads, and the regulariser's weighting. Everything else (model.*, seed, data.*,
// train.batch_size, train.grad_accum, entropy_reg.enabled) must match. Entries ending in '.'
// are prefixes.
const std::vector<std::string>& resumable_keys();

// The keys, outside resumable_keys(), whose resolved values differ between the checkpoint's spec
// and `spec`: one line each, "model.n_layer: 4 in the checkpoint, 2 in the spec". Empty when the
// spec can resume the checkpoint.
std::vector<std::string> resume_spec_differences(const ExperimentSpec& checkpoint_spec, const ExperimentSpec& spec);

// What is left of metrics.jsonl after cutting it back to a checkpoint.
struct RetainedMetrics {
  std::vector<nlohmann::json> records;  // kept, in file order
  size_t dropped = 0;                   // records past the step, plus an unreadable last line
};

// Rewrites `metrics_file` atomically keeping only the records with step <= `step` (the training
// they describe is in the checkpoint; later records describe training that will be redone). A
// last line cut short by a crash is dropped too; an unreadable line elsewhere is an InputError.
// A missing file yields no records.
RetainedMetrics cut_metrics_back(const std::filesystem::path& metrics_file, int64_t step);

// What the records kept in a resumed run's metrics.jsonl say about the run so far: what its
// summary and its collapse warnings continue from.
struct RestoredLog {
  double final_val_loss = std::numeric_limits<double>::quiet_NaN();  // the last evaluation's
  double best_val_loss = std::numeric_limits<double>::quiet_NaN();   // the lowest finite one
  int64_t best_step = -1;                                             // its step; -1 without one
  nlohmann::json last_entropy;                 // the last entropy record; null when there is none
  std::vector<int64_t> collapse_warned_layers;  // layers that already had their collapse warning
};
RestoredLog restore_from_metrics(const std::vector<nlohmann::json>& records);

// The checkpoint a run continues from.
struct Resumed {
  ResumePoint point;
  RestoredLog log;  // empty unless metrics_file was given
};

// Loads the newest loadable of `candidates` (newest first) into the model, the optimizer and the
// random generators. A checkpoint that fails to load is skipped with a warning (appended to
// `warnings`) and the next one tried, but none written for another spec. With a `metrics_file`
// (rank 0: the other ranks keep no metrics), the file is then cut back to the checkpoint's step
// (cut_metrics_back; a warning says how many records were dropped, if any) and `log` restored from
// what is left. InputError, with every warning, when no checkpoint could be loaded.
Resumed resume_from_checkpoint(const std::vector<ResumePoint>& candidates, const ExperimentSpec& spec,
                               torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                               const std::filesystem::path& metrics_file, std::vector<std::string>& warnings);

}  // namespace entropix
