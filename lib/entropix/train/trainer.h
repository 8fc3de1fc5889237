// Training: one experiment spec -> one run directory. The loop lives here; the step it takes is
// train_step.h, where it goes and what it resumes from run_plan.h, what it writes run_recorder.h.
#pragma once
#include "entropix/spec/spec.h"
#include "entropix/train/run_options.h"
#include "entropix/train/setup.h"
#include "entropix/train/train_step.h"

namespace entropix {

// Trains the model the spec describes and writes the run directory. Bad input (data, device,
// run directory) throws InputError before anything is written. Under torchrun or Slurm (or as a
// rank of `run --nproc`), the process is one rank of a data-parallel run: each rank trains on its
// share of every batch, gradients are averaged, and rank 0 alone writes (docs/distributed.md).
RunResult run_experiment(const ExperimentSpec& spec, const RunOptions& options);

}  // namespace entropix
