// `entropix eval`: a saved checkpoint's validation loss and attention entropy, measured exactly as
// the trainer measures them (same val batches, same code: evaluation.h).
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "entropix/entropy/entropy.h"
#include "entropix/spec/spec.h"
#include "entropix/train/full_perplexity.h"

namespace entropix {

struct EvalOptions {
  std::vector<std::string> overrides;  // --set key=value, applied to the checkpoint's spec
  int64_t batches = 0;                 // validation batches; 0: the spec's train.eval_batches
  std::string device;                  // auto | cpu | cuda; empty: the spec's train.device
  bool full = false;                   // also the perplexity over every window of the split (--full)
};

struct EvalResult {
  std::filesystem::path checkpoint;
  int64_t step = 0;
  int64_t batches = 0;
  double val_loss = 0;
  EntropyRecord entropy;  // averaged over the same batches (evaluate_entropy)
  std::optional<FullPerplexity> full;  // with EvalOptions::full: every non-overlapping window, in order
};

// InputError "eval cannot change the architecture: model.n_layer" when `changed` differs from
// `original` in a model.* key or in entropy_reg.enabled (the regulariser's thresholds are
// parameters of the model).
void require_same_architecture(const ExperimentSpec& original, const ExperimentSpec& changed);

// Resolves the checkpoint (a run directory: its newest complete one), rebuilds the model from the
// spec saved in it (with the overrides), loads the weights and evaluates on the validation data
// the spec names. Bad input of any kind (checkpoint, overrides, data) is an InputError.
EvalResult evaluate_checkpoint(const std::filesystem::path& run_dir_or_checkpoint, const EvalOptions& options);

// {checkpoint, step, batches, val_loss, val_ppl, entropy} and, with --full, full: {windows,
// tokens, val_loss, val_ppl}; NaN losses become null.
nlohmann::json to_json(const EvalResult& result);

// The human-readable report: checkpoint and step, val loss and perplexity, the headwise grid with
// layer means, bins, overload/collapse fractions and learned parameters.
std::string eval_report(const EvalResult& result);

}  // namespace entropix
