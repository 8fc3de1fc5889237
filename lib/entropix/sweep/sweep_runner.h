// Runs a sweep's runs as child `entropix run` processes: one after another or N at a time,
// skipping completed ones, resuming interrupted ones, carrying on past failures.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "entropix/sweep/sweep_plan.h"

namespace entropix {

// What a run directory says about its run: "new" (nothing there yet), else its RunStatus
// (read_run_status): "completed", "diverged", "interrupted", "failed", or "unfinished" (started,
// no summary: running or killed hard).
std::string run_state(const std::filesystem::path& run_dir);

struct SweepOptions {
  int jobs = 1;                       // runs at a time
  bool quiet = false;                 // no per-run lines
  std::filesystem::path entropix_bin; // the binary to run (default: this process's)
  std::string device;                 // passed as --device when set
};

struct SweepOutcome {
  // 0: every run completed or diverged (a result, reported in the summary); 4: stopped by a
  // signal or a run was interrupted (run the sweep again to resume); 1: a run failed; 131: left
  // at once on SIGQUIT (passed on to the running children).
  int exit_code = 0;
  std::vector<std::string> failed, diverged, interrupted, skipped;  // run names
  std::vector<std::string> not_started;  // left unlaunched by a stop
};

// Runs every run that is not completed or diverged, with `--resume auto`, writing each child's
// output to <run dir>/console.log. CPU threads are split between the jobs (OMP_NUM_THREADS, unless
// set by the caller). A stop signal (TERM, INT, USR1; any number) stops launching, forwards one
// SIGTERM to each running child (which checkpoints) and returns once they have exited, leaving the
// unstarted runs for the next sweep; SIGQUIT is forwarded as SIGQUIT (docs/reliability.md).
SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options);

}  // namespace entropix
