// The table of runs at the top of a report: one row per run, one column per fact, as plain text
// cells (report.cpp renders them as HTML).
#pragma once
#include <string>
#include <vector>

#include "entropix/report/run_logs.h"

namespace entropix::report {

struct TableColumn {
  std::string header;
  std::string title;               // hover text explaining the column ("" for none)
  std::vector<std::string> cells;  // one per run, in the order of the runs
  bool numeric = false;            // right-aligned
};

// name, directory, model, the spec keys that differ between the runs (run_diff.h), status, steps, final val loss and perplexity, their change against the first run (percent),
// the entropy step shown and its bin shares; then pi_cost_columns(runs). `shown[i]` is the entropy
// record drawn for run i (nullptr when it has none).
std::vector<TableColumn> run_table(const std::vector<RunLogs>& runs, const std::vector<const EntropyPoint*>& shown);

// The private-inference cost estimate of each run's architecture (from its spec.yaml, priced by
// the picost module with the bumblebee-wan profile, as `entropix cost` does): communication GB,
// latency minutes, and communication saving against the first run. n/a where it cannot be priced.
std::vector<TableColumn> pi_cost_columns(const std::vector<RunLogs>& runs);

}  // namespace entropix::report
