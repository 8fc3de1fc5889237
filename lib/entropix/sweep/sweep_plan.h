// A sweep: one spec file with a `sweep` section (and optionally `slurm`) -> a list of runs, each
// the spec with a set of overrides, a stable name and a directory (docs/sweeps.md).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "entropix/spec/slurm_options.h"
#include "entropix/spec/spec.h"

namespace entropix {

using Override = std::pair<std::string, std::string>;  // spec key path, value as YAML text

struct SweepRun {
  std::string name;                 // "sm-ln-g_lr=0.001": variant name, then one part per grid axis
  std::vector<Override> overrides;  // the variant's, then the grid's, in the order given
  std::filesystem::path dir;        // <sweep dir>/<name>
  ExperimentSpec spec;              // resolved: the file + --set + overrides + name
};

struct SweepPlan {
  std::string name;                     // sweep.name, else the spec's name
  std::filesystem::path spec_file;
  std::vector<std::string> common_sets; // --set given to the sweep command (but slurm.*): applied to every run
  std::filesystem::path dir;            // where the runs go
  std::string baseline;                 // name of the run others are compared with
  std::vector<std::string> axes;        // grid keys, in order
  std::vector<SweepRun> runs;
  SlurmOptions slurm;
};

// Reads the spec's `sweep` and `slurm` sections, adds the `--grid key=v1,v2` axes (replacing a
// file axis of the same key), and resolves every run's spec. Every problem of every run (unknown
// key, invalid value, duplicate name, malformed section) is collected and thrown as one
// InputError before anything runs. `out_dir` empty: runs/<sweep name>. The run count is checked
// against kMaxSweepRuns before any run is resolved. `--set slurm.<key>=v` in `common_sets` sets the
// slurm section and is not passed on to the runs.
inline constexpr int64_t kMaxSweepRuns = 10000;
SweepPlan plan_sweep(const std::string& spec_file, const std::vector<std::string>& common_sets,
                     const std::vector<std::string>& grid_args, const std::filesystem::path& out_dir);

// "train.lr=0.001" style list of a run's overrides, "; "-separated ("" for none).
std::string overrides_text(const std::vector<Override>& overrides);

}  // namespace entropix
