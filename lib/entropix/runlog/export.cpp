#include "entropix/runlog/export.h"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "entropix/runlog/csv_export.h"
#include "entropix/runlog/metrics_follower.h"
#include "entropix/runlog/tensorboard_export.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/remove_tree.h"

namespace entropix::runlog {
namespace fs = std::filesystem;

namespace {

bool is_export_file(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  return e.is_regular_file() && (e.path().extension() == ".csv" || name.rfind("events.out.tfevents.", 0) == 0);
}

// Whether out_dir may be written: absent, empty, or (with overwrite) an earlier export.
void check_out_dir(const fs::path& out, bool overwrite) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec)) throw InputError(out.string() + ": --out exists and is not a directory");
  bool empty = true, only_exports = true;
  for (const auto& e : fs::directory_iterator(out)) {
    empty = false;
    only_exports = only_exports && is_export_file(e);
  }
  if (empty) return;
  if (!overwrite)
    throw InputError(out.string() + ": --out already exists and is not empty; pass --overwrite to replace an earlier export");
  if (!only_exports)
    throw InputError(out.string() + ": --out holds files other than an earlier export (*.csv, events.out.tfevents.*); "
                     "not replacing it, even with --overwrite");
}

// Unix time the run started: summary.json's started_at when there is one, otherwise now.
double start_time(const fs::path& run_dir) {
  std::error_code ec;
  if (fs::exists(run_dir / "summary.json", ec)) {
    const auto s = nlohmann::json::parse(read_file(run_dir / "summary.json"), nullptr, false);
    if (s.is_object() && s.contains("started_at") && s["started_at"].is_string()) {
      std::tm tm{};
      if (::strptime(s["started_at"].get<std::string>().c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return static_cast<double>(::timegm(&tm));
    }
  }
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

ExportResult export_logs(const ExportOptions& o) {
  if (o.format != "csv" && o.format != "tensorboard")
    throw InputError("--format " + o.format + ": unknown; valid: csv, tensorboard");
  const fs::path metrics = o.run_dir / "metrics.jsonl";
  std::error_code ec;
  if (!fs::is_regular_file(metrics, ec))
    throw InputError(o.run_dir.string() + ": no metrics.jsonl (not a run directory written by entropix run)");
  check_out_dir(o.out_dir, o.overwrite);
  const auto records = read_whole_records(metrics);

  const fs::path out = fs::absolute(o.out_dir).lexically_normal();
  const fs::path parent = out.has_filename() ? out.parent_path() : out.parent_path().parent_path();
  const fs::path final_dir = parent / (out.has_filename() ? out.filename() : out.parent_path().filename());
  fs::create_directories(parent);
  const fs::path tmp = parent / (final_dir.filename().string() + ".tmp." + std::to_string(::getpid()));
  remove_tree(tmp);
  fs::create_directory(tmp);
  ExportResult result;
  result.records = records.size();
  try {
    std::vector<fs::path> written;
    if (o.format == "csv") written = write_csv_tables(records, tmp);
    else written.push_back(write_tensorboard_events(records, tmp, start_time(o.run_dir)));
    if (fs::exists(final_dir, ec) && !remove_tree(final_dir)) throw std::runtime_error("cannot remove " + final_dir.string());
    fs::rename(tmp, final_dir);
    for (const auto& f : written) result.files.push_back(final_dir / f.filename());
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  return result;
}

}  // namespace entropix::runlog
