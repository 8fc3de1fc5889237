// End-to-end `entropix report`: real `entropix run` directories of two tiny models (about a second
// each), the report written by the real binary, its SVGs read back with an independent strict XML
// parser, and index.html opened in headless Chromium. Also the coloured terminal heatmap of `run`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <cmath>
#include <set>
#include <sstream>

#include "support/report_inspect.h"
#include "support/records.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;
using test::TempDir;


// A model small enough to train 12 steps in about a second; a learning rate high enough that the
// heads stop being uniform, so the heatmaps hold different numbers.
const std::string kTinyRunSpec =
    " --set model.n_embd=16 --set model.context=16 --set train.steps=12 --set train.eval_every=6"
    " --set log.entropy_every=6 --set log.every=6 --set train.batch_size=4 --set train.eval_batches=2"
    " --set train.lr=0.03 --set train.warmup=2";
// The second run: no LayerNorm, ReLU, learned temperatures and the entropy regulariser (thresholds).
const std::string kVariant =
    " --set name=norm-free --set model.norm=none --set model.activation=relu --set model.attention=softmax_temperature"
    " --set entropy_reg.enabled=true";

std::string two_decimals(const nlohmann::json& v) {
  if (v.is_null()) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v.get<double>());
  return buf;
}

// A logged number to four decimals, as the tooltips print it.
std::string four(const nlohmann::json& v) {
  if (v.is_null()) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.4f", v.get<double>());
  return buf;
}

nlohmann::json inspect_svg(const fs::path& file) {
  const auto r = test::inspect("elements", file);
  EXPECT_EQ(r.exit_code, 0) << file << ": " << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{{"elements", nlohmann::json::array()}};
}

// The heatmap's cells equal `headwise` as logged: L x H cells, each labelled with the logged value
// to two decimals.
void expect_heatmap_holds(const fs::path& svg, const nlohmann::json& headwise) {
  const auto parsed = inspect_svg(svg);
  const auto cells = test::of_class(parsed, "cell");
  const auto labels = test::of_class(parsed, "cell-label");
  size_t expected = 0;
  for (const auto& row : headwise) expected += row.size();
  ASSERT_EQ(cells.size(), expected) << svg;
  ASSERT_EQ(labels.size(), expected) << svg;
  std::set<std::pair<size_t, size_t>> seen;
  for (const auto& l : labels) {
    const size_t r = std::stoul(l["attrs"]["data-row"].get<std::string>());
    const size_t c = std::stoul(l["attrs"]["data-col"].get<std::string>());
    ASSERT_LT(r, headwise.size());
    ASSERT_LT(c, headwise[r].size());
    EXPECT_EQ(l["text"], two_decimals(headwise[r][c])) << svg << " L" << r << " h" << c;
    seen.insert({r, c});
  }
  EXPECT_EQ(seen.size(), expected) << "every (layer, head) once";
}

std::vector<std::string> svg_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".svg") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Two real runs side by side and their report, shared by the tests of this suite.
class ReportOfTwoRuns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>("entropix-report");
    setup_ = run_entropix("run " + q(test::smoke_spec_path()) + kTinyRunSpec + " --quiet --out " + q(run(1)));
    if (setup_.exit_code == 0) setup_ = run_entropix("run " + q(test::smoke_spec_path()) + kTinyRunSpec + kVariant + " --quiet --out " + q(run(2)));
    if (setup_.exit_code == 0) setup_ = run_entropix("report " + q(run(1)) + " " + q(run(2)) + " --out " + q(out()));
    // Run 3: run 1 with another seed, for --group-by seed.
    if (setup_.exit_code == 0) setup_ = run_entropix("run " + q(test::smoke_spec_path()) + kTinyRunSpec + " --set seed=7 --quiet --out " + q(run(3)));
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static fs::path run(int k) { return dir_->path() / ("run" + std::to_string(k)); }
  static fs::path out() { return dir_->path() / "report"; }
  void SetUp() override { ASSERT_EQ(setup_.exit_code, 0) << setup_.out << setup_.err; }

  static std::unique_ptr<TempDir> dir_;
  static test::CommandResult setup_;
};
std::unique_ptr<TempDir> ReportOfTwoRuns::dir_;
test::CommandResult ReportOfTwoRuns::setup_;

TEST_F(ReportOfTwoRuns, EverySvgParsesAndHeatmapsHoldTheLoggedValues) {
  const auto files = svg_files(out());
  for (const char* id : {"headwise-1", "headwise-2", "layerwise-1", "layerwise-2", "bins", "val-loss",
                         "learned-threshold-2", "learned-temperature-2"})
    EXPECT_TRUE(std::count(files.begin(), files.end(), id)) << id << " missing";
  for (const auto& id : files) {
    const auto parsed = inspect_svg(out() / (id + ".svg"));
    EXPECT_EQ(parsed.value("root", ""), "svg") << id;
    EXPECT_EQ(parsed.value("id", ""), id) << "the <svg> id names the figure";
  }
  // The last entropy record of each run, read from metrics.jsonl here, not by the report code.
  for (int k : {1, 2}) {
    const auto records = test::run_records(run(k), "entropy");
    ASSERT_FALSE(records.empty());
    expect_heatmap_holds(out() / ("headwise-" + std::to_string(k) + ".svg"), records.back()["headwise"]);
  }
  expect_heatmap_holds(out() / "learned-threshold-2.svg", test::run_records(run(2), "entropy").back()["threshold"]);

  // The bins: one bar per run and bin, labelled with the logged share in percent.
  const auto bins = inspect_svg(out() / "bins.svg");
  const auto labels = test::of_class(bins, "bar-label");
  ASSERT_EQ(labels.size(), 8u);
  for (const auto& l : labels) {
    const int s = std::stoi(l["attrs"]["data-series"].get<std::string>());
    const int g = std::stoi(l["attrs"]["data-group"].get<std::string>());
    char expected[32];
    std::snprintf(expected, sizeof(expected), "%.1f%%", 100 * test::run_records(run(s + 1), "entropy").back()["bins"][g].get<double>());
    EXPECT_EQ(l["text"], expected);
  }
  // One validation curve per run; one layerwise line per layer.
  EXPECT_EQ(test::of_class(inspect_svg(out() / "val-loss.svg"), "series").size(), 2u);
  EXPECT_EQ(test::of_class(inspect_svg(out() / "layerwise-1.svg"), "series").size(), 2u);
}

TEST_F(ReportOfTwoRuns, IndexHtmlIsSelfContained) {
  const std::string html = test::read_text(out() / "index.html");
  for (const auto& id : svg_files(out()))
    EXPECT_NE(html.find("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + id + "\""), std::string::npos) << id;
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Nothing to fetch: the only URL is the SVG namespace name; no sources, no CSS url().
  for (size_t at = html.find("://"); at != std::string::npos; at = html.find("://", at + 1))
    EXPECT_TRUE(at >= 4 && html.compare(at - 4, 26, "http://www.w3.org/2000/svg") == 0) << html.substr(at - 4, 60);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  // The table: both runs, their status, the second against the first.
  EXPECT_NE(html.find("<td>smoke</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>norm-free</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">reference</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>completed</td>"), std::string::npos);
  // The PI cost columns agree with `entropix cost` on each run's spec.yaml (same profile).
  EXPECT_NE(html.find("PI comm GB"), std::string::npos);
  for (int k : {1, 2}) {
    const auto c = run_entropix("cost " + q(run(k) / "spec.yaml") + " --json");
    ASSERT_EQ(c.exit_code, 0) << c.err;
    char cell[64];
    std::snprintf(cell, sizeof(cell), "<td class=\"num\">%.2f</td>",
                  nlohmann::json::parse(c.out)["specs"][0]["comm_gb"].get<double>());
    EXPECT_NE(html.find(cell), std::string::npos) << cell;
  }
}

// The page as a browser shows it: headless Chromium renders it (screenshot not blank, the heatmap
// colours on screen) and its DOM holds every figure.
TEST_F(ReportOfTwoRuns, HeadlessChromiumShowsEveryFigure) {
  // A missing browser fails the test: a skip would hide a set-up that never checks the page.
  if (const char* skip = std::getenv("ENTROPIX_SKIP_BROWSER_TESTS"); skip && std::string(skip) == "1")
    GTEST_SKIP() << "browser test skipped because ENTROPIX_SKIP_BROWSER_TESTS=1";
  if (test::run_shell("command -v chromium").exit_code != 0)
    FAIL() << "chromium is not installed: install the Debian package chromium (scripts/bootstrap.sh test does), "
              "or set ENTROPIX_SKIP_BROWSER_TESTS=1 to skip the browser test";
  TempDir tmp("entropix-chromium");
  // The flags of the issue, plus a private profile (parallel tests never share one) and no use of
  // /dev/shm, which is small in containers.
  const std::string chromium = "timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run "
                               "--disable-background-networking --disable-dev-shm-usage --user-data-dir=" + q(tmp / "profile") + " ";
  const std::string url = "file://" + fs::absolute(out() / "index.html").string();
  const fs::path shot = tmp / "shot.png";
  auto r = test::run_shell(chromium + "--screenshot=" + q(shot) + " --window-size=1200,2000 " + q(url));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(shot)) << r.err;
  r = test::run_shell(chromium + "--dump-dom " + q(url) + " >" + q(tmp / "dom.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const auto png = test::inspect("png", shot);
  ASSERT_EQ(png.exit_code, 0) << png.err;
  const auto stats = nlohmann::json::parse(png.out);
  EXPECT_EQ(stats["width"], 1200);
  EXPECT_EQ(stats["height"], 2000);
  // A blank (or error) page is one background colour with a few greys of text. This page measured
  // about 1000 colours with 10% of its pixels off the background; the bounds leave wide room.
  EXPECT_GE(stats["distinct_colours"].get<int>(), 50) << png.out.substr(0, 300);
  EXPECT_GE(stats["non_background_share"].get<double>(), 0.02);
  EXPECT_GE(stats["luminance_stddev"].get<double>(), 5.0);
  // The heatmaps are on screen: every cell colour of run 1's heatmap is in the screenshot (flat
  // fills render exactly; the heatmaps are near the top of the page).
  std::set<std::string> colours;
  for (const auto& c : stats["colours"]) colours.insert(c.get<std::string>());
  for (const auto& cell : test::of_class(inspect_svg(out() / "headwise-1.svg"), "cell"))
    EXPECT_TRUE(colours.count(cell["attrs"]["fill"].get<std::string>())) << cell["attrs"]["fill"];

  const auto dom = test::inspect("dom", tmp / "dom.html");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  const auto ids = nlohmann::json::parse(dom.out);
  std::vector<std::string> in_dom = ids["svg_ids"].get<std::vector<std::string>>();
  std::sort(in_dom.begin(), in_dom.end());
  EXPECT_EQ(in_dom, svg_files(out())) << "every figure once in the rendered page";
  EXPECT_EQ(ids["scripts"], 0);
  // The tooltips and findings are in the page the browser built: at least one <title> per heatmap
  // cell and one findings line per run.
  size_t cells = 0;
  for (int k : {1, 2}) cells += test::of_class(inspect_svg(out() / ("headwise-" + std::to_string(k) + ".svg")), "cell").size();
  EXPECT_GE(ids["svg_titles"].get<size_t>(), cells);
  EXPECT_EQ(ids["findings"].size(), 2u);
}

// The curves over training: every marker holds a logged value (read from metrics.jsonl here), and
// its tooltip says it.
TEST_F(ReportOfTwoRuns, TrainingCurvesHoldTheLoggedValuesWithTooltips) {
  struct Curve {
    const char* id;
    const char* field;
  };
  for (const Curve c : {Curve{"train-loss", "loss"}, Curve{"lr", "lr"}, Curve{"grad-norm", "grad_norm"},
                        Curve{"tokens-per-s", "tokens_per_s"}}) {
    const auto points = test::of_class(inspect_svg(out() / (std::string(c.id) + ".svg")), "point");
    for (int k : {1, 2}) {
      const std::string label = "run " + std::to_string(k) + ": " + (k == 1 ? "smoke" : "norm-free");
      std::set<std::pair<int64_t, std::string>> logged, drawn;
      for (const auto& rec : test::run_records(run(k), "train")) logged.insert({rec["step"].get<int64_t>(), four(rec[c.field])});
      for (const auto& p : points) {
        const std::string tip = p["title"].is_string() ? p["title"].get<std::string>() : "";
        if (tip.rfind(label + ",", 0) != 0) continue;
        const auto step = static_cast<int64_t>(std::stod(p["attrs"]["data-x"].get<std::string>()));
        const std::string value = four(std::stod(p["attrs"]["data-y"].get<std::string>()));
        drawn.insert({step, value});
        // "run 1: smoke, step 6: 4.1234 nats; EMA 4.1234" for the loss, "..., step 6: 0.0300" otherwise.
        EXPECT_EQ(tip.rfind(label + ", step " + std::to_string(step) + ": " + value, 0), 0u) << tip;
      }
      ASSERT_FALSE(logged.empty());
      // Train records every 6 steps (fewer than 60, so every one has its marker).
      EXPECT_EQ(drawn, logged) << c.id << " " << label;
    }
  }
}

// Heatmap tooltips, the colour bar's maximum, markers per layer, the reference lines.
TEST_F(ReportOfTwoRuns, TooltipsTicksMarkersAndReferenceLines) {
  double top = 0;
  for (int k : {1, 2}) {
    const auto hw = test::run_records(run(k), "entropy").back()["headwise"];
    for (const auto& cell : test::of_class(inspect_svg(out() / ("headwise-" + std::to_string(k) + ".svg")), "cell")) {
      const size_t r = std::stoul(cell["attrs"]["data-row"].get<std::string>());
      const size_t c = std::stoul(cell["attrs"]["data-col"].get<std::string>());
      EXPECT_EQ(cell["title"], "L" + std::to_string(r) + " h" + std::to_string(c) + ": " + four(hw[r][c]) + " nats");
    }
    for (const auto& row : hw)
      for (const auto& v : row)
        if (v.is_number()) top = std::max(top, v.get<double>());
  }
  // The shared scale's maximum (the largest value of either run) is a tick of every colour bar.
  for (int k : {1, 2}) {
    std::set<std::string> ticks;
    for (const auto& t : test::of_class(inspect_svg(out() / ("headwise-" + std::to_string(k) + ".svg")), "colour-tick"))
      ticks.insert(t["text"].get<std::string>());
    EXPECT_TRUE(ticks.count(two_decimals(top))) << two_decimals(top);
  }
  // Layers 0 and 1 have different marker shapes.
  std::set<std::string> shapes;
  const auto layerwise = inspect_svg(out() / "layerwise-1.svg");
  for (const auto& s : test::of_class(layerwise, "series")) shapes.insert(s["attrs"]["data-marker"].get<std::string>());
  EXPECT_EQ(shapes.size(), 2u);
  // ln T and the uniform causal ceiling at T = 16, computed here, labelled wherever entropy is a line.
  double ceiling = 0;
  for (int i = 1; i <= 16; ++i) ceiling += std::log(i);
  ceiling /= 16;
  char ln_t[64], ceil_label[64];
  std::snprintf(ln_t, sizeof(ln_t), "ln T = %.3f", std::log(16.0));
  std::snprintf(ceil_label, sizeof(ceil_label), "uniform causal ceiling = %.3f", ceiling);
  for (const char* id : {"layerwise-1", "layerwise-2", "entropy-layer-0", "entropy-layer-1"}) {
    std::set<std::string> refs;
    for (const auto& l : test::of_class(inspect_svg(out() / (std::string(id) + ".svg")), "reference-label"))
      refs.insert(l["text"].get<std::string>());
    EXPECT_EQ(refs, (std::set<std::string>{ln_t, ceil_label})) << id;
  }
  // On the heatmaps both are named under the colour bar.
  std::string labels;
  for (const auto& l : test::of_class(inspect_svg(out() / "headwise-1.svg"), "reference-label")) labels += l["text"].get<std::string>() + "|";
  EXPECT_NE(labels.find(std::string(ceil_label) + " nats"), std::string::npos) << labels;
  EXPECT_NE(labels.find(std::string(ln_t) + " nats"), std::string::npos) << labels;
}

// The "differs" column and the findings lines, read from index.html with an HTML parser.
TEST_F(ReportOfTwoRuns, DiffersColumnAndFindings) {
  const auto dom = test::inspect("dom", out() / "index.html");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  const auto page = nlohmann::json::parse(dom.out);
  const auto table = page["tables"]["run-table"];
  ASSERT_EQ(table.size(), 3u);
  const auto header = table[0].get<std::vector<std::string>>();
  const size_t at = std::find(header.begin(), header.end(), "differs") - header.begin();
  ASSERT_LT(at, header.size());
  const std::string one = table[1][at], two = table[2][at];
  // kVariant's keys, with its values in run 2 and others in run 1; train.lr is the same in both.
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"model.norm", "none"}, {"model.activation", "relu"}, {"model.attention", "softmax_temperature"},
           {"entropy_reg.enabled", "true"}}) {
    EXPECT_NE(two.find(key + "=" + value), std::string::npos) << two;
    EXPECT_NE(one.find(key + "="), std::string::npos) << one;
    EXPECT_EQ(one.find(key + "=" + value + ";"), std::string::npos) << one;
  }
  EXPECT_EQ(one.find("train.lr"), std::string::npos) << one;
  EXPECT_EQ(one.find("name="), std::string::npos) << "the name has its own column";

  // Findings: one line per run, the flagged layers computed here from the last record with the
  // documented thresholds (half of a layer's heads below m/4, or at or above 3m/4).
  double m = 0;
  for (int i = 1; i <= 16; ++i) m += std::log(i);
  m /= 16;
  ASSERT_EQ(page["findings"].size(), 2u);
  for (int k : {1, 2}) {
    const auto& f = page["findings"][k - 1];
    const auto hw = test::run_records(run(k), "entropy").back()["headwise"];
    std::string collapse, overload;
    for (size_t l = 0; l < hw.size(); ++l) {
      int low = 0, high = 0, n = 0;
      for (const auto& v : hw[l]) {
        if (!v.is_number()) continue;
        ++n;
        low += v.get<double>() < m / 4;
        high += v.get<double>() >= 3 * m / 4;
      }
      if (n && 2 * low >= n) collapse += (collapse.empty() ? "" : " ") + std::to_string(l);
      if (n && 2 * high >= n) overload += (overload.empty() ? "" : " ") + std::to_string(l);
    }
    EXPECT_EQ(f["attrs"]["data-run"], std::to_string(k));
    EXPECT_EQ(f["attrs"]["data-collapse"], collapse);
    EXPECT_EQ(f["attrs"]["data-overload"], overload);
    EXPECT_EQ(f["attrs"]["data-nan"], "");
    const std::string text = f["text"];
    EXPECT_EQ(text.rfind("run " + std::to_string(k) + ": " + (k == 1 ? "smoke" : "norm-free") + ", step 12 (val batch): ", 0), 0u) << text;
    EXPECT_NE(text.find(collapse.empty() ? "no entropy collapse" : "entropy collapse in layer"), std::string::npos) << text;
    EXPECT_NE(text.find("no non-finite attention"), std::string::npos) << text;
  }
}

// --group-by seed: runs 1 and 3 (the same spec but for the seed) are one group, drawn as the mean
// with a band of +/- the sample std, both computed here from their metrics.jsonl.
TEST_F(ReportOfTwoRuns, GroupBySeedBandsHoldMeanAndStd) {
  TempDir tmp;
  auto r = run_entropix("report " + q(run(1)) + " " + q(run(3)) + " --group-by seed --out " + q(tmp / "g"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bands = test::of_class(inspect_svg(tmp / "g" / "train-loss.svg"), "band");
  ASSERT_EQ(bands.size(), 1u);
  const auto a = test::run_records(run(1), "train"), b = test::run_records(run(3), "train");
  ASSERT_EQ(a.size(), b.size());
  std::istringstream xs(bands[0]["attrs"]["data-x"].get<std::string>()), los(bands[0]["attrs"]["data-lo"].get<std::string>()),
      his(bands[0]["attrs"]["data-hi"].get<std::string>());
  for (size_t i = 0; i < a.size(); ++i) {
    double x = -1, lo = 0, hi = 0;
    xs >> x, los >> lo, his >> hi;
    const double u = a[i]["loss"].get<double>(), v = b[i]["loss"].get<double>();
    const double mean = (u + v) / 2, sd = std::abs(u - v) / std::sqrt(2.0);
    EXPECT_EQ(x, a[i]["step"].get<double>());
    EXPECT_NEAR(lo, mean - sd, 1e-12);
    EXPECT_NEAR(hi, mean + sd, 1e-12);
  }
  const auto dom = test::inspect("dom", tmp / "g" / "index.html");
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  const auto groups = nlohmann::json::parse(dom.out)["tables"]["group-table"];
  ASSERT_EQ(groups.size(), 2u);  // header and one group
  EXPECT_EQ(groups[1][1], "1, 2");
  EXPECT_EQ(groups[1][2], "1337, 7");
  // An unknown key is bad input, and nothing is written.
  r = run_entropix("report " + q(run(1)) + " --group-by model.nope --out " + q(tmp / "h"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("spec.yaml: no key model.nope"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "h"));
}

// A run in progress: no summary.json, and the last line of metrics.jsonl cut in half.
TEST_F(ReportOfTwoRuns, ARunInProgressIsDrawn) {
  TempDir tmp;
  fs::create_directories(tmp / "live");
  for (const char* f : {"spec.yaml", "metrics.jsonl"}) fs::copy_file(run(1) / f, tmp / "live" / f);
  std::string text = test::read_text(tmp / "live" / "metrics.jsonl");
  text.pop_back();                                   // the final newline
  const size_t last = text.rfind('\n');
  text.resize(last + 1 + (text.size() - last - 1) / 2);  // half of the last record
  test::write_text(tmp / "live" / "metrics.jsonl", text);
  const auto r = run_entropix("report " + q(tmp / "live") + " --out " + q(tmp / "report"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(test::read_text(tmp / "report" / "index.html").find("<td>unfinished</td>"), std::string::npos);
  EXPECT_TRUE(fs::exists(tmp / "report" / "train-loss.svg"));
}

TEST_F(ReportOfTwoRuns, StepChoosesTheRecordAndAnUnknownStepListsTheSteps) {
  TempDir tmp;
  auto r = run_entropix("report " + q(run(1)) + " " + q(run(2)) + " --step 6 --out " + q(tmp / "at6"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int k : {1, 2}) {
    nlohmann::json at6;
    for (const auto& rec : test::run_records(run(k), "entropy"))
      if (rec["step"] == 6) at6 = rec;
    ASSERT_FALSE(at6.is_null());
    expect_heatmap_holds(tmp / "at6" / ("headwise-" + std::to_string(k) + ".svg"), at6["headwise"]);
  }

  r = run_entropix("report " + q(run(1)) + " " + q(run(2)) + " --step 7 --out " + q(tmp / "at7"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;  // one line per run
  EXPECT_NE(r.err.find("error: " + run(1).string() + ": no entropy record at step 7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("entropy records exist at steps 0, 6, 12"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "at7")) << "nothing written on bad input";
}

TEST_F(ReportOfTwoRuns, RefusesToOverwriteWithoutTheFlag) {
  const std::string again = "report " + q(run(1)) + " --out " + q(out());
  auto r = run_entropix(again);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("already holds a report; pass --overwrite"), std::string::npos) << r.err;
  r = run_entropix(again + " --overwrite");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out() / "headwise-2.svg")) << "the old report's figures are replaced";
  EXPECT_TRUE(fs::exists(out() / "headwise-1.svg"));
  // A run directory is never an output directory.
  r = run_entropix("report " + q(run(1)) + " --overwrite --out " + q(run(2)));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("holds no entropix report"), std::string::npos) << r.err;
}

TEST(Report, MissingOrEmptyRunDirectoryIsOneErrorLine) {
  TempDir dir;
  auto r = run_entropix("report " + q(dir / "nope") + " --out " + q(dir / "out"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + (dir / "nope").string() + ": no such run directory\n");
  fs::create_directories(dir / "empty");
  r = run_entropix("report " + q(dir / "empty") + " --out " + q(dir / "out"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a run directory (no metrics.jsonl)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));
}

// `run` colours its final heatmap on a terminal only: `script` gives it a pseudo-terminal.
TEST(Report, RunColoursTheHeatmapOnlyOnATerminal) {
  TempDir dir;
  const std::string run = std::string(ENTROPIX_BIN) + " run " + q(test::smoke_spec_path()) + kTinyRunSpec;
  auto tty = test::run_shell("env -u NO_COLOR TERM=xterm script -qec \"" + run + " --out " + q(dir / "a") + "\" /dev/null");
  ASSERT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  EXPECT_NE(tty.out.find("\033[48;2;"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("headwise attention entropy"), std::string::npos) << tty.out;

  auto no_colour = test::run_shell("NO_COLOR=1 TERM=xterm script -qec \"" + run + " --out " + q(dir / "b") + "\" /dev/null");
  ASSERT_EQ(no_colour.exit_code, 0) << no_colour.out << no_colour.err;
  EXPECT_EQ(no_colour.out.find('\033'), std::string::npos) << no_colour.out;
  EXPECT_NE(no_colour.out.find("L1 "), std::string::npos) << no_colour.out;

  auto piped = test::run_shell("env -u NO_COLOR TERM=xterm " + run + " --out " + q(dir / "c"));
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out.find('\033'), std::string::npos) << piped.out;
  EXPECT_NE(piped.out.find("L1 "), std::string::npos) << piped.out;
}

}  // namespace
}  // namespace entropix
