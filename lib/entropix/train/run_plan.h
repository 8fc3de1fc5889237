// Where a run goes and what it starts from: the run directory, the checkpoint a resume continues
// from, and every check of the input, all before anything is written (docs/cli.md, "Resuming").
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "entropix/data/source.h"
#include "entropix/dist/communicator.h"
#include "entropix/spec/spec.h"
#include "entropix/train/resume.h"
#include "entropix/train/run_options.h"

namespace entropix {

// What a run starts from, once everything that can be wrong with the input has been checked.
struct RunPlan {
  LoadedData data;
  std::filesystem::path run_dir;
  std::vector<ResumePoint> candidates;  // checkpoints to resume from, newest first
  std::vector<std::string> warnings;    // unreadable checkpoints met on the way
  bool already_completed = false;       // --resume of a run that finished: nothing to do
};

// Loads the data and finds the run directory and, for --resume, the checkpoints to continue from;
// writes nothing. InputError for anything wrong with the input: data too short for a batch,
// --resume with --overwrite, no readable checkpoint, a checkpoint of another spec, past
// train.steps or of another number of ranks, a --stop-after the run is already past.
RunPlan plan_run(const ExperimentSpec& spec, const RunOptions& options, int world_size);

// Writes the run directory's spec.yaml and command.txt: appended to when the run continues in
// place, else in a directory prepared afresh (prepare_run_directory).
void prepare_run(const RunPlan& plan, const ExperimentSpec& spec, const RunOptions& options);

// Rank 0 plans the run and writes the run directory; the other ranks wait for that, then plan
// too (reading what rank 0 left), so no rank reads a directory while it is being rewritten. A
// failure on rank 0 ends the others too, with the same kind of exit.
RunPlan plan_and_prepare(const ExperimentSpec& spec, const RunOptions& options, dist::Communicator& comm);

}  // namespace entropix
