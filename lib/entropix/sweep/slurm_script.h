// `entropix sweep --slurm FILE`: the sweep as an sbatch job array script, one array task per run.
#pragma once
#include <filesystem>
#include <string>

#include "entropix/sweep/sweep_plan.h"

namespace entropix {

// The script's text. Each task runs `entropix run ... --resume auto` into its run directory
// (output appended to <run dir>/console.log), forwards Slurm's early-warning signal (SIGUSR1,
// `slurm.signal_seconds` before the limit) so the run checkpoints, and requeues itself when the run
// stopped interrupted (exit 4). Paths are made absolute; `entropix_bin` is the default binary,
// overridable at submission through the ENTROPIX environment variable.
std::string slurm_script(const SweepPlan& plan, const std::filesystem::path& entropix_bin);

// Single-quotes `text` for POSIX shells unless it is made of safe characters only.
std::string shell_word(const std::string& text);

}  // namespace entropix
