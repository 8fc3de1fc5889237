// The entropy regulariser and the entropy diagnostics, end to end through `entropix run`.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/json_schema.h"
#include "support/records.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::run_entropix;
using test::TempDir;

using test::q;

// A small norm-free GELU model: its heads start (and, in 150 steps, stay) near-uniform, i.e.
// entropic overload. The bins use the causal ceiling so both runs are measured on one scale.
std::string overloaded_model() {
  return "run " + q(test::source_dir() / "experiments" / "smoke.yaml") +
         " --set model.norm=none --set model.activation=gelu --set model.n_layer=2 --set model.n_head=4"
         " --set model.n_embd=64 --set model.context=64 --set train.steps=150 --set train.eval_every=150"
         " --set log.entropy_every=150 --set log.bin_max=causal --quiet";
}

// Direction only, not a magic number: with a fixed seed the regularised run must end with a
// smaller share of heads in the top (overload) bin than the same run without the regulariser.
// (Measured when written: 1.0 without, 0.5 with coeff 0.5.)
TEST(EntropyRegRun, LowersTheOverloadedShare) {
  TempDir dir;
  auto off = run_entropix(overloaded_model() + " --out " + q(dir / "off"));
  ASSERT_EQ(off.exit_code, 0) << off.err;
  auto on = run_entropix(overloaded_model() +
                         " --set entropy_reg.enabled=true --set entropy_reg.coeff=0.5 --set entropy_reg.reduction=mean"
                         " --set entropy_reg.threshold_init=0.3 --out " + q(dir / "on"));
  ASSERT_EQ(on.exit_code, 0) << on.err;
  const auto last_off = test::run_records(dir / "off", "entropy").back();
  const auto last_on = test::run_records(dir / "on", "entropy").back();
  EXPECT_EQ(last_off["bin_max_mode"], "causal");
  EXPECT_GT(last_off["overload_fraction"].get<double>(), 0.9);  // the configuration does show overload
  EXPECT_LT(last_on["overload_fraction"].get<double>(), last_off["overload_fraction"].get<double>());

  // The regularised run logs its term and its thresholds; the plain one neither.
  for (const auto& rec : test::run_records(dir / "on", "train")) {
    ASSERT_TRUE(rec.contains("ereg_loss"));
    EXPECT_GE(rec["ereg_loss"].get<double>(), 0.0);
  }
  EXPECT_FALSE(test::run_records(dir / "off", "train").front().contains("ereg_loss"));
  ASSERT_TRUE(last_on.contains("threshold"));
  EXPECT_EQ(last_on["threshold"].size(), 2u);
  EXPECT_EQ(last_on["threshold"][0].size(), 4u);
  EXPECT_NE(test::run_records(dir / "on", "entropy").front()["threshold"], last_on["threshold"]);  // learned
  const auto schema = jsonschema::load_schema((test::source_dir() / "docs" / "log-schema.json").string(),
                                              "#/definitions/entropy");
  EXPECT_TRUE(jsonschema::validate_json(last_on, schema).empty());
}

TEST(EntropyRegRun, CollapseWarningIsAnEventOncePerLayer) {
  TempDir dir;
  // A threshold of 0.99 ln T is above what any causal head can reach, so every layer warns once.
  auto r = run_entropix("run " + q(test::source_dir() / "experiments" / "smoke.yaml") +
                        " --set train.steps=20 --set log.entropy_every=5 --set log.collapse_warning=0.99 --quiet"
                        " --out " + q(dir / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: step 0: layer 0 mean attention entropy"), std::string::npos) << r.err;
  auto events = test::run_records(dir / "run", "event");
  int warnings = 0;
  for (const auto& e : events) warnings += e["name"] == "collapse_warning";
  EXPECT_EQ(warnings, 2);  // two layers, each once
  // The default threshold (5% of ln T) stays silent on a healthy model.
  auto quiet = run_entropix("run " + q(test::source_dir() / "experiments" / "smoke.yaml") +
                            " --set train.steps=5 --quiet --out " + q(dir / "quiet"));
  ASSERT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err.find("warning"), std::string::npos) << quiet.err;
}

}  // namespace
}  // namespace entropix
