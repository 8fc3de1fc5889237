#include "entropix/report/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "entropix/entropy/attention_entropy.h"
#include "entropix/report/charts.h"
#include "entropix/report/findings.h"
#include "entropix/report/learned.h"
#include "entropix/report/report_parts.h"
#include "entropix/report/run_table.h"
#include "entropix/report/training_curves.h"
#include "entropix/util/colormap.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/version.h"

namespace entropix::report {
namespace fs = std::filesystem;

namespace {

// Written into index.html; prepare_report_directory recognises a report by it.
const char* const kGeneratorMeta = "<meta name=\"generator\" content=\"entropix report\">";

Section headwise_section(const Report& r) {
  Section s{"headwise", "Headwise attention entropy",
            "Entropy of every attention head (nats; rows = layers, columns = heads), at the step named in each "
            "title. One colour scale for all runs, from 0 to " +
                charts::fixed(r.entropy_scale_max, 2) + " nats (the largest value drawn).",
            {},
            {}};
  for (size_t i = 0; i < r.runs.size(); ++i) {
    const EntropyPoint* e = r.shown[i];
    if (!e) {
      s.notes.push_back(run_label(r, i) + ": no entropy records in metrics.jsonl");
      continue;
    }
    charts::Heatmap h;
    h.id = "headwise-" + std::to_string(i + 1);
    h.title = run_label(r, i) + ", " + step_text(*e);
    h.values = e->headwise;
    size_t heads = 0;
    for (const auto& row : e->headwise) heads = std::max(heads, row.size());
    h.row_labels = labels("L", e->headwise.size());
    h.col_labels = labels("h", heads);
    h.lo = 0;
    h.hi = r.entropy_scale_max;
    h.scale_label = "nats";
    h.tooltip_unit = "nats";
    h.references = {{e->causal_ceiling, "uniform causal ceiling = " + charts::fixed(e->causal_ceiling, 3) + " nats"},
                    {e->max_entropy, "ln T = " + charts::fixed(e->max_entropy, 3) + " nats"}};
    s.figures.push_back({h.id,
                         "Headwise entropy of " + run_label(r, i) + " at " + step_text(*e) +
                             "; uniform causal ceiling = " + charts::fixed(e->causal_ceiling, 3) +
                             " nats (a uniform head), ln T = " + charts::fixed(e->max_entropy, 3) + " nats.",
                         charts::heatmap(h)});
  }
  return s;
}

Section layerwise_section(const Report& r) {
  Section s{"layerwise", "Layerwise mean entropy during training",
            "Mean headwise entropy of each layer at every entropy record, against the training step. The dashed "
            "lines are ln T, the regulariser's reference, and below it the uniform causal ceiling (1/T) sum ln i, "
            "the entropy of a uniform causal head: layers pinned there are overloaded (docs/entropy.md).",
            {},
            {}};
  for (size_t i = 0; i < r.runs.size(); ++i) {
    const auto& points = r.runs[i].entropy;
    if (points.empty()) {
      s.notes.push_back(run_label(r, i) + ": no entropy records in metrics.jsonl");
      continue;
    }
    size_t layers = 0;
    for (const auto& p : points) layers = std::max(layers, p.layerwise.size());
    charts::LineChart c;
    c.id = "layerwise-" + std::to_string(i + 1);
    c.title = run_label(r, i) + ": layerwise mean entropy";
    c.x_label = "step";
    c.y_label = "entropy (nats)";
    c.y_from_zero = true;
    for (size_t l = 0; l < layers; ++l) {
      charts::Series series{"layer " + std::to_string(l), colormap::sequential(static_cast<int>(l), static_cast<int>(layers)), {}, {}};
      series.marker = static_cast<int>(l);  // a shape per layer: neighbouring layers stay apart where lines meet
      for (const auto& p : points) {
        series.x.push_back(static_cast<double>(p.step));
        series.y.push_back(l < p.layerwise.size() ? p.layerwise[l] : kNaN);
        series.tips.push_back("layer " + std::to_string(l) + ", step " + std::to_string(p.step) + ": " +
                              charts::fixed(series.y.back(), 4) + " nats");
      }
      c.series.push_back(series);
    }
    c.reference_lines.push_back({points.back().max_entropy, "ln T = " + charts::fixed(points.back().max_entropy, 3)});
    const double ceiling = points.back().causal_ceiling;
    c.reference_lines.push_back({ceiling, "uniform causal ceiling = " + charts::fixed(ceiling, 3)});
    s.figures.push_back({c.id, "Layerwise mean entropy of " + run_label(r, i) + " (layer 0 darkest; one marker shape per layer).",
                         charts::line_chart(c)});
  }
  return s;
}

Section bins_section(const Report& r) {
  Section s{"bins", "Share of heads per entropy bin",
            "Heads sorted into quarters of m, the top of the bins (bin_max: the largest headwise entropy of the "
            "record, or the uniform causal ceiling with log.bin_max: causal). The bottom quarter is entropy "
            "collapse, the top quarter entropic overload. Each bar is one run at the step of its heatmap.",
            {},
            {}};
  charts::GroupedBars b;
  b.id = "bins";
  b.title = "Heads per entropy bin";
  b.y_label = "share of heads";
  b.groups = {"collapse [0, m/4)", "[m/4, m/2)", "[m/2, 3m/4)", "overload [3m/4, m]"};
  for (size_t i = 0; i < r.runs.size(); ++i) {
    const EntropyPoint* e = r.shown[i];
    if (!e) {
      s.notes.push_back(run_label(r, i) + ": no entropy records in metrics.jsonl");
      continue;
    }
    b.series_names.push_back(run_label(r, i) + " (step " + std::to_string(e->step) + ")");
    b.values.push_back({e->bins[0], e->bins[1], e->bins[2], e->bins[3]});
  }
  if (!b.series_names.empty()) s.figures.push_back({b.id, "Share of heads per bin, in percent of the heads with a finite entropy.", charts::grouped_bars(b)});
  return s;
}

Section nan_section(const Report& r) {
  Section s{"nan-counts", "Non-finite attention probabilities",
            "Per layer, the non-finite attention probabilities of an entropy record divided by the number of heads "
            "(nan_counts), against the step. Drawn only for runs where any is non-zero.",
            {},
            {}};
  for (size_t i = 0; i < r.runs.size(); ++i) {
    const auto& points = r.runs[i].entropy;
    size_t layers = 0;
    bool nonzero = false;
    for (const auto& p : points) {
      layers = std::max(layers, p.nan_counts.size());
      for (double n : p.nan_counts) nonzero = nonzero || n != 0;
    }
    if (!nonzero) continue;
    charts::LineChart c;
    c.id = "nan-counts-" + std::to_string(i + 1);
    c.title = run_label(r, i) + ": non-finite attention probabilities";
    c.x_label = "step";
    c.y_label = "non-finite per head";
    c.y_from_zero = true;
    for (size_t l = 0; l < layers; ++l) {
      charts::Series series{"layer " + std::to_string(l), colormap::sequential(static_cast<int>(l), static_cast<int>(layers)), {}, {}};
      series.marker = static_cast<int>(l);
      for (const auto& p : points) {
        series.x.push_back(static_cast<double>(p.step));
        series.y.push_back(l < p.nan_counts.size() ? p.nan_counts[l] : kNaN);
      }
      c.series.push_back(series);
    }
    s.figures.push_back({c.id, "Non-finite attention probabilities of " + run_label(r, i) + ".", charts::line_chart(c)});
  }
  if (s.figures.empty()) s.notes.push_back("No run has non-finite attention probabilities in its entropy records.");
  return s;
}

std::string html_table(const std::vector<TableColumn>& columns, const std::string& id) {
  std::string out = "<table class=\"runs\" id=\"" + id + "\">\n<thead><tr>";
  for (const auto& c : columns)
    out += "<th" + (c.title.empty() ? std::string() : " title=\"" + svg::escape(c.title) + "\"") + ">" +
           svg::escape(c.header) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  const size_t rows = columns.empty() ? 0 : columns[0].cells.size();
  for (size_t i = 0; i < rows; ++i) {
    out += "<tr>";
    for (const auto& c : columns)
      out += std::string(c.numeric ? "<td class=\"num\">" : "<td>") + svg::escape(i < c.cells.size() ? c.cells[i] : "") +
             "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

const char* const kStyle = R"(body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px; color: #222; max-width: 1600px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.intro { max-width: 900px; color: #444; }
p.note { color: #8a4b00; }
ul.findings { font-size: 14px; }
.figures { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 0; display: table; }
figcaption { display: table-caption; caption-side: bottom; font-size: 13px; color: #444; padding-top: 4px; }
figcaption a { color: #555; }
table.runs { border-collapse: collapse; font-size: 13px; }
table.runs th, table.runs td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
table.runs th { background: #f2f2f2; }
table.runs td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
)";

}  // namespace

Report build_report(std::vector<RunLogs> runs, std::optional<int64_t> step, const std::string& group_by) {
  Report r;
  r.runs = std::move(runs);
  r.group_by = group_by;
  std::vector<std::string> problems;
  if (!group_by.empty()) {
    try {
      r.groups = group_runs(r.runs, group_by);
    } catch (const InputError& e) {
      problems.insert(problems.end(), e.problems().begin(), e.problems().end());
    }
  }
  for (const auto& run : r.runs) {
    try {
      r.shown.push_back(select_entropy(run, step));
    } catch (const InputError& e) {
      problems.insert(problems.end(), e.problems().begin(), e.problems().end());
      r.shown.push_back(nullptr);
    }
  }
  if (!problems.empty()) throw InputError(problems);

  double top = -INFINITY;
  for (const auto* e : r.shown)
    if (e) top = std::max(top, max_finite(e->headwise));
  r.entropy_scale_max = top > 0 ? top : 1.0;

  r.sections.push_back(headwise_section(r));
  r.sections.push_back(layerwise_section(r));
  r.sections.push_back(layer_entropy_section(r));
  r.sections.push_back(bins_section(r));
  r.sections.push_back(training_section(r));
  r.sections.push_back(val_loss_section(r));
  r.sections.push_back(nan_section(r));
  Section learned = learned_section(r);
  if (!learned.figures.empty()) r.sections.push_back(std::move(learned));
  return r;
}

std::string render_html(const Report& r) {
  std::string names;
  for (size_t i = 0; i < r.runs.size(); ++i) names += (i ? ", " : "") + r.runs[i].name;
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += std::string(kGeneratorMeta) + "\n";
  // Nothing may be fetched and nothing runs: the page is complete as it is.
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
  out += "<title>entropix report: " + svg::escape(names) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n";
  out += "<h1>entropix report</h1>\n<p class=\"intro\">" + std::to_string(r.runs.size()) +
         (r.runs.size() == 1 ? " run" : " runs") + ", written by entropix " + ENTROPIX_VERSION +
         ". Entropies in nats. Each figure is also a standalone SVG file beside this page.</p>\n";
  out += "<section id=\"runs\">\n<h2>Runs</h2>\n" + html_table(run_table(r.runs, r.shown), "run-table") + "</section>\n";
  out += "<section id=\"findings\">\n<h2>Findings</h2>\n<p class=\"intro\">" + svg::escape(findings_intro(r.shown)) +
         "</p>\n<ul class=\"findings\">\n";
  for (size_t i = 0; i < r.runs.size(); ++i) {
    const Findings f = find_findings(r.runs[i], i, r.shown[i]);
    auto layers = [](const std::vector<size_t>& v) {
      std::string o;
      for (size_t l : v) {
        if (!o.empty()) o += ' ';
        o += std::to_string(l);
      }
      return o;
    };
    out += "<li class=\"finding\" data-run=\"" + std::to_string(i + 1) + "\" data-collapse=\"" + layers(f.collapse_layers) +
           "\" data-overload=\"" + layers(f.overload_layers) + "\" data-nan=\"" + layers(f.nan_layers) + "\">" +
           svg::escape(f.text) + "</li>\n";
  }
  out += "</ul>\n</section>\n";
  if (!r.groups.empty())
    out += "<section id=\"groups\">\n<h2>Groups (--group-by " + svg::escape(r.group_by) + ")</h2>\n<p class=\"intro\">Runs "
           "whose resolved specs agree on every key except " + svg::escape(r.group_by) + " (and the name) form a group. "
           "Values are mean ± sample standard deviation over the group's runs.</p>\n" +
           html_table(group_table(r.runs, r.shown, r.groups, r.group_by), "group-table") + "</section>\n";
  for (const auto& s : r.sections) {
    out += "<section id=\"" + svg::escape(s.id) + "\">\n<h2>" + svg::escape(s.heading) + "</h2>\n<p class=\"intro\">" +
           svg::escape(s.intro) + "</p>\n";
    for (const auto& n : s.notes) out += "<p class=\"note\">" + svg::escape(n) + "</p>\n";
    if (!s.figures.empty()) {
      out += "<div class=\"figures\">\n";
      for (const auto& f : s.figures)
        out += "<figure>\n" + f.svg.str(false) + "<figcaption>" + svg::escape(f.caption) + " <a href=\"" +
               svg::escape(f.id) + ".svg\">" + svg::escape(f.id) + ".svg</a></figcaption>\n</figure>\n";
      out += "</div>\n";
    }
    out += "</section>\n";
  }
  return out + "</body>\n</html>\n";
}

void prepare_report_directory(const fs::path& dir, bool overwrite) {
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw InputError(dir.string() + ": exists and is not a directory; choose another --out");
  if (!fs::exists(dir)) {
    fs::create_directories(dir);
    return;
  }
  if (fs::is_empty(dir)) return;
  const fs::path index = dir / "index.html";
  const bool holds_report = fs::exists(index) && read_file(index).find(kGeneratorMeta) != std::string::npos;
  if (!holds_report)
    throw InputError(dir.string() + ": directory is not empty and holds no entropix report; choose another --out");
  if (!overwrite)
    throw InputError(dir.string() + ": already holds a report; pass --overwrite to replace it or choose another --out");
  std::vector<fs::path> old;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".svg") old.push_back(entry.path());
  fs::remove(index);  // first, so a half-replaced directory never looks like a complete report
  for (const auto& p : old) fs::remove(p);
}

std::vector<fs::path> write_report(const ReportOptions& options) {
  if (options.run_dirs.empty()) throw InputError("report: no run directory given");
  std::vector<RunLogs> runs;
  std::vector<std::string> problems;
  for (const auto& dir : options.run_dirs) {
    try {
      runs.push_back(read_run_logs(dir));
    } catch (const InputError& e) {
      problems.insert(problems.end(), e.problems().begin(), e.problems().end());
    }
  }
  if (!problems.empty()) throw InputError(problems);
  const Report report = build_report(std::move(runs), options.step, options.group_by);
  const std::string html = render_html(report);

  const bool created = !fs::exists(options.out_dir);
  prepare_report_directory(options.out_dir, options.overwrite);
  std::vector<fs::path> written;
  try {
    for (const auto& s : report.sections)
      for (const auto& f : s.figures) {
        const fs::path file = options.out_dir / (f.id + ".svg");
        write_file_atomic(file, f.svg.str(true));
        written.push_back(file);
      }
    write_file_atomic(options.out_dir / "index.html", html);
    written.push_back(options.out_dir / "index.html");
  } catch (...) {
    // A write failed (disk full, file-size limit): take back this report's files, so that the
    // directory is empty again and the same command succeeds once there is room.
    std::error_code ignored;
    for (const auto& p : written) fs::remove(p, ignored);
    if (created) fs::remove(options.out_dir, ignored);  // only removes it while empty
    throw;
  }
  return written;
}

}  // namespace entropix::report
