// metrics.jsonl as TensorBoard scalars (docs/logs.md, "Exporting"): which record field becomes
// which tag, and one event file holding them all.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace entropix::runlog {

// The scalars of one record, (tag, value); null becomes NaN. Tags:
//   train:   train/loss, train/lr, train/grad_norm, train/tokens_per_s, train/ms_per_step,
//            train/tokens, train/ereg_loss (when present)
//   eval:    eval/val_loss, eval/val_ppl
//   entropy: entropy/<split>/layer<l> (layerwise), entropy/<split>/layer<l>/head<h> (headwise),
//            entropy/<split>/nan_count/layer<l>, entropy/<split>/overload_fraction,
//            entropy/<split>/collapse_fraction
//   event and other kinds: none (they are in the CSV export).
std::vector<std::pair<std::string, double>> record_scalars(const nlohmann::json& record);

// Writes `dir`/events.out.tfevents.<start>.entropix (one Event per record that has scalars, at the
// record's step). Wall times: `start_time` (Unix seconds) plus the elapsed_s of the latest train
// or eval record so far. Returns the file.
std::filesystem::path write_tensorboard_events(const std::vector<nlohmann::json>& records,
                                               const std::filesystem::path& dir, double start_time);

}  // namespace entropix::runlog
