// `entropix watch RUN_DIR`: follows a run's metrics.jsonl and redraws a terminal view (status,
// loss sparkline, throughput, ETA, latest headwise entropy) until the run ends (docs/logs.md,
// "Watching a run").
#pragma once
#include <filesystem>
#include <iosfwd>
#include <string>

namespace entropix::runlog {

struct WatchOptions {
  std::filesystem::path run_dir;
  double interval_s = 1.0;      // between polls of metrics.jsonl
  std::string colour = "auto";  // auto | never | 256 | truecolor
};

// Follows the run until summary.json names how it ended (drawing once more then), and returns 0; a
// summary.json older than metrics.jsonl (an interrupted run being resumed) does not count.
// On a terminal the frame is redrawn in place; otherwise each update (new records) is printed as
// plain text, separated by a blank line. A finished run is drawn once. InputError (exit 2) when
// run_dir is not a run directory (no spec.yaml and no metrics.jsonl).
int watch(const WatchOptions& options, std::ostream& out, bool out_is_terminal);

}  // namespace entropix::runlog
