// The run directory (contract, docs/logs.md):
//   DIR/spec.yaml  DIR/command.txt  DIR/metrics.jsonl  DIR/summary.json  DIR/checkpoints/
#pragma once
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace entropix {

// Prepares `dir` for a new run. A missing or empty directory is used as is (files of captured
// output, console.log and slurm-*.out, do not count and are kept); a directory holding a
// run is refused (InputError, nothing written) unless `overwrite`, in which case the run's files are
// removed first; a non-empty directory that is not a run directory is always refused.
void prepare_run_directory(const std::filesystem::path& dir, bool overwrite);

// Appends one JSON object per line to metrics.jsonl, each line with one write(2) straight to the
// file, so a crash loses nothing that was logged. A write that fails (disk full, I/O error) is cut
// off again (ftruncate to the size before it) and throws "cannot write PATH: <reason>": the file
// never holds half a line that later records would follow.
class MetricsWriter {
 public:
  explicit MetricsWriter(const std::filesystem::path& file);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  void write(const nlohmann::json& record);

 private:
  int fd_ = -1;
  std::string path_;
};

// Writes JSON atomically (pretty-printed, trailing newline).
void write_json_atomic(const std::filesystem::path& file, const nlohmann::json& value);

// Reads every record of a metrics.jsonl file; throws InputError naming the line that is not JSON.
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& file);

}  // namespace entropix
