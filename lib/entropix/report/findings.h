// A short findings line per run: entropy collapse, entropic overload and non-finite attention, with
// the layers involved. The definitions are the bins of docs/entropy.md on the causal scale:
// m = the uniform causal ceiling (1/T) sum ln i of the record drawn; a layer collapses when at
// least kLayerShare of its heads (those with a finite entropy) are below m/4, and is overloaded
// when at least kLayerShare of them are at or above 3m/4. A layer has non-finite attention when any
// entropy record of the run has a non-zero nan_counts entry or a null head for it.
#pragma once
#include <string>
#include <vector>

#include "entropix/report/run_logs.h"

namespace entropix::report {

inline constexpr double kLayerShare = 0.5;  // share of a layer's heads in a bin that flags the layer

struct Findings {
  std::vector<size_t> collapse_layers, overload_layers, nan_layers;
  int64_t first_nan_step = -1;  // the first entropy record with non-finite attention (-1: none)
  std::string text;             // "run 1: smoke, step 12 (val batch): entropy collapse in layers 1, 2; ..."
};

// `shown` is the entropy record drawn for the run (nullptr: none, so only the NaN flag is judged).
Findings find_findings(const RunLogs& run, size_t index, const EntropyPoint* shown);

// The section's explanation of the thresholds, with the numbers of the first record drawn.
std::string findings_intro(const std::vector<const EntropyPoint*>& shown);

}  // namespace entropix::report
