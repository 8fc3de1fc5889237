// `entropix logs`: a run directory's metrics.jsonl exported as CSV tables or a TensorBoard event
// file into a fresh directory (docs/logs.md, "Exporting").
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace entropix::runlog {

struct ExportOptions {
  std::filesystem::path run_dir;
  std::string format;  // csv | tensorboard
  std::filesystem::path out_dir;
  bool overwrite = false;  // replace an earlier export in out_dir
};

struct ExportResult {
  std::vector<std::filesystem::path> files;  // in out_dir
  size_t records = 0;                        // whole records read from metrics.jsonl
};

// Reads every whole record of run_dir/metrics.jsonl (a run in progress may be exported; its last,
// half-written line is left out) and writes the export into out_dir, built in a temporary
// directory beside it and renamed into place. InputError (exit 2) when run_dir has no
// metrics.jsonl, when out_dir exists and is not empty (unless overwrite), and, even with
// overwrite, when out_dir holds anything but an earlier export (*.csv, events.out.tfevents.*),
// so --overwrite never deletes a directory of other files.
ExportResult export_logs(const ExportOptions& options);

}  // namespace entropix::runlog
