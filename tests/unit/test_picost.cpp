// The private-inference cost model (lib/entropix/picost): NNLS, profiles, estimates, and the
// accuracy of the shipped bumblebee-wan profile against the published numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "entropix/describe/describe.h"
#include "entropix/picost/calibrate.h"
#include "entropix/picost/cost.h"
#include "entropix/picost/nnls.h"
#include "entropix/picost/profile.h"
#include "entropix/util/error.h"
#include "support/test_util.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;

fs::path profiles_dir() { return test::source_dir() / "lib" / "entropix" / "picost" / "profiles"; }

ModelSpec paper_model(const std::string& stem, const std::vector<std::string>& sets = {}) {
  return load_spec((test::source_dir() / "experiments" / "paper" / (stem + ".yaml")).string(), sets).model;
}

// The message of the InputError `f` throws ("" when it throws none).
template <typename F>
std::string input_error(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// ---- NNLS: small problems solved by hand ----

TEST(Nnls, ConsistentSystemWithPositiveSolution) {
  // x = (1, 2) solves all three equations exactly.
  const auto x = nnls({{1, 0}, {0, 1}, {1, 1}}, {1, 2, 3});
  EXPECT_NEAR(x[0], 1, 1e-12);
  EXPECT_NEAR(x[1], 2, 1e-12);
}

TEST(Nnls, ClampsWhereUnconstrainedLeastSquaresGoesNegative) {
  // Unconstrained: b = 4 - t fits exactly with slope -1. With x >= 0 the slope column drops out
  // and x0 is the mean of b (2); the slope-only fit (x1 = 10/14) leaves a larger residual (6.86 > 2).
  const auto x = nnls({{1, 1}, {1, 2}, {1, 3}}, {3, 2, 1});
  EXPECT_NEAR(x[0], 2, 1e-12);
  EXPECT_EQ(x[1], 0);
  const auto y = nnls({{1, 0}, {0, 1}}, {-1, 2});
  EXPECT_EQ(y[0], 0);
  EXPECT_NEAR(y[1], 2, 1e-12);
}

TEST(Nnls, ColumnsOfVeryDifferentScale) {
  // Per-MAC and per-element costs differ by many orders of magnitude in a real fit.
  const auto x = nnls({{1e9, 0}, {0, 1e-6}, {1e9, 1e-6}}, {2, 3, 5});
  EXPECT_NEAR(x[0], 2e-9, 1e-20);
  EXPECT_NEAR(x[1], 3e6, 1e-5);
}

// ---- linear_inventory is forward_flops counted apart ----

TEST(PiCost, LinearMacsAreHalfTheForwardFlops) {
  for (const auto& [stem, sets] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"sm-ln-g", {}}, {"sm-scfuffn", {}}, {"sm-scfuffn-pruned", {}}, {"sm-ln-g-l18", {}},
           {"sm-ln-r", {"model.context=512", "model.vocab_size=16384"}}}) {
    const ModelSpec m = paper_model(stem, sets);
    const auto lin = linear_inventory(m);
    const auto flops = forward_flops(m);
    EXPECT_DOUBLE_EQ(2 * (lin["macs"]["projections"].get<double>() + lin["macs"]["attention_products"].get<double>()),
                     flops["total"].get<double>())
        << stem;
    EXPECT_DOUBLE_EQ(lin["macs"]["lm_head"].get<double>(), double(m.context) * m.n_embd * m.vocab_size) << stem;
  }
}

// ---- estimates with a hand-written profile, checked by hand ----

const char* kUnitProfile = R"(name: unit
protocol: test
network: none
source: hand-written for a test
nonlinear:
  softmax: {bytes: 1, seconds: 0}
  layernorm: {bytes: 0, seconds: 2}
  gelu: {bytes: 0, seconds: 0}
linear:
  mac: {bytes: 0, seconds: 0}
  output: {bytes: 1000, seconds: 0}
  lm_head_mac: {bytes: 0, seconds: 0}
)";

TEST(PiCost, EstimateCountsByHand) {
  ModelSpec m;  // L=2, H=2, d=8, T=4, mlp x4, GELU, LayerNorm
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 8;
  m.context = 4;
  const CostProfile p = parse_profile(kUnitProfile, "unit.yaml");
  const CostEstimate e = estimate_cost(m, p);
  // softmax: 2 layers x 2 heads x 4 x 4 = 64 elements at 1 byte; outputs: per layer Q, K, V, O and
  // the weighted values (5 x 4 x 8) + FFN hidden (32 x 4) + FFN output (4 x 8) = 320, two layers =
  // 640 at 1000 bytes.
  EXPECT_DOUBLE_EQ(e.total.bytes, 64 + 640000);
  // layernorm: 2 per layer + the final one = 5 x 4 x 8 = 160 elements at 2 s.
  EXPECT_DOUBLE_EQ(e.total.seconds, 320);
  EXPECT_DOUBLE_EQ(e.latency_min(), 320.0 / 60);
  m.blocks.ffn_scaling = "learnable_scale";  // two scalar products of 4 x 8 per layer: +128 outputs
  EXPECT_DOUBLE_EQ(estimate_cost(m, p).total.bytes, 64 + 768000);
}

// ---- profile files: errors name file, key, line:column and what is valid ----

TEST(PiCostProfile, BuiltInEqualsTheFileAndPricesEveryOpKind) {
  const std::string file = test::read_text(profiles_dir() / "bumblebee-wan.yaml");
  ASSERT_NE(builtin_profile_text("bumblebee-wan"), nullptr);
  EXPECT_EQ(*builtin_profile_text("bumblebee-wan"), file)
      << "lib/entropix/picost/builtin_profiles.cpp must embed profiles/bumblebee-wan.yaml verbatim";
  const CostProfile p = load_profile("bumblebee-wan");
  EXPECT_EQ(p.name, "bumblebee-wan");
  for (const auto& op : nonlinear_op_kinds()) EXPECT_TRUE(p.nonlinear.count(op)) << op;
  EXPECT_NE(p.source.find("2501.03489"), std::string::npos);  // it names its source
}

TEST(PiCostProfile, MalformedProfilesAreClearErrors) {
  const std::string good = kUnitProfile;
  auto err = [](const std::string& text) { return input_error([&] { parse_profile(text, "p.yaml"); }); };
  EXPECT_EQ(err(good), "");
  EXPECT_NE(err("- a list\n").find("p.yaml:1:1: top level: expected a mapping with keys name, protocol"),
            std::string::npos);
  EXPECT_NE(err(good + "colour: red\n").find("p.yaml:13:1: colour: unknown key; valid: name, protocol, network, "
                                             "source, nonlinear, linear"),
            std::string::npos);
  std::string negative = good;
  negative.replace(negative.find("gelu: {bytes: 0"), 15, "gelu: {bytes: -3");
  EXPECT_NE(err(negative).find("p.yaml:8:17: nonlinear.gelu.bytes: expected a finite number >= 0, got -3"),
            std::string::npos)
      << err(negative);
  std::string unknown_op = good;
  unknown_op.replace(unknown_op.find("gelu:"), 5, "swish:");
  EXPECT_NE(err(unknown_op).find("p.yaml:8:3: nonlinear.swish: unknown key; valid: layernorm, rmsnorm, gelu, relu, "
                                 "leaky_relu, softmax"),
            std::string::npos)
      << err(unknown_op);
  std::string no_output = good;
  no_output.erase(no_output.find("  output:"), std::string("  output: {bytes: 1000, seconds: 0}\n").size());
  EXPECT_NE(err(no_output).find("linear.output: missing; required keys: mac, output, lm_head_mac"), std::string::npos)
      << err(no_output);
  EXPECT_NE(err("name: [unclosed\n").find("p.yaml:"), std::string::npos);
  EXPECT_NE(err("name: [unclosed\n").find("malformed YAML"), std::string::npos);
  std::string text_cost = good;
  text_cost.replace(text_cost.find("{bytes: 1, seconds: 0}"), 22, "cheap");
  EXPECT_NE(err(text_cost).find("p.yaml:6:12: nonlinear.softmax: expected a mapping with keys bytes, seconds"),
            std::string::npos)
      << err(text_cost);
}

TEST(PiCostProfile, MissingOpKindIsReportedWhenASpecNeedsIt) {
  const CostProfile p = parse_profile(kUnitProfile, "unit.yaml");  // no relu
  EXPECT_NO_THROW(estimate_cost(paper_model("sm-ln-g"), p));
  const std::string e = input_error([&] { estimate_cost(paper_model("sm-ln-r"), p, "sm-ln-r.yaml"); });
  EXPECT_NE(e.find("unit.yaml:6:3: nonlinear: no cost for 'relu', which sm-ln-r.yaml uses; add nonlinear.relu"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("prices: gelu, layernorm, softmax"), std::string::npos) << e;
  const std::string unknown = input_error([] { load_profile("no-such-profile"); });
  EXPECT_NE(unknown.find("neither a built-in profile (bumblebee-wan) nor an existing file"), std::string::npos);
}

// ---- accuracy of bumblebee-wan against the published numbers ----

// Published end-to-end PI costs (2PC BumbleBee, WAN 100 Mbit/s, 80 ms, one output token), copied
// from the PI cost table of the seed paper (Jha and Reagen, arXiv 2501.03489), as docs/science.md
// ("Private-inference cost") and tests/fixtures/published_tables.yaml (pi_cost) give them.
struct Published {
  std::string label, stem;
  std::vector<std::string> sets;
  double comm_gb, latency_min;
};
const std::vector<Published> kCalibration = {
    {"SM+LN+G, L=12, T=128", "sm-ln-g", {}, 25.32, 8.21},
    {"SM+LN+R, L=12, T=128", "sm-ln-r", {}, 9.44, 6.06},
    {"SM+ScFFN, L=12, T=128", "sm-scffn", {}, 6.95, 5.68},
    {"SM+ScFuFFN, L=12, T=128", "sm-scfuffn", {}, 6.43, 4.76},
    {"SM+ScFuFFN pruned, L=12, T=128", "sm-scfuffn-pruned", {}, 6.29, 4.23},
    {"SM+LN+G, L=12, T=256", "sm-ln-g-t256", {}, 58.51, 16.57},
    {"SM+LN+R, L=12, T=256", "sm-ln-r", {"model.context=256"}, 26.73, 12.59},
    {"SM+ScFuFFN, L=12, T=256", "sm-scfuffn", {"model.context=256"}, 20.72, 10.45},
};
const std::vector<Published> kHeldOutL18 = {
    {"SM+LN+G, L=18, T=128", "sm-ln-g-l18", {}, 37.17, 10.77},
    {"SM+LN+R, L=18, T=128", "sm-ln-r", {"model.n_layer=18"}, 13.34, 8.04},
    {"SM+ScFuFFN, L=18, T=128", "sm-scfuffn", {"model.n_layer=18"}, 8.83, 6.07},
};
const std::vector<Published> kLanguiniT512 = {
    {"SM+LN+G, T=512, V=16384", "sm-ln-g", {"model.context=512", "model.vocab_size=16384"}, 145.24, 30.74},
    {"SM+LN+R, T=512, V=16384", "sm-ln-r", {"model.context=512", "model.vocab_size=16384"}, 81.71, 23.54},
    {"SM+ScFuFFN, T=512, V=16384", "sm-scfuffn", {"model.context=512", "model.vocab_size=16384"}, 69.68, 19.44},
};

// Checks every row's relative error against the bounds and prints them.
void expect_within(const std::vector<Published>& rows, double comm_bound, double latency_bound) {
  const CostProfile p = load_profile("bumblebee-wan");
  for (const auto& r : rows) {
    const CostEstimate e = estimate_cost(paper_model(r.stem, r.sets), p);
    const double comm_err = e.comm_gb() / r.comm_gb - 1, lat_err = e.latency_min() / r.latency_min - 1;
    std::printf("  %-32s comm %7.2f GB (published %7.2f, %+5.1f%%)  latency %6.2f min (published %6.2f, %+5.1f%%)\n",
                r.label.c_str(), e.comm_gb(), r.comm_gb, 100 * comm_err, e.latency_min(), r.latency_min,
                100 * lat_err);
    EXPECT_LE(std::abs(comm_err), comm_bound) << r.label;
    EXPECT_LE(std::abs(lat_err), latency_bound) << r.label;
  }
}

// The targets of issue 7: the fitted rows within 2% (communication) and 5% (latency).
TEST(PiCostAccuracy, CalibrationRows) { expect_within(kCalibration, 0.02, 0.05); }

// Rows the fit never saw: L=18 within 3% and 10%.
TEST(PiCostAccuracy, HeldOutL18Rows) { expect_within(kHeldOutL18, 0.03, 0.10); }

// Languini (T=512, vocabulary 16384) is reported, not a target: the fit has no T=512 row and
// no other vocabulary. Measured at fit time: comm -0.9/-1.6/-1.9%, latency +0.7/-3.7/-9.7%
// (docs/cost.md). The loose 25% bound only catches a broken model, not a drift.
TEST(PiCostAccuracy, LanguiniT512RowsReported) { expect_within(kLanguiniT512, 0.25, 0.25); }

// ---- the shipped constants are the fit of the shipped rows ----

TEST(PiCostCalibration, RefitReproducesTheShippedProfile) {
  const CalibrationSet set = load_calibration((profiles_dir() / "bumblebee-wan.calibration.yaml").string());
  // The rows file holds the published numbers above (nobody changed the data silently).
  std::vector<Published> all = kCalibration;
  all.insert(all.end(), kHeldOutL18.begin(), kHeldOutL18.end());
  all.insert(all.end(), kLanguiniT512.begin(), kLanguiniT512.end());
  ASSERT_EQ(set.rows.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(set.rows[i].comm_gb, all[i].comm_gb) << all[i].label;
    EXPECT_EQ(set.rows[i].latency_min, all[i].latency_min) << all[i].label;
    EXPECT_EQ(set.rows[i].held_out, i >= kCalibration.size()) << all[i].label;
    EXPECT_EQ(set.rows[i].model.context, paper_model(all[i].stem, all[i].sets).context) << all[i].label;
    EXPECT_EQ(set.rows[i].model.n_layer, paper_model(all[i].stem, all[i].sets).n_layer) << all[i].label;
  }
  const Calibration fit = calibrate(set);
  const CostProfile shipped = load_profile("bumblebee-wan");
  // The profile holds 4 significant digits; allow one unit in the last digit for other platforms.
  auto same = [](double a, double b) { return std::abs(a - b) <= 1e-3 * std::max(std::abs(a), std::abs(b)); };
  auto expect_same = [&](const UnitCost& a, const UnitCost& b, const std::string& what) {
    EXPECT_TRUE(same(a.bytes, b.bytes)) << what << " bytes: fit " << a.bytes << ", shipped " << b.bytes;
    EXPECT_TRUE(same(a.seconds, b.seconds)) << what << " seconds: fit " << a.seconds << ", shipped " << b.seconds;
  };
  ASSERT_EQ(fit.profile.nonlinear.size(), shipped.nonlinear.size());
  for (const auto& [op, u] : fit.profile.nonlinear) expect_same(u, shipped.nonlinear.at(op), op);
  expect_same(fit.profile.mac, shipped.mac, "linear.mac");
  expect_same(fit.profile.output, shipped.output, "linear.output");
  expect_same(fit.profile.lm_head_mac, shipped.lm_head_mac, "linear.lm_head_mac");
}

TEST(PiCostCalibration, UnfittableOpsAndBadRowsAreErrors) {
  test::TempDir dir;
  const std::string spec = (test::source_dir() / "experiments" / "paper" / "sm-ln-g.yaml").string();
  auto rows_file = [&](const std::string& tie, const std::string& extra_row = "") {
    std::string text = "profile: {name: t, protocol: p, network: n, source: s}\n" + tie + "rows:\n";
    for (int i = 0; i < 12; ++i)
      text += "  - {label: r" + std::to_string(i) + ", spec: '" + spec + "', set: [model.context=" +
              std::to_string(64 + 16 * i) + "], comm_gb: 1, latency_min: 1}\n";
    test::write_text(dir / "rows.yaml", text + extra_row);
    return (dir / "rows.yaml").string();
  };
  // Only SM+LN+G rows: relu, rmsnorm, leaky_relu are in none of them.
  std::string e = input_error([&] { calibrate(load_calibration(rows_file(""))); });
  EXPECT_NE(e.find("tie: no fitted row uses"), std::string::npos) << e;
  EXPECT_NE(e.find("nonlinear.relu"), std::string::npos) << e;
  e = input_error([&] { load_calibration(rows_file("tie:\n  - [layernorm, swish]\n")); });
  EXPECT_NE(e.find("rows.yaml:3:17: tie: unknown op kind 'swish'"), std::string::npos) << e;
  e = input_error([&] { load_calibration(rows_file("", "  - {label: x, spec: nope.yaml, comm_gb: -1, latency_min: 1}\n")); });
  EXPECT_NE(e.find("rows.yaml:15:42: rows[].comm_gb: expected a finite number >= 0, got -1"), std::string::npos) << e;
  EXPECT_NE(e.find("rows[].spec: "), std::string::npos) << e;
  EXPECT_NE(e.find("nope.yaml: spec file not found"), std::string::npos) << e;
}

}  // namespace
}  // namespace entropix
