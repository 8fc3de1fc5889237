// The sweep's results table, rebuilt from its run directories at any time: summary.csv and
// summary.md in the sweep directory (columns in docs/sweeps.md).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "entropix/sweep/sweep_plan.h"

namespace entropix {

struct SweepRow {
  std::string run, overrides, status;  // status: run_state() of the directory
  bool baseline = false;
  std::optional<int64_t> steps;
  std::optional<double> val_loss, val_ppl;
  std::optional<double> ppl_change_pct;  // 100 (ppl - baseline ppl) / baseline ppl: > 0 is worse
  std::optional<double> collapse_share;  // bins[0] of the final entropy record
  std::optional<double> overload_share;  // bins[3]
  // PI cost estimate (bumblebee-wan profile) from the spec; empty when the profile cannot price it.
  std::optional<double> comm_gb, latency_min;
  std::string dir;
};

// One row per run, in plan order.
std::vector<SweepRow> summarize_sweep(const SweepPlan& plan);

std::string sweep_csv(const std::vector<SweepRow>& rows);
std::string sweep_markdown(const SweepPlan& plan, const std::vector<SweepRow>& rows);

// Writes <sweep dir>/summary.csv and summary.md atomically; returns the rows.
std::vector<SweepRow> write_sweep_summary(const SweepPlan& plan);

}  // namespace entropix
