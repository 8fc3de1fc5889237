// What the report reads from a run directory (docs/logs.md): the summary, the spec (its name, model
// and every resolved key), the train and eval curves and every entropy record. Reading only;
// nothing here draws. A run still in progress reads too: no summary.json, and a last line that is
// only partly written (no newline yet) is left out.
#pragma once
#include <array>
#include <cstdint>
#include <limits>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "entropix/metrics/run_status.h"

namespace entropix::report {

// What a null (non-finite) logged value reads as.
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct EntropyPoint {
  int64_t step = 0;
  std::string split;
  double max_entropy = 0;                     // ln T
  double causal_ceiling = 0;                  // (1/T) sum ln i: the record's, else from ln T
  std::vector<std::vector<double>> headwise;  // [L][H], NaN where null
  std::vector<double> layerwise;              // [L], NaN where null
  std::vector<double> nan_counts;             // [L]
  std::array<double, 4> bins{};               // head shares per quartile of bin_max
  double bin_max = 0;                         // NaN where null
  std::string bin_max_mode;
  nlohmann::json learned = nlohmann::json::object();  // temperature, threshold, slope, ffn_alpha, ffn_beta
};

struct TrainPoint {
  int64_t step = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0;  // NaN where null or absent
};

struct EvalPoint {
  int64_t step = 0;
  double val_loss = 0;  // NaN where null
};

struct RunLogs {
  std::filesystem::path dir;
  std::string name;               // summary.json's name, else spec.yaml's, else the directory's name
  RunStatus status = RunStatus::unfinished;  // read_run_status: unfinished without a summary
  bool has_summary = false;
  int64_t steps = 0;              // summary.json's steps, else the last train record's step
  double final_val_loss = 0;      // summary.json's, else the last eval record's; NaN if none
  double final_val_ppl = 0;
  std::string model;              // one-line description of the architecture from spec.yaml ("" without it)
  std::map<std::string, std::string> spec;  // spec.yaml flattened to dotted keys (run_diff.h); empty without it
  bool partial_last_line = false;  // metrics.jsonl ended in a half-written record (left out)
  std::vector<TrainPoint> train;
  std::vector<EvalPoint> evals;
  std::vector<EntropyPoint> entropy;  // in file order
};

// Reads a run directory. Throws InputError when the directory does not exist or holds no
// metrics.jsonl, or when a file is malformed (naming the file and what is wrong). A run without
// entropy or eval records is fine: those lists are empty.
RunLogs read_run_logs(const std::filesystem::path& dir);

// "run 2: norm-free": how the report names the run given at `index` (from 0) everywhere.
std::string run_label(const RunLogs& run, size_t index);

// The entropy record to draw: the last one, or the last at `step`. nullptr when the run has no
// entropy record at all. Throws InputError when `step` is given and the run has records but none
// at that step; the message lists the steps it has.
const EntropyPoint* select_entropy(const RunLogs& run, std::optional<int64_t> step);

}  // namespace entropix::report
