// The report's newer elements from hand-written inputs: tooltips, colour-bar ticks, layer markers,
// mean +/- std bands, the EMA, the "differs" column, --group-by, findings for a run built to
// collapse and overload, and runs in progress (a half-written last line). SVGs are read back with
// the independent strict XML parser (tests/support/svg_inspect.py); expected numbers are computed
// here from the inputs, not by the report code.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <algorithm>

#include "entropix/report/charts.h"
#include "entropix/report/findings.h"
#include "entropix/report/report.h"
#include "entropix/report/run_diff.h"
#include "entropix/report/training_curves.h"
#include "entropix/util/error.h"
#include "support/report_inspect.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::TempDir;
using report::kNaN;

using test::parse_back;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

// (1/T) sum_{i=1..T} ln i, the uniform causal ceiling, computed here.
double ceiling(int T) {
  double s = 0;
  for (int i = 1; i <= T; ++i) s += std::log(static_cast<double>(i));
  return s / T;
}

// ---- charts ----

TEST(ReportFigures, HeatmapCellsHaveTooltipsAndTheColourBarTicksItsMaximum) {
  TempDir dir;
  charts::Heatmap h;
  h.id = "hm";
  h.title = "t";
  h.values = {{0.0, 1.234567}, {kNaN, 3.87}};
  h.row_labels = {"L0", "L1"};
  h.col_labels = {"h0", "h1"};
  h.hi = 3.87;
  h.tooltip_unit = "nats";
  h.references = {{2.5, "uniform causal ceiling = 2.500 nats"}, {4.852, "ln T = 4.852 nats"}};
  const auto parsed = parse_back(charts::heatmap(h), dir);
  const auto cells = test::of_class(parsed, "cell");
  ASSERT_EQ(cells.size(), 4u);
  const char* expected[] = {"L0 h0: 0.0000 nats", "L0 h1: 1.2346 nats", "L1 h0: nan", "L1 h1: 3.8700 nats"};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(cells[i]["title"], expected[i]) << i;
  // Ticks: round ones inside, plus both ends, the maximum 3.87 labelled to two decimals.
  std::set<std::string> ticks;
  for (const auto& t : test::of_class(parsed, "colour-tick")) ticks.insert(t["text"].get<std::string>());
  EXPECT_TRUE(ticks.count("3.87")) << "the maximum has a tick";
  EXPECT_TRUE(ticks.count("0.00"));
  EXPECT_GE(ticks.size(), 4u);
  // The ceiling lies on the scale (a mark); ln T above it (named, no mark).
  const auto marks = test::of_class(parsed, "reference-mark");
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(std::stod(marks[0]["attrs"]["data-value"].get<std::string>()), 2.5);
  const auto refs = test::of_class(parsed, "reference-label");
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_NE(refs[1]["text"].get<std::string>().find("ln T = 4.852 nats (above the scale)"), std::string::npos);
}

TEST(ReportFigures, LineMarkersAreDistinctPerSeriesAndEveryMarkerHasItsValue) {
  TempDir dir;
  charts::LineChart c;
  c.id = "lc";
  c.title = "layers";
  for (int l = 0; l < 3; ++l) {
    charts::Series s("layer " + std::to_string(l), colormap::sequential(l, 3), {0, 10, 20}, {1.0 + l, 1.5 + l, 2.0 + l});
    s.marker = l;
    c.series.push_back(s);
  }
  std::vector<double> x, y;
  for (int i = 0; i < 200; ++i) x.push_back(i), y.push_back(0.01 * i);
  c.series.emplace_back("long", colormap::categorical(3), x, y);
  const auto parsed = parse_back(charts::line_chart(c), dir);
  std::set<std::string> shapes;
  for (const auto& s : test::of_class(parsed, "series")) shapes.insert(s["attrs"]["data-marker"].get<std::string>());
  EXPECT_EQ(shapes.size(), 3u) << "layers 0-2 get three shapes (the fourth series reuses circle)";
  size_t long_points = 0;
  bool last_kept = false;
  for (const auto& p : test::of_class(parsed, "point")) {
    const double px = std::stod(p["attrs"]["data-x"].get<std::string>());
    const double py = std::stod(p["attrs"]["data-y"].get<std::string>());
    ASSERT_TRUE(p["title"].is_string()) << "every marker has a tooltip";
    const std::string tip = p["title"];
    if (tip.rfind("long:", 0) == 0) {
      ++long_points;
      last_kept = last_kept || px == 199;
      EXPECT_DOUBLE_EQ(py, 0.01 * px);
    } else {
      const int l = tip[6] - '0';  // "layer L: x, y"
      EXPECT_EQ(tip, "layer " + std::to_string(l) + ": " + fmt("%.0f", px) + ", " + fmt("%.4f", 1.0 + l + px / 20));
    }
  }
  EXPECT_EQ(long_points, 60u) << "200 points thinned to 60 markers";
  EXPECT_TRUE(last_kept);
}

TEST(ReportFigures, BandCarriesItsBoundsAndEmaFollowsItsDefinition) {
  TempDir dir;
  charts::LineChart c;
  c.id = "band";
  c.title = "band";
  charts::Series s("group", colormap::categorical(0), {0, 5, 10}, {1, 2, 3});
  s.band_lo = {0.5, 1.5, 2.5};
  s.band_hi = {1.5, 2.5, 3.5};
  c.series.push_back(s);
  const auto bands = test::of_class(parse_back(charts::line_chart(c), dir), "band");
  ASSERT_EQ(bands.size(), 1u);
  EXPECT_EQ(bands[0]["attrs"]["data-x"], "0 5 10");
  EXPECT_EQ(bands[0]["attrs"]["data-lo"], "0.5 1.5 2.5");
  EXPECT_EQ(bands[0]["attrs"]["data-hi"], "1.5 2.5 3.5");
  // s1 = x1; s = 0.9 s + 0.1 x; a NaN is a gap that leaves s alone.
  const auto e = report::ema({1, 2, kNaN, 3});
  ASSERT_EQ(e.size(), 4u);
  EXPECT_DOUBLE_EQ(e[0], 1);
  EXPECT_DOUBLE_EQ(e[1], 0.9 * 1 + 0.1 * 2);
  EXPECT_TRUE(std::isnan(e[2]));
  EXPECT_DOUBLE_EQ(e[3], 0.9 * 1.1 + 0.1 * 3);
}

// ---- hand-written run directories ----

// A spec.yaml with the keys the tests vary; the rest of a resolved spec is not needed to read one.
void write_spec(const fs::path& dir, const std::string& name, int seed, double lr) {
  test::write_text(dir / "spec.yaml", "name: \"" + name + "\"\nseed: " + std::to_string(seed) +
                                          "\nmodel:\n  n_layer: 3\n  n_head: 2\n  norm: \"none\"\n  layers:\n    []\n"
                                          "  attn_reparam_groups: [qk]\ntrain:\n  lr: " + fmt("%g", lr) + "\n  steps: 20\n");
}

nlohmann::json train_json(int64_t step, double loss, double lr) {
  return {{"kind", "train"}, {"step", step}, {"tokens", 64 * step}, {"loss", loss}, {"lr", lr},
          {"grad_norm", 0.5 + loss / 10}, {"ms_per_step", 3.0}, {"tokens_per_s", 1000.0 + step}, {"elapsed_s", 0.1 * step}};
}

// An entropy record at T = 16 with the ceiling written as `entropix run` writes it.
nlohmann::json entropy_json(int64_t step, const nlohmann::json& headwise, const nlohmann::json& nan_counts) {
  nlohmann::json lw = nlohmann::json::array();
  for (const auto& row : headwise) {
    double sum = 0;
    int n = 0;
    for (const auto& v : row)
      if (v.is_number()) sum += v.get<double>(), ++n;
    lw.push_back(n ? nlohmann::json(sum / n) : nlohmann::json());
  }
  return {{"kind", "entropy"}, {"step", step}, {"split", "val"}, {"max_entropy", std::log(16.0)},
          {"causal_ceiling", ceiling(16)}, {"headwise", headwise}, {"layerwise", lw}, {"nan_counts", nan_counts},
          {"bins", {0.25, 0.25, 0.25, 0.25}}, {"bin_max", ceiling(16)}, {"bin_max_mode", "causal"}};
}

void write_metrics(const fs::path& dir, const std::vector<nlohmann::json>& records, const std::string& tail = "") {
  fs::create_directories(dir);
  std::string lines;
  for (const auto& r : records) lines += r.dump() + "\n";
  test::write_text(dir / "metrics.jsonl", lines + tail);
}

TEST(ReportFigures, FindingsNameTheLayersThatCollapseOverloadOrGoNonFinite) {
  TempDir dir;
  const double m = ceiling(16);  // 1.917 nats: collapse below m/4 = 0.479, overload from 3m/4 = 1.438
  // Layer 0: both heads near uniform (overload). Layer 1: both near one-hot (collapse). Layer 2:
  // one head of four collapsed (a quarter: below the half that flags a layer) and NaN attention
  // at step 5 (an integer count, as newer runs write it).
  const nlohmann::json hw = {{m * 0.95, m * 0.8, m * 0.9, m * 0.99},
                             {0.02, 0.1, m / 4 - 0.01, 0.3},
                             {0.1, 1.0, 1.1, nullptr}};
  write_metrics(dir / "bad", {entropy_json(0, {{1.0, 1.0, 1.0, 1.0}, {1.0, 1.0, 1.0, 1.0}, {1.0, 1.0, 1.0, 1.0}}, {0.0, 0.0, 0.0}),
                              entropy_json(5, hw, {0, 0, 2})});
  write_metrics(dir / "healthy", {entropy_json(5, {{1.0, 1.1}, {0.9, 1.2}, {1.0, 1.3}}, {0.0, 0.0, 0.0})});
  const auto bad = report::read_run_logs(dir / "bad");
  const auto f = report::find_findings(bad, 0, &bad.entropy.back());
  EXPECT_EQ(f.overload_layers, (std::vector<size_t>{0}));
  EXPECT_EQ(f.collapse_layers, (std::vector<size_t>{1}));
  EXPECT_EQ(f.nan_layers, (std::vector<size_t>{2}));
  EXPECT_EQ(f.text, "run 1: bad, step 5 (val batch): entropy collapse in layer 1; entropic overload in layer 0; "
                    "non-finite attention in layer 2 (from step 5).");
  const auto healthy = report::read_run_logs(dir / "healthy");
  EXPECT_EQ(report::find_findings(healthy, 1, &healthy.entropy.back()).text,
            "run 2: healthy, step 5 (val batch): no entropy collapse; no entropic overload; no non-finite attention.");
  // The page shows both lines, and the thresholds with this T's numbers.
  const auto r = report::build_report({bad, healthy}, std::nullopt);
  const std::string html = report::render_html(r);
  EXPECT_NE(html.find(f.text), std::string::npos);
  EXPECT_NE(html.find("m/4 = " + fmt("%.3f", m / 4)), std::string::npos);
  EXPECT_NE(html.find("3m/4 = " + fmt("%.3f", 3 * m / 4)), std::string::npos);
}

TEST(ReportFigures, ARunInProgressReadsWithoutItsHalfWrittenLastLine) {
  TempDir dir;
  write_metrics(dir / "live", {entropy_json(0, {{1.0, 1.1}}, {0}), train_json(2, 3.0, 1e-3), train_json(4, 2.5, 1e-3)},
                "{\"kind\": \"train\", \"step\": 6, \"lo");
  const auto run = report::read_run_logs(dir / "live");
  EXPECT_TRUE(run.partial_last_line);
  EXPECT_FALSE(run.has_summary);
  EXPECT_EQ(run.train.size(), 2u);
  EXPECT_EQ(run.steps, 4);
  const auto r = report::build_report({run}, std::nullopt);
  EXPECT_NE(report::render_html(r).find("<td>unfinished</td>"), std::string::npos);
  // A bad line that is complete (it has its newline) is still an error naming the line.
  write_metrics(dir / "broken", {train_json(2, 3.0, 1e-3)}, "{\"kind\": \"tr\n");
  try {
    report::read_run_logs(dir / "broken");
    ADD_FAILURE() << "a malformed complete line was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(e.problems()[0].find("metrics.jsonl:2: not a JSON object"), std::string::npos) << e.problems()[0];
  }
}

TEST(ReportFigures, DiffersColumnListsTheKeysThatDifferWithEachRunsValue) {
  TempDir dir;
  write_metrics(dir / "a", {train_json(2, 3.0, 1e-3)});
  write_metrics(dir / "b", {train_json(2, 3.0, 1e-3)});
  write_metrics(dir / "c", {train_json(2, 3.0, 1e-3)});
  write_spec(dir / "a", "first", 1, 0.001);
  write_spec(dir / "b", "second", 2, 0.001);
  write_spec(dir / "c", "third", 1, 0.03);
  std::vector<report::RunLogs> runs;
  for (const char* n : {"a", "b", "c"}) runs.push_back(report::read_run_logs(dir / n));
  EXPECT_EQ(runs[0].spec.at("model.attn_reparam_groups"), "[qk]");
  EXPECT_EQ(report::differing_keys(runs), (std::vector<std::string>{"seed", "train.lr"}));  // name is not a difference
  const auto col = report::differs_column(runs);
  EXPECT_EQ(col.cells, (std::vector<std::string>{"seed=1; train.lr=0.001", "seed=2; train.lr=0.001", "seed=1; train.lr=0.03"}));
  // The page's table holds the column (read back with an HTML parser).
  test::write_text(dir / "index.html", report::render_html(report::build_report(runs, std::nullopt)));
  const auto dom = test::inspect("dom", dir / "index.html");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  const auto table = nlohmann::json::parse(dom.out)["tables"]["run-table"];
  ASSERT_EQ(table.size(), 4u);
  const auto header = table[0].get<std::vector<std::string>>();
  const size_t at = std::find(header.begin(), header.end(), "differs") - header.begin();
  ASSERT_LT(at, header.size());
  EXPECT_EQ(table[3][at], "seed=1; train.lr=0.03");
}

// Runs of a sweep's seed grid ("<variant>_seed=<n>") are named after their variant in legends.
TEST(ReportFigures, GroupsOfSweepRunsAreNamedAfterTheirVariant) {
  TempDir dir;
  std::vector<report::RunLogs> runs;
  for (int k = 0; k < 4; ++k) {
    const int seed = 1 + k % 2;
    const std::string name = std::string(k < 2 ? "sm-ln-g" : "sm") + "_seed=" + std::to_string(seed);
    const fs::path d = dir / name;
    write_metrics(d, {train_json(5, 3.0, 1e-3)});
    write_spec(d, name, seed, k < 2 ? 0.001 : 0.03);
    runs.push_back(report::read_run_logs(d));
  }
  const auto r = report::build_report(runs, std::nullopt, "seed");
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].label, "group 1: sm-ln-g (runs 1, 2)");
  EXPECT_EQ(r.groups[1].label, "group 2: sm (runs 3, 4)");
}

TEST(ReportFigures, GroupBySeedDrawsMeanAndStdOfTheGroupsRuns) {
  TempDir dir;
  // Two learning rates x two seeds; the losses differ per seed.
  const double losses[4][3] = {{4.0, 3.0, 2.0}, {4.2, 3.4, 2.6}, {4.1, 2.9, 1.7}, {3.9, 2.5, 1.5}};
  const double val[4] = {2.1, 2.5, 1.8, 1.6};
  std::vector<report::RunLogs> runs;
  for (int k = 0; k < 4; ++k) {
    const fs::path d = dir / ("r" + std::to_string(k));
    std::vector<nlohmann::json> recs;
    for (int i = 0; i < 3; ++i) recs.push_back(train_json(5 * (i + 1), losses[k][i], 1e-3));
    recs.push_back({{"kind", "eval"}, {"step", 15}, {"val_loss", val[k]}, {"val_ppl", std::exp(val[k])}});
    write_metrics(d, recs);
    write_spec(d, "r" + std::to_string(k), 1 + k % 2, k < 2 ? 0.001 : 0.03);
    runs.push_back(report::read_run_logs(d));
  }
  const auto r = report::build_report(runs, std::nullopt, "seed");
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].members, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(r.groups[1].members, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(r.groups[1].label, "group 2: train.lr=0.03 (runs 3, 4)");
  const report::Figure* loss = nullptr;
  for (const auto& s : r.sections)
    for (const auto& f : s.figures)
      if (f.id == "train-loss") loss = &f;
  ASSERT_NE(loss, nullptr);
  const auto bands = test::of_class(parse_back(loss->svg, dir), "band");
  ASSERT_EQ(bands.size(), 2u);
  for (size_t g = 0; g < 2; ++g) {
    EXPECT_EQ(bands[g]["attrs"]["data-x"], "5 10 15");
    std::vector<double> lo, hi;
    std::istringstream los(bands[g]["attrs"]["data-lo"].get<std::string>()), his(bands[g]["attrs"]["data-hi"].get<std::string>());
    for (double v; los >> v;) lo.push_back(v);
    for (double v; his >> v;) hi.push_back(v);
    ASSERT_EQ(lo.size(), 3u);
    for (int i = 0; i < 3; ++i) {
      const double a = losses[2 * g][i], b = losses[2 * g + 1][i];
      const double mean = (a + b) / 2, sd = std::abs(a - b) / std::sqrt(2.0);  // sample std of two values
      EXPECT_NEAR(lo[i], mean - sd, 1e-12) << g << " " << i;
      EXPECT_NEAR(hi[i], mean + sd, 1e-12) << g << " " << i;
    }
  }
  // The group table: mean ± std of the final validation loss.
  const std::string html = report::render_html(r);
  const double m1 = (val[2] + val[3]) / 2, s1 = std::abs(val[2] - val[3]) / std::sqrt(2.0);
  EXPECT_NE(html.find(fmt("%.4f", m1) + " \xC2\xB1 " + fmt("%.4f", s1)), std::string::npos) << html;
  EXPECT_NE(html.find("id=\"group-table\""), std::string::npos);
  // A key no spec has is one error per run.
  try {
    report::build_report(runs, std::nullopt, "train.nope");
    ADD_FAILURE() << "an unknown --group-by key was accepted";
  } catch (const InputError& e) {
    ASSERT_EQ(e.problems().size(), 4u);
    EXPECT_NE(e.problems()[0].find("spec.yaml: no key train.nope"), std::string::npos) << e.problems()[0];
  }
}

}  // namespace
}  // namespace entropix
