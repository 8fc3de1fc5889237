// The `slurm` section of a spec: resources and behaviour of the sbatch job array `entropix sweep
// --slurm` writes (docs/sweeps.md). Read here, in the spec module, so that `validate`, `run` and
// `--set slurm.<key>=value` check it with the same rules as `sweep` does.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "entropix/spec/spec_keys.h"

namespace entropix {

struct SlurmOptions {
  std::string partition, account, qos, time = "04:00:00", mem;
  int64_t gpus = 0;            // per task; 0: no --gres line
  int64_t cpus_per_task = 0;   // 0: no line
  int64_t max_parallel = 0;    // array throttle (%N); 0: none
  int64_t signal_seconds = 300;  // SIGUSR1 this long before the time limit, so the run checkpoints
  std::vector<std::string> extra;  // more "#SBATCH ..." option strings, e.g. "--constraint=h100"
  std::vector<std::string> setup;  // shell lines run before entropix, e.g. "module load cuda"
};

// The section `node` (null: defaults); problems are located in `origin` (a file).
SlurmOptions read_slurm(const YAML::Node& node, const std::string& origin, spec_detail::Problems& problems);

// Applies one `--set slurm.<key>=<value>` (`assignment` is "slurm.<key>=<value>") with the same
// checks as the file's section.
void apply_slurm_override(SlurmOptions& options, const std::string& assignment, spec_detail::Problems& problems);

}  // namespace entropix
