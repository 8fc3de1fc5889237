// `entropix run --resume`: exactness against an uninterrupted run, corrupt checkpoints, spec
// mismatches and the metrics log across a resume. Real processes, real files.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"
#include "entropix/train/checkpoint.h"
#include "support/json_schema.h"
#include "support/records.h"
#include "support/test_util.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;
using test::TempDir;

// Exercises every piece of state a resume must restore: AdamW moments, the cosine schedule,
// gradient accumulation, learnable temperatures and entropy thresholds, the sampler position.
constexpr const char* kResumeSpec = R"(name: resume
seed: 7
model:
  n_layer: 2
  n_head: 2
  n_embd: 32
  context: 32
  attention: softmax_temperature
train:
  steps: 24
  batch_size: 4
  grad_accum: 2
  lr: 3.0e-3
  warmup: 3
  schedule: cosine
  eval_every: 5
  eval_batches: 2
data:
  source: pystdlib
log:
  every: 1
  entropy_every: 4
entropy_reg:
  enabled: true
  coeff: 0.05
  reduction: mean
)";

// The parameters of a checkpoint, by name, loaded into a model built from the run's spec.
std::map<std::string, torch::Tensor> checkpoint_parameters(const fs::path& run, const fs::path& checkpoint) {
  const ExperimentSpec spec = load_spec((run / "spec.yaml").string());
  GPT model = build_model(spec.model, spec.entropy_reg);
  load_checkpoint(checkpoint, *model, nullptr);
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model->named_parameters()) out[p.key()] = p.value().clone();
  return out;
}

// Train-record fields that depend only on the computation (not on timing).
std::vector<std::vector<double>> train_values(const fs::path& run) {
  std::vector<std::vector<double>> out;
  for (const auto& r : test::run_records(run, "train"))
    out.push_back({r["step"].get<double>(), r["loss"].get<double>(), r["lr"].get<double>(),
                   r["grad_norm"].get<double>(), r["ereg_loss"].get<double>(), r["tokens"].get<double>()});
  return out;
}

class Resume : public ::testing::Test {
 protected:
  void SetUp() override { test::write_text(spec_, kResumeSpec); }
  // Runs the spec with extra arguments; returns the result.
  test::CommandResult run(const std::string& args) {
    return run_entropix("run " + q(spec_) + " --quiet " + args);
  }
  TempDir dir_{"entropix-resume"};
  fs::path spec_ = dir_ / "resume.yaml";
};

// N steps in one go versus k steps, stop, resume, N - k steps: bit-identical losses, learning
// rates, gradient norms, evaluations, entropy records and final parameters (exact equality:
// same CPU, one thread, same operations in the same order).
TEST_F(Resume, StoppedAndResumedRunIsBitIdenticalToAnUninterruptedOne) {
  const auto full = dir_ / "full", split = dir_ / "split";
  ASSERT_EQ(run("--out " + q(full)).exit_code, 0);
  const auto first = run("--out " + q(split) + " --stop-after 11");
  ASSERT_EQ(first.exit_code, 4) << first.err;
  EXPECT_EQ(nlohmann::json::parse(test::read_text(split / "summary.json"))["status"], "interrupted");
  const auto second = run("--out " + q(split) + " --resume auto");
  ASSERT_EQ(second.exit_code, 0) << second.err;

  EXPECT_EQ(train_values(full).size(), 24u);
  EXPECT_EQ(train_values(full), train_values(split));
  auto strip = [](std::vector<nlohmann::json> rs) {
    for (auto& r : rs) r.erase("ms_per_step"), r.erase("elapsed_s");  // timings differ between runs
    return rs;
  };
  EXPECT_EQ(strip(test::run_records(full, "eval")), strip(test::run_records(split, "eval")));
  EXPECT_EQ(strip(test::run_records(full, "entropy")), strip(test::run_records(split, "entropy")));

  const auto a = checkpoint_parameters(full, full / "checkpoints" / "step-00000024.ckpt");
  const auto b = checkpoint_parameters(split, split / "checkpoints" / "step-00000024.ckpt");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;

  const auto summary = nlohmann::json::parse(test::read_text(split / "summary.json"));
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["steps"], 24);
  EXPECT_EQ(summary["resumed_from"]["step"], 11);
  EXPECT_EQ(summary["final_val_loss"], nlohmann::json::parse(test::read_text(full / "summary.json"))["final_val_loss"]);
  const auto schema =
      jsonschema::load_schema((test::source_dir() / "docs" / "log-schema.json").string(), "#/definitions/summary");
  EXPECT_TRUE(jsonschema::validate_json(summary, schema).empty());
}

// A resume writes one "resume" event and leaves no step logged twice.
TEST_F(Resume, MetricsContinueWithoutDuplicatesAndWithAResumeEvent) {
  const auto out = dir_ / "run";
  ASSERT_EQ(run("--out " + q(out) + " --stop-after 6").exit_code, 4);
  // Records past the checkpoint (as a crash between checkpoint and exit would leave) and a line
  // cut short mid-write.
  {
    std::ofstream m(out / "metrics.jsonl", std::ios::app);
    m << R"({"kind":"train","step":7,"tokens":1,"loss":9.0,"lr":0.1,"grad_norm":1.0,"ms_per_step":1,"tokens_per_s":1})" << "\n";
    m << R"({"kind":"train","step":8,"lo)";
  }
  const auto r = run("--out " + q(out) + " --resume auto");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("dropped 2 metrics records past step 6"), std::string::npos) << r.err;

  std::vector<int64_t> steps;
  for (const auto& t : test::run_records(out, "train")) steps.push_back(t["step"].get<int64_t>());
  std::vector<int64_t> expected(24);
  for (int i = 0; i < 24; ++i) expected[i] = i + 1;
  EXPECT_EQ(steps, expected);
  int resumes = 0;
  for (const auto& e : test::run_records(out, "event"))
    if (e["name"] == "resume") {
      ++resumes;
      EXPECT_EQ(e["step"], 6);
    }
  EXPECT_EQ(resumes, 1);
  const auto schema = jsonschema::load_schema((test::source_dir() / "docs" / "log-schema.json").string(),
                                             "#/definitions/metrics_record");
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    EXPECT_TRUE(jsonschema::validate_json(nlohmann::json::parse(line), schema).empty()) << line;
}

// The newest checkpoint is corrupt (complete marker, garbage archive) and a newer save was cut
// short (archive without marker, temporary file): the resume warns, uses the previous complete
// checkpoint, and still ends bit-identical to an uninterrupted run.
TEST_F(Resume, CorruptNewestCheckpointIsSkippedForThePreviousOne) {
  const auto full = dir_ / "full", out = dir_ / "run";
  ASSERT_EQ(run("--out " + q(full)).exit_code, 0);
  ASSERT_EQ(run("--out " + q(out) + " --set train.checkpoint_every=5 --stop-after 12").exit_code, 4);
  const auto ckpts = out / "checkpoints";
  ASSERT_TRUE(fs::exists(ckpts / "step-00000010.ckpt.done"));
  ASSERT_TRUE(fs::exists(ckpts / "step-00000012.ckpt.done"));
  test::write_text(ckpts / "step-00000012.ckpt", "this is not a checkpoint archive");
  test::write_text(ckpts / "step-00000013.ckpt", "half-written");
  test::write_text(ckpts / "step-00000013.ckpt.tmp.999", "half-written");

  const auto r = run("--out " + q(out) + " --resume auto");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("skipping checkpoint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step-00000012.ckpt"), std::string::npos) << r.err;
  const auto summary = nlohmann::json::parse(test::read_text(out / "summary.json"));
  EXPECT_EQ(summary["resumed_from"]["step"], 10);
  EXPECT_EQ(train_values(full), train_values(out));
}

// Architecture, data or seed changes are refused, naming every differing key; nothing in the run
// directory changes. Training-length changes are allowed.
TEST_F(Resume, SpecWithDifferentArchitectureIsRefusedWithTheKeys) {
  const auto out = dir_ / "run";
  ASSERT_EQ(run("--out " + q(out) + " --stop-after 5").exit_code, 4);
  const std::string metrics_before = test::read_text(out / "metrics.jsonl");
  const std::string spec_before = test::read_text(out / "spec.yaml");

  const auto r = run("--out " + q(out) + " --resume auto --set model.n_embd=64 --set seed=8 --set train.batch_size=2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.n_embd: 32 in the checkpoint, 64 in the spec"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("seed: 7 in the checkpoint, 8 in the spec"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("train.batch_size"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("train.steps"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_text(out / "metrics.jsonl"), metrics_before);
  EXPECT_EQ(test::read_text(out / "spec.yaml"), spec_before);

  const auto longer = run("--out " + q(out) + " --resume auto --set train.steps=30 --set train.lr=1e-3");
  ASSERT_EQ(longer.exit_code, 0) << longer.err;
  EXPECT_EQ(nlohmann::json::parse(test::read_text(out / "summary.json"))["steps"], 30);
  EXPECT_NE(test::read_text(out / "spec.yaml").find("steps: 30"), std::string::npos);
}

TEST_F(Resume, AutoWithoutACheckpointStartsFreshAndACompletedRunIsLeftAlone) {
  const auto out = dir_ / "run";
  const auto fresh = run("--out " + q(out) + " --resume auto");
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(test::run_records(out, "train").size(), 24u);
  const std::string metrics = test::read_text(out / "metrics.jsonl");

  const auto again = run_entropix("run " + q(spec_) + " --out " + q(out) + " --resume auto");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already completed"), std::string::npos) << again.out;
  EXPECT_EQ(test::read_text(out / "metrics.jsonl"), metrics);
}

TEST_F(Resume, ExplicitCheckpointForksIntoANewDirectory) {
  const auto source = dir_ / "source", fork = dir_ / "fork";
  ASSERT_EQ(run("--out " + q(source) + " --set train.checkpoint_every=8").exit_code, 0);
  const auto r = run("--out " + q(fork) + " --resume " + q(source / "checkpoints" / "step-00000016.ckpt"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The fork logs only what it trained, from step 17 on, and ends where the source ended.
  const auto steps = test::run_records(fork, "train");
  ASSERT_EQ(steps.size(), 8u);
  EXPECT_EQ(steps.front()["step"], 17);
  EXPECT_EQ(steps.back()["loss"], test::run_records(source, "train").back()["loss"]);
}

TEST_F(Resume, BadResumeArgumentsAreInputErrors) {
  const auto missing = run("--out " + q(dir_ / "x") + " --resume " + q(dir_ / "nowhere.ckpt"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nowhere.ckpt: no such file"), std::string::npos) << missing.err;

  const auto out = dir_ / "run";
  ASSERT_EQ(run("--out " + q(out) + " --stop-after 5").exit_code, 4);
  const auto both = run("--out " + q(out) + " --resume auto --overwrite");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("exclude each other"), std::string::npos) << both.err;
  const auto early = run("--out " + q(out) + " --resume auto --stop-after 3");
  EXPECT_EQ(early.exit_code, 2);
  EXPECT_NE(early.err.find("resumes after step 5"), std::string::npos) << early.err;

  // Only unreadable checkpoints: refuse rather than start afresh over them.
  test::write_text(out / "checkpoints" / "step-00000005.ckpt", "garbage");
  const auto corrupt = run("--out " + q(out) + " --resume auto");
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_NE(corrupt.err.find("no readable checkpoint"), std::string::npos) << corrupt.err;
  EXPECT_TRUE(fs::exists(out / "checkpoints" / "step-00000005.ckpt"));
}

}  // namespace
}  // namespace entropix
