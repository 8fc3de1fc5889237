// What `entropix run` asks of a training run, and what became of it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "entropix/metrics/run_status.h"

namespace entropix {

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
  // completed | diverged | interrupted (completed also for a finished run resumed: nothing to do)
  RunStatus status = RunStatus::completed;
  int exit_code = 0;  // 0 completed, 3 diverged, 4 interrupted (after writing a checkpoint)
  std::filesystem::path run_dir;
};

}  // namespace entropix
