// The report's "Learned parameters" section: the temperatures, thresholds, slopes and FFN scales
// the components log (learned_value_catalog), as drawn in the entropy record shown for each run.
#pragma once
#include "entropix/report/report.h"

namespace entropix::report {

// Per-head parameters: one annotated heatmap per run on a scale shared across runs (at least 0.1
// wide); per-layer ones: one chart per parameter, one line per run. No figures when none is logged.
Section learned_section(const Report& r);

}  // namespace entropix::report
