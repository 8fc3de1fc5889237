// End-to-end: `entropix cost` with the real binary on the shipped paper specs and profile files.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/cli_expect.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;

std::string paper(const std::string& stem) { return q(test::source_dir() / "experiments" / "paper" / (stem + ".yaml")); }
fs::path profiles_dir() { return test::source_dir() / "lib" / "entropix" / "picost" / "profiles"; }

TEST(CostCli, TextTableOfThePaperSpecs) {
  const auto r = run_entropix("cost " + paper("sm-ln-g") + " " + paper("sm-ln-r") + " " + paper("sm-scffn") + " " +
                              paper("sm-scfuffn") + " " + paper("sm-scfuffn-pruned"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* column : {"spec", "attention", "norm", "activation", "MACs", "comm GB", "latency min", "comm x"})
    EXPECT_NE(r.out.find(column), std::string::npos) << column << "\n" << r.out;
  EXPECT_NE(r.out.find("sm-ln-g *"), std::string::npos) << r.out;  // the first spec is the baseline
  for (const char* name : {"sm-ln-r ", "sm-scffn ", "sm-scfuffn ", "sm-scfuffn-pruned "})
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  EXPECT_NE(r.out.find("144 softmax (2.36M)"), std::string::npos) << r.out;  // 12 x 12 heads of 128 x 128
  EXPECT_NE(r.out.find("25 layernorm (2.46M)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("12 gelu (4.72M)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("profile bumblebee-wan (built in)"), std::string::npos) << r.out;
}

// The estimates against the published numbers (docs/science.md, "Private-inference cost"), the savings as
// the published ratios, and the nonlinearity counts equal to `describe` (one inventory).
TEST(CostCli, JsonMatchesPublishedNumbersAndDescribe) {
  const auto r = run_entropix("cost " + paper("sm-ln-g") + " " + paper("sm-ln-r") + " " + paper("sm-scfuffn") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["profile"]["name"], "bumblebee-wan");
  EXPECT_EQ(j["baseline"], "sm-ln-g");
  ASSERT_EQ(j["specs"].size(), 3u);
  const double comm[] = {25.32, 9.44, 6.43}, latency[] = {8.21, 6.06, 4.76};
  for (size_t i = 0; i < 3; ++i) {
    const auto& s = j["specs"][i];
    // Calibration rows: the accuracy targets of issue 7 (2% communication, 5% latency).
    EXPECT_NEAR(s["comm_gb"].get<double>() / comm[i], 1, 0.02) << s["name"];
    EXPECT_NEAR(s["latency_min"].get<double>() / latency[i], 1, 0.05) << s["name"];
    // A ratio of two estimates each within 2% (5%) is within about 4% (10%) of the published ratio.
    EXPECT_NEAR(s["savings"]["comm"].get<double>() / (comm[0] / comm[i]), 1, 0.04) << s["name"];
    EXPECT_NEAR(s["savings"]["latency"].get<double>() / (latency[0] / latency[i]), 1, 0.10) << s["name"];
    EXPECT_EQ(s["baseline"], i == 0);
    EXPECT_EQ(s["context"], 128);
    double parts = 0;
    for (const auto& [key, v] : s["breakdown"].items()) parts += v["comm_gb"].get<double>();
    EXPECT_NEAR(parts, s["comm_gb"].get<double>(), 1e-9);
    const auto d = run_entropix("describe " + paper(s["name"].get<std::string>()) + " --json");
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(s["nonlinearities"], nlohmann::json::parse(d.out)["nonlinearities"]) << s["name"];
  }
  EXPECT_EQ(j["specs"][2]["nonlinearities"].size(), 2u);  // softmax and the final layernorm
}

TEST(CostCli, BaselineOutsideTheListComesFirst) {
  const auto r = run_entropix("cost " + paper("sm-scfuffn") + " --baseline " + paper("sm-ln-g") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["specs"].size(), 2u);
  EXPECT_EQ(j["baseline"], "sm-ln-g");
  EXPECT_EQ(j["specs"][0]["name"], "sm-ln-g");
  EXPECT_EQ(j["specs"][0]["savings"]["comm"], 1.0);
  // Published: 25.32 / 6.43 = 3.94x less communication.
  EXPECT_NEAR(j["specs"][1]["savings"]["comm"].get<double>() / (25.32 / 6.43), 1, 0.04);
  // A baseline that is one of the specs is not repeated.
  const auto same = run_entropix("cost " + paper("sm-scfuffn") + " " + paper("sm-ln-g") + " --baseline " +
                                 paper("sm-ln-g") + " --json");
  ASSERT_EQ(same.exit_code, 0) << same.err;
  const auto k = nlohmann::json::parse(same.out);
  ASSERT_EQ(k["specs"].size(), 2u);
  EXPECT_EQ(k["specs"][1]["baseline"], true);
}

// A user profile file, with costs simple enough to check by hand.
TEST(CostCli, UserProfileFile) {
  test::TempDir dir;
  test::write_text(dir / "mine.yaml", R"(name: mine
protocol: test
network: none
source: a test
nonlinear:
  softmax: {bytes: 1, seconds: 0}
  layernorm: {bytes: 0, seconds: 60}
  gelu: {bytes: 0, seconds: 0}
linear:
  mac: {bytes: 0, seconds: 0}
  output: {bytes: 0, seconds: 0}
  lm_head_mac: {bytes: 0, seconds: 0}
)");
  const auto r = run_entropix("cost " + paper("sm-ln-g") + " --profile " + q(dir / "mine.yaml") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = nlohmann::json::parse(r.out)["specs"][0];
  EXPECT_DOUBLE_EQ(s["comm_gb"].get<double>(), 144.0 * 128 * 128 / 1e9);  // softmax elements, 1 byte each
  EXPECT_DOUBLE_EQ(s["latency_min"].get<double>(), 25.0 * 128 * 768);      // layernorm elements, 1 minute each
  // --set applies to every spec: T=64 quarters the softmax elements.
  const auto t64 = run_entropix("cost " + paper("sm-ln-g") + " --profile " + q(dir / "mine.yaml") +
                                " --set model.context=64 --json");
  ASSERT_EQ(t64.exit_code, 0) << t64.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(t64.out)["specs"][0]["comm_gb"].get<double>(), 144.0 * 64 * 64 / 1e9);
  // The profile prices no relu: SM+LN+R cannot be estimated with it.
  test::expect_bad_input(run_entropix("cost " + paper("sm-ln-r") + " --profile " + q(dir / "mine.yaml")),
                   "no cost for 'relu'");
}

TEST(CostCli, MalformedProfileIsExit2WithPosition) {
  test::TempDir dir;
  const fs::path file = dir / "bad.yaml";
  std::string text = test::read_text(profiles_dir() / "bumblebee-wan.yaml");
  text.replace(text.find("gelu: {bytes: "), 14, "gelu: {bytes: -");
  test::write_text(file, text);
  const auto r = run_entropix("cost " + paper("sm-ln-g") + " --profile " + q(file));
  test::expect_bad_input(r, file.string() + ":");
  EXPECT_NE(r.err.find(": nonlinear.gelu.bytes: expected a finite number >= 0, got -"), std::string::npos) << r.err;
  test::write_text(file, "name: x\n");
  test::expect_bad_input(run_entropix("cost " + paper("sm-ln-g") + " --profile " + q(file)),
                   "nonlinear: missing; required keys: name, protocol, network, source, nonlinear, linear");
  test::expect_bad_input(run_entropix("cost " + paper("sm-ln-g") + " --profile nonesuch"),
                   "--profile nonesuch: neither a built-in profile (bumblebee-wan) nor an existing file");
}

TEST(CostCli, MissingSpecIsExit2) {
  test::expect_bad_input(run_entropix("cost no-such-spec.yaml"), "no-such-spec.yaml: spec file not found");
  test::expect_bad_input(run_entropix("cost " + paper("sm-ln-g") + " --baseline no-such-base.yaml"),
                   "no-such-base.yaml: spec file not found");
  test::expect_bad_input(run_entropix("cost"), "give at least one SPEC");
}

// `--calibrate` on the shipped rows prints the shipped profile byte for byte: the constants in
// the profile are the fit of the published rows, not hand-edited.
TEST(CostCli, CalibrateReproducesTheShippedProfile) {
  const auto r = run_entropix("cost --calibrate " + q(profiles_dir() / "bumblebee-wan.calibration.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, test::read_text(profiles_dir() / "bumblebee-wan.yaml"));
  const auto j = run_entropix("cost --calibrate " + q(profiles_dir() / "bumblebee-wan.calibration.yaml") + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto fit = nlohmann::json::parse(j.out);
  ASSERT_EQ(fit["rows"].size(), 14u);
  size_t held_out = 0;
  for (const auto& row : fit["rows"]) held_out += row["held_out"].get<bool>();
  EXPECT_EQ(held_out, 6u);  // L=18 (3) and T=512 (3)
  test::expect_bad_input(run_entropix("cost " + paper("sm-ln-g") + " --calibrate " +
                                q(profiles_dir() / "bumblebee-wan.calibration.yaml")),
                   "takes no SPEC");
}

}  // namespace
}  // namespace entropix
