// End-to-end `entropix eval`: the real binary on real run directories and checkpoints.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"
#include "entropix/train/checkpoint.h"
#include "support/json_schema.h"
#include "support/records.h"
#include "support/cli_expect.h"
#include "support/test_util.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::run_entropix;
using test::TempDir;

using test::q;

void expect_valid_entropy(const nlohmann::json& value) {
  const std::string schema = (test::source_dir() / "docs" / "log-schema.json").string();
  auto problems = jsonschema::validate_json(value, jsonschema::load_schema(schema, "#/definitions/entropy"));
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_TRUE(problems.empty()) << all << value.dump();
}

// Exit 2 with exactly one line on stderr, "error: ..." containing `needle`.
// A checkpoint of the untrained smoke model, written in-process: tests of bad input need no run.
fs::path hand_made_checkpoint(const fs::path& run_dir, int64_t step) {
  const ExperimentSpec spec = load_spec(test::smoke_spec_path().string());
  torch::manual_seed(spec.seed);
  GPT model = build_model(spec.model, spec.entropy_reg);
  CheckpointMeta meta;
  meta.step = step;
  meta.spec_yaml = spec_to_yaml(spec);
  meta.entropix_version = "test";
  meta.libtorch_version = "test";
  return save_checkpoint(run_dir / "checkpoints", meta, *model, nullptr);
}

// One 20-step smoke run shared by the tests that need a trained run directory.
class EvalOfRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>("entropix-eval");
    run_ = run_entropix("run " + q(test::smoke_spec_path()) + " --set train.steps=20 --set train.eval_every=20 --quiet --out " +
                        q(run_dir()));
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static fs::path run_dir() { return dir_->path() / "run"; }

  void SetUp() override {
    ASSERT_EQ(run_.exit_code, 0) << run_.out << run_.err;
    ASSERT_FALSE(complete_checkpoints(run_dir() / "checkpoints").empty())
        << "the run wrote no complete checkpoint into " << run_dir() / "checkpoints";
  }

  static std::unique_ptr<TempDir> dir_;
  static test::CommandResult run_;
};
std::unique_ptr<TempDir> EvalOfRun::dir_;
test::CommandResult EvalOfRun::run_;

TEST_F(EvalOfRun, JsonMatchesTheRunsLastEval) {
  const auto evals = test::read_records(run_dir() / "metrics.jsonl", "eval");
  ASSERT_FALSE(evals.empty());
  const nlohmann::json& last = evals.back();

  auto r = run_entropix("eval " + q(run_dir()) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["checkpoint"], (run_dir() / "checkpoints" / "step-00000020.ckpt").string());
  EXPECT_EQ(j["step"], last["step"]);
  EXPECT_EQ(j["batches"], 4);  // smoke.yaml's train.eval_batches
  const double expected = last["val_loss"].get<double>();
  EXPECT_NEAR(j["val_loss"].get<double>(), expected, 1e-6 * std::abs(expected));
  EXPECT_NEAR(j["val_ppl"].get<double>(), std::exp(j["val_loss"].get<double>()), 1e-9 * j["val_ppl"].get<double>());
  expect_valid_entropy(j["entropy"]);
  EXPECT_EQ(j["entropy"]["step"], 20);
}

// With one batch, eval's entropy is the run's record on val batch 0 at the same step.
TEST_F(EvalOfRun, OneBatchEntropyMatchesTheRunsRecord) {
  const auto entropies = test::read_records(run_dir() / "metrics.jsonl", "entropy");
  ASSERT_FALSE(entropies.empty());
  const nlohmann::json& last = entropies.back();
  ASSERT_EQ(last["step"], 20);

  auto r = run_entropix("eval " + q(run_dir()) + " --json --batches 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto e = nlohmann::json::parse(r.out)["entropy"];
  ASSERT_EQ(e["headwise"].size(), last["headwise"].size());
  for (size_t l = 0; l < e["headwise"].size(); ++l)
    for (size_t h = 0; h < e["headwise"][l].size(); ++h)
      EXPECT_NEAR(e["headwise"][l][h].get<double>(), last["headwise"][l][h].get<double>(), 1e-6);
}

TEST_F(EvalOfRun, TextReport) {
  auto r = run_entropix("eval " + q(run_dir()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"step-00000020.ckpt (step 20)", "val loss ", "val ppl ", "4 val batches", "L1 ", "h1",
                           "overload ", "collapse "})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
}

TEST_F(EvalOfRun, RefusesArchitectureOverrides) {
  test::expect_one_error_line(run_entropix("eval " + q(run_dir()) + " --set model.n_layer=3"),
                        "eval cannot change the architecture: model.n_layer");
  // Other keys may change: a different number of batches, or the same architecture restated.
  auto r = run_entropix("eval " + q(run_dir()) + " --set train.eval_batches=2 --set model.n_layer=2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["batches"], 2);
}

TEST(Eval, TruncatedCheckpointIsOneErrorLine) {
  TempDir dir;
  const fs::path file = hand_made_checkpoint(dir.path(), 3);
  const std::string bytes = test::read_text(file);
  test::write_text(file, bytes.substr(0, bytes.size() / 2));
  test::expect_one_error_line(run_entropix("eval " + q(file)), file.string());
  test::expect_one_error_line(run_entropix("eval " + q(dir.path()) + " --json"), "truncated");
}

TEST(Eval, IncompleteCheckpointIsRefused) {
  TempDir dir;
  const fs::path file = hand_made_checkpoint(dir.path(), 3);
  fs::remove(file.string() + ".done");
  test::expect_one_error_line(run_entropix("eval " + q(file)), "incomplete checkpoint");
  test::expect_one_error_line(run_entropix("eval " + q(dir.path())), "no complete checkpoint");
}

TEST(Eval, DirectoryWithoutCheckpointsExitsTwo) {
  TempDir dir;
  test::expect_one_error_line(run_entropix("eval " + q(dir.path())), "no complete checkpoint");
  test::expect_one_error_line(run_entropix("eval " + q(dir / "missing")), "no such file or directory");
}

// Independent of the trainer: a checkpoint written in-process evaluates, and reports its step.
TEST(Eval, HandMadeCheckpointEvaluates) {
  TempDir dir;
  hand_made_checkpoint(dir.path(), 7);
  auto r = run_entropix("eval " + q(dir.path()) + " --json --batches 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["step"], 7);
  EXPECT_EQ(j["batches"], 2);
  // Untrained byte-level model: close to ln 256.
  EXPECT_NEAR(j["val_loss"].get<double>(), std::log(256.0), 0.5);
  expect_valid_entropy(j["entropy"]);
}

}  // namespace
}  // namespace entropix
