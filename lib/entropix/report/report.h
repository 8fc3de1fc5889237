// `entropix report`: figures of one run or several side by side, as standalone SVG files and one
// self-contained index.html (the SVGs inlined, inline CSS, no scripts, nothing fetched).
// docs/report.md describes every figure.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "entropix/report/grouping.h"
#include "entropix/report/run_logs.h"
#include "entropix/report/svg.h"

namespace entropix::report {

struct Figure {
  std::string id;  // file name without .svg, and the id of its <svg> element
  std::string caption;
  svg::Document svg;
};

struct Section {
  std::string id, heading, intro;
  std::vector<Figure> figures;
  std::vector<std::string> notes;  // e.g. why a run has no figure here
};

struct Report {
  Report() = default;
  Report(const Report&) = delete;  // `shown` points into `runs`: moving keeps those addresses, copying would not
  Report& operator=(const Report&) = delete;
  Report(Report&&) = default;
  Report& operator=(Report&&) = default;

  std::vector<RunLogs> runs;
  std::vector<const EntropyPoint*> shown;  // the entropy record drawn per run (nullptr: none)
  double entropy_scale_max = 1;            // top of the headwise colour scale shared by all runs
  std::string group_by;                    // --group-by KEY ("" for none)
  std::vector<RunGroup> groups;            // the groups of --group-by (empty without)
  std::vector<Section> sections;
};

// Builds every figure in memory. Throws InputError when `step` is given and a run that has
// entropy records has none at that step (one problem per such run, listing the steps it has), and
// when `group_by` is given and a run has no spec.yaml or no such key (grouping.h).
Report build_report(std::vector<RunLogs> runs, std::optional<int64_t> step, const std::string& group_by = "");

// The index.html of a report.
std::string render_html(const Report& report);

struct ReportOptions {
  std::vector<std::filesystem::path> run_dirs;
  std::filesystem::path out_dir;
  std::optional<int64_t> step;  // --step: draw the entropy records of this step (default: the last)
  bool overwrite = false;       // replace a report already in out_dir
  std::string group_by;         // --group-by KEY: runs identical but for KEY drawn as mean +/- std
};

// Reads the runs, builds the report, and writes DIR/<figure>.svg and DIR/index.html (each
// atomically, index.html last). Every input problem is reported (InputError) before the output
// directory is touched. Returns the files written.
std::vector<std::filesystem::path> write_report(const ReportOptions& options);

// Output directory rule: a missing or empty directory is used; one holding an entropix report is
// replaced with `overwrite` (its index.html and *.svg removed first) and refused without; any
// other non-empty directory is refused.
void prepare_report_directory(const std::filesystem::path& dir, bool overwrite);

}  // namespace entropix::report
