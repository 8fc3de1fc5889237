// The report's building blocks: SVG writing and escaping, viridis, the charts, the terminal
// heatmap, and the report assembled from hand-written run directories. SVGs are read back with an
// independent strict XML parser (Python's xml.etree, tests/support/svg_inspect.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>

#include "entropix/report/charts.h"
#include "entropix/report/report.h"
#include "entropix/train/console.h"
#include "entropix/util/colormap.h"
#include "entropix/util/error.h"
#include "support/report_inspect.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::TempDir;
using report::kNaN;

using test::parse_back;

std::string two_decimals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

// ---- SVG writer ----

TEST(ReportSvg, EscapeCoversMarkupControlCharactersAndBadUtf8) {
  EXPECT_EQ(svg::escape("<a & \"b\" 'c'>"), "&lt;a &amp; &quot;b&quot; &#39;c&#39;&gt;");
  EXPECT_EQ(svg::escape(std::string("x\x01y\tz\x1f")), "xy\tz");  // control characters are not XML
  EXPECT_EQ(svg::escape("caf\xC3\xA9"), "caf\xC3\xA9");             // valid UTF-8 kept
  EXPECT_EQ(svg::escape("\xFF"), "\xEF\xBF\xBD");                   // a stray byte becomes U+FFFD
  EXPECT_EQ(svg::escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");   // overlong form: two stray bytes
  EXPECT_EQ(svg::escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

TEST(ReportSvg, NastyTextRoundTripsThroughAStrictParser) {
  TempDir dir;
  const std::string nasty = "<run> & \"name\" 'x' \x02 caf\xC3\xA9 \xFF ]]>";
  svg::Document doc(100, 50, "probe-figure", nasty);
  doc.text(5, 20, nasty, "start", 12, "#000", {{"class", "probe"}, {"data-raw", nasty}});
  const auto parsed = parse_back(doc, dir);
  EXPECT_EQ(parsed["id"], "probe-figure");
  const auto probes = test::of_class(parsed, "probe");
  ASSERT_EQ(probes.size(), 1u);
  // What a reader sees: the text without the control character, the stray byte as U+FFFD.
  const std::string seen = "<run> & \"name\" 'x'  caf\xC3\xA9 \xEF\xBF\xBD ]]>";
  EXPECT_EQ(probes[0]["text"], seen);
  EXPECT_EQ(probes[0]["attrs"]["data-raw"], seen);
}

TEST(ReportSvg, UnclosedElementIsRefused) {
  svg::Document doc(10, 10, "x", "x");
  doc.open("g");
  EXPECT_THROW(doc.str(true), std::logic_error);
  doc.close();
  EXPECT_NO_THROW(doc.str(true));
  EXPECT_THROW(doc.close(), std::logic_error);
}

// ---- colours ----

TEST(ReportColormap, ViridisEndsAndRisingLightness) {
  // matplotlib's viridis: #440154 at 0, #21918c at 0.5, #fde725 at 1.
  EXPECT_EQ(colormap::hex(colormap::viridis(0)), "#440154");
  EXPECT_EQ(colormap::hex(colormap::viridis(0.5)), "#21918c");
  EXPECT_EQ(colormap::hex(colormap::viridis(1)), "#fde725");
  EXPECT_EQ(colormap::hex(colormap::viridis(-3)), "#440154");
  EXPECT_EQ(colormap::hex(colormap::viridis(7)), "#fde725");
  EXPECT_EQ(colormap::hex(colormap::viridis(kNaN)), "#440154");
  // A perceptually uniform sequential map gets lighter all the way: luminance rises strictly.
  double previous = -1;
  for (int i = 0; i <= 100; ++i) {
    const double l = colormap::luminance(colormap::viridis(i / 100.0));
    EXPECT_GT(l, previous) << "at t = " << i / 100.0;
    previous = l;
  }
  EXPECT_EQ(colormap::hex(colormap::text_colour_on(colormap::viridis(0))), "#ffffff");
  EXPECT_EQ(colormap::hex(colormap::text_colour_on(colormap::viridis(1))), "#000000");
  EXPECT_DOUBLE_EQ(colormap::normalise(3, 2, 4), 0.5);
  EXPECT_DOUBLE_EQ(colormap::normalise(9, 2, 4), 1.0);
}

// ---- charts ----

TEST(ReportCharts, NiceAxisCoversTheRangeWithRoundSteps) {
  for (auto [lo, hi, expand] : std::vector<std::tuple<double, double, bool>>{
           {0, 1.92, false}, {5.306, 5.434, true}, {0, 40, false}, {-0.3, 7.1, true}, {2, 2, true}}) {
    const auto axis = charts::nice_axis(lo, hi, 5, expand);
    ASSERT_GE(axis.ticks.size(), 2u) << lo << " " << hi;
    const double step = axis.ticks[1] - axis.ticks[0];
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    // 1, 2 or 5 times a power of ten, to rounding.
    EXPECT_TRUE(std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 || std::abs(mantissa - 5) < 1e-6)
        << step;
    for (size_t i = 1; i < axis.ticks.size(); ++i) EXPECT_NEAR(axis.ticks[i] - axis.ticks[i - 1], step, 1e-9);
    EXPECT_GE(axis.ticks.front(), axis.lo - 1e-9);
    EXPECT_LE(axis.ticks.back(), axis.hi + 1e-9);
    EXPECT_LE(axis.lo, lo);
    EXPECT_GE(axis.hi, hi);
    if (expand) {
      EXPECT_NEAR(axis.ticks.front(), axis.lo, 1e-9);
    }
  }
}

TEST(ReportCharts, HeatmapHoldsEveryCellWithItsValue) {
  TempDir dir;
  charts::Heatmap h;
  h.id = "hm";
  h.title = "test heatmap";
  h.values = {{0.0, 1.234, 2.5, 3.999}, {kNaN, 0.005, 2.0, 4.0}, {1.0, 1.0, 3.14159, 0.5}};
  h.row_labels = {"L0", "L1", "L2"};
  h.col_labels = {"h0", "h1", "h2", "h3"};
  h.lo = 0;
  h.hi = 4;
  const auto parsed = parse_back(charts::heatmap(h), dir);
  const auto cells = test::of_class(parsed, "cell");
  const auto labels = test::of_class(parsed, "cell-label");
  ASSERT_EQ(cells.size(), 12u);
  ASSERT_EQ(labels.size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    const int r = std::stoi(labels[i]["attrs"]["data-row"].get<std::string>());
    const int c = std::stoi(labels[i]["attrs"]["data-col"].get<std::string>());
    const double v = h.values[r][c];
    EXPECT_EQ(labels[i]["text"], std::isfinite(v) ? two_decimals(v) : "nan") << r << "," << c;
    const auto& cell = cells[i]["attrs"];
    EXPECT_EQ(cell["data-row"], labels[i]["attrs"]["data-row"]);
    EXPECT_EQ(cell["data-col"], labels[i]["attrs"]["data-col"]);
    if (std::isfinite(v)) {
      EXPECT_EQ(std::stod(cell["data-value"].get<std::string>()), v);  // %.17g round-trips
    } else {
      EXPECT_EQ(cell["data-value"], "nan");
    }
  }
  // The colour scale's ends: the cell at lo is viridis' darkest, the cell at hi its brightest.
  EXPECT_EQ(cells[0]["attrs"]["fill"], "#440154");
  EXPECT_EQ(cells[7]["attrs"]["fill"], "#fde725");
  EXPECT_EQ(test::of_class(parsed, "colour-bar").size(), 1u);
}

TEST(ReportCharts, LineChartBreaksAtMissingValues) {
  TempDir dir;
  charts::LineChart c;
  c.id = "lc";
  c.title = "t";
  c.series.push_back({"loss <a>", colormap::categorical(0), {0, 1, 2, 3, 4}, {1, 2, kNaN, 3, 4}});
  const auto parsed = parse_back(charts::line_chart(c), dir);
  const auto series = test::of_class(parsed, "series");
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0]["attrs"]["data-name"], "loss <a>");
  EXPECT_EQ(test::of_class(parsed, "line").size(), 2u);   // two stretches around the NaN
  EXPECT_EQ(test::of_class(parsed, "point").size(), 4u);  // the four finite points
}

TEST(ReportCharts, GroupedBarsPrintTheirPercentages) {
  TempDir dir;
  charts::GroupedBars b;
  b.id = "bars";
  b.title = "bins";
  b.groups = {"a", "b", "c", "d"};
  b.series_names = {"run 1", "run 2"};
  b.values = {{0.25, 0.5, 0.125, 0.125}, {0, 0, 1.0 / 3, 2.0 / 3}};
  const auto parsed = parse_back(charts::grouped_bars(b), dir);
  const auto bars = test::of_class(parsed, "bar");
  const auto labels = test::of_class(parsed, "bar-label");
  ASSERT_EQ(bars.size(), 8u);
  ASSERT_EQ(labels.size(), 8u);
  const char* expected[2][4] = {{"25.0%", "50.0%", "12.5%", "12.5%"}, {"0.0%", "0.0%", "33.3%", "66.7%"}};
  for (const auto& l : labels) {
    const int s = std::stoi(l["attrs"]["data-series"].get<std::string>());
    const int g = std::stoi(l["attrs"]["data-group"].get<std::string>());
    EXPECT_EQ(l["text"], expected[s][g]) << s << "," << g;
  }
}

// ---- terminal heatmap ----

EntropyRecord small_record() {
  EntropyRecord e;
  e.step = 3;
  e.max_entropy = std::log(16.0);
  e.headwise = {{0.0, 1.5, 3.0}, {kNaN, 2.25, 0.75}};
  e.layerwise = {1.5, 1.5};
  e.nan_counts = {0, 0};
  return e;
}

TEST(ReportTerminal, HeadwiseGridColoursOnlyWhenAsked) {
  const EntropyRecord e = small_record();
  const std::string plain = headwise_grid(e);
  const std::string coloured = headwise_grid(e, true);
  EXPECT_EQ(plain.find('\033'), std::string::npos) << plain;
  size_t backgrounds = 0;
  for (size_t at = coloured.find("\033[48;2;"); at != std::string::npos; at = coloured.find("\033[48;2;", at + 1))
    ++backgrounds;
  EXPECT_EQ(backgrounds, 5u);  // the five finite heads; the NaN head and the means stay plain
  // 0 nats is viridis' darkest (#440154 = 68,1,84), the record's largest (3.0) its brightest.
  EXPECT_NE(coloured.find("\033[48;2;68;1;84m"), std::string::npos);
  EXPECT_NE(coloured.find("\033[48;2;253;231;37m"), std::string::npos);
  // Without the escape codes the coloured grid is the plain one.
  EXPECT_EQ(std::regex_replace(coloured, std::regex("\033\\[[0-9;]*m"), ""), plain);
  EXPECT_NE(plain.find("L1       nan  2.25  0.75"), std::string::npos) << plain;
}

TEST(ReportTerminal, NoColourForFiles) {
  TempDir dir;
  std::FILE* f = std::fopen((dir / "out.txt").c_str(), "w");
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(colour_wanted(f));
  std::fclose(f);
}

// ---- the report from hand-written run directories ----

nlohmann::json svg_entropy_json(int64_t step, const std::vector<std::vector<double>>& headwise,
                            std::vector<double> nan_counts = {}) {
  nlohmann::json hw = nlohmann::json::array(), lw = nlohmann::json::array();
  for (const auto& row : headwise) {
    nlohmann::json r = nlohmann::json::array();
    double sum = 0;
    for (double v : row) r.push_back(v), sum += v;
    hw.push_back(r);
    lw.push_back(sum / row.size());
  }
  if (nan_counts.empty()) nan_counts.assign(headwise.size(), 0.0);
  return {{"kind", "entropy"},      {"step", step},       {"split", "val"},
          {"max_entropy", 2.7726},  {"headwise", hw},     {"layerwise", lw},
          {"nan_counts", nan_counts}, {"bins", {0.25, 0.25, 0.25, 0.25}}, {"bin_max", 3.0},
          {"bin_max_mode", "observed"}};
}

void write_run(const fs::path& dir, const std::vector<nlohmann::json>& records, const std::string& name) {
  fs::create_directories(dir);
  std::string lines;
  for (const auto& r : records) lines += r.dump() + "\n";
  test::write_text(dir / "metrics.jsonl", lines);
  test::write_text(dir / "summary.json",
                   nlohmann::json{{"status", "completed"}, {"name", name}, {"steps", 10}, {"final_val_loss", 2.0},
                                  {"final_val_ppl", std::exp(2.0)}}
                       .dump());
}

nlohmann::json eval_json(int64_t step, double loss) {
  return {{"kind", "eval"}, {"step", step}, {"val_loss", loss}, {"val_ppl", std::exp(loss)}};
}

const report::Figure* find_figure(const report::Report& r, const std::string& id) {
  for (const auto& s : r.sections)
    for (const auto& f : s.figures)
      if (f.id == id) return &f;
  return nullptr;
}

std::vector<std::string> labels_of(const report::Figure& f, const TempDir& dir) {
  std::vector<std::string> out;
  for (const auto& l : test::of_class(parse_back(f.svg, dir, f.id + ".svg"), "cell-label"))
    out.push_back(l["text"].get<std::string>());
  return out;
}

TEST(ReportBuild, SharedScaleStepChoiceAndNotes) {
  TempDir dir;
  write_run(dir / "a",
            {svg_entropy_json(0, {{1.0, 1.1}, {1.2, 1.3}}), eval_json(10, 2.1), svg_entropy_json(10, {{3.0, 0.5}, {2.0, 1.5}})},
            "a");
  write_run(dir / "b", {svg_entropy_json(0, {{0.9, 0.8}, {0.7, 0.6}}), svg_entropy_json(10, {{2.0, 2.0}, {1.0, 0.25}})}, "b");
  write_run(dir / "c", {eval_json(10, 2.5)}, "c");  // no entropy records
  std::vector<report::RunLogs> runs;
  for (const char* n : {"a", "b", "c"}) runs.push_back(report::read_run_logs(dir / n));

  const report::Report last = report::build_report(runs, std::nullopt);
  EXPECT_DOUBLE_EQ(last.entropy_scale_max, 3.0);  // largest value across the runs compared
  ASSERT_NE(find_figure(last, "headwise-1"), nullptr);
  ASSERT_NE(find_figure(last, "headwise-2"), nullptr);
  EXPECT_EQ(find_figure(last, "headwise-3"), nullptr);
  EXPECT_EQ(labels_of(*find_figure(last, "headwise-1"), dir), (std::vector<std::string>{"3.00", "0.50", "2.00", "1.50"}));
  // Run b's 2.0 is drawn on the shared 0..3 scale, not on its own 0..2.
  const auto b_cells = test::of_class(parse_back(find_figure(last, "headwise-2")->svg, dir), "cell");
  EXPECT_EQ(b_cells[0]["attrs"]["fill"], colormap::hex(colormap::viridis(2.0 / 3.0)));
  const std::string html = report::render_html(last);
  EXPECT_NE(html.find("run 3: c: no entropy records in metrics.jsonl"), std::string::npos);
  EXPECT_EQ(find_figure(last, "nan-counts-1"), nullptr);  // all zero: no figure

  const report::Report first = report::build_report(runs, 0);
  EXPECT_EQ(labels_of(*find_figure(first, "headwise-1"), dir), (std::vector<std::string>{"1.00", "1.10", "1.20", "1.30"}));
  EXPECT_DOUBLE_EQ(first.entropy_scale_max, 1.3);

  try {
    report::build_report(runs, 7);
    ADD_FAILURE() << "an unknown step was accepted";
  } catch (const InputError& e) {
    ASSERT_EQ(e.problems().size(), 2u);  // runs a and b; c has no entropy records at all
    EXPECT_NE(e.problems()[0].find("no entropy record at step 7"), std::string::npos) << e.problems()[0];
    EXPECT_NE(e.problems()[0].find("steps 0, 10"), std::string::npos) << e.problems()[0];
  }
}

TEST(ReportBuild, LearnedParametersAndNanCountsByShape) {
  TempDir dir;
  nlohmann::json e = svg_entropy_json(5, {{1.0, 2.0}, {1.5, 0.5}}, {0.0, 2.5});
  e["threshold"] = {{0.4, 0.5}, {0.6, 0.7}};
  e["slope"] = {0.1, nullptr};
  e["temperature"] = {{{1.0, 3.0}, {2.0, 2.0}}, nullptr};  // per head and query position; layer 1 has none
  write_run(dir / "a", {svg_entropy_json(0, {{1.0, 1.0}, {1.0, 1.0}}), e}, "a");
  const report::Report r = report::build_report({report::read_run_logs(dir / "a")}, std::nullopt);
  ASSERT_NE(find_figure(r, "learned-threshold-1"), nullptr);
  EXPECT_EQ(labels_of(*find_figure(r, "learned-threshold-1"), dir),
            (std::vector<std::string>{"0.40", "0.50", "0.60", "0.70"}));
  ASSERT_NE(find_figure(r, "learned-temperature-1"), nullptr);
  EXPECT_EQ(labels_of(*find_figure(r, "learned-temperature-1"), dir),
            (std::vector<std::string>{"2.00", "2.00", "nan", "nan"}));  // means over query positions
  ASSERT_NE(find_figure(r, "learned-slope"), nullptr);  // per layer: a line chart across runs
  EXPECT_EQ(test::of_class(parse_back(find_figure(r, "learned-slope")->svg, dir), "point").size(), 1u);
  EXPECT_NE(find_figure(r, "nan-counts-1"), nullptr);
}

TEST(ReportBuild, BadRunDirectoriesAreInputErrors) {
  TempDir dir;
  EXPECT_THROW(report::read_run_logs(dir / "missing"), InputError);
  EXPECT_THROW(report::read_run_logs(dir.path()), InputError);  // no metrics.jsonl
  fs::create_directories(dir / "bad");
  test::write_text(dir / "bad" / "metrics.jsonl", "{\"kind\": \"entropy\", \"step\": 1, \"headwise\": 3}\n");
  try {
    report::read_run_logs(dir / "bad");
    ADD_FAILURE() << "a malformed entropy record was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(e.problems()[0].find("metrics.jsonl: record 1"), std::string::npos) << e.problems()[0];
  }
}

TEST(ReportBuild, OutputDirectoryRules) {
  TempDir dir;
  write_run(dir / "a", {svg_entropy_json(0, {{1.0}})}, "a");
  report::ReportOptions options;
  options.run_dirs = {dir / "a"};
  options.out_dir = dir / "out";
  const auto files = report::write_report(options);
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.back(), dir / "out" / "index.html");
  for (const auto& f : files) EXPECT_TRUE(fs::exists(f)) << f;
  EXPECT_THROW(report::write_report(options), InputError);  // a report is there: needs --overwrite

  test::write_text(dir / "out" / "stale.svg", "<svg/>");
  test::write_text(dir / "out" / "notes.txt", "mine");
  options.overwrite = true;
  report::write_report(options);
  EXPECT_FALSE(fs::exists(dir / "out" / "stale.svg"));  // the old report's figures go
  EXPECT_TRUE(fs::exists(dir / "out" / "notes.txt"));   // other files stay

  fs::create_directories(dir / "foreign");
  test::write_text(dir / "foreign" / "index.html", "<html>someone else's</html>");
  options.out_dir = dir / "foreign";
  EXPECT_THROW(report::write_report(options), InputError);  // not a report: refused even with overwrite
  options.out_dir = dir / "a";
  EXPECT_THROW(report::write_report(options), InputError);  // a run directory is not an output directory
}

}  // namespace
}  // namespace entropix
