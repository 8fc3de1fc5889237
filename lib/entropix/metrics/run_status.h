// How a run ended: summary.json's `status` (docs/logs.md), as one enum with one spelling each.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace entropix {

enum class RunStatus {
  completed,    // every train.steps step ran
  diverged,     // NaN/Inf loss or gradient
  interrupted,  // a signal or --stop-after; a checkpoint of the last step was written
  failed,       // an unexpected error
  // No readable summary.json naming one of the above: the run is still going or was killed hard
  // (summary.json is written atomically, so a summary is whole or absent).
  unfinished,
};

// "completed", "diverged", "interrupted", "failed", "unfinished".
std::string to_string(RunStatus status);

// The status a string names; nullopt for anything else.
std::optional<RunStatus> parse_run_status(const std::string& text);

// The status in `run_dir`/summary.json: unfinished when the file is missing, is not JSON, or its
// `status` is not one of the four a run writes. The one place summary.json's status is read.
RunStatus read_run_status(const std::filesystem::path& run_dir);

}  // namespace entropix
