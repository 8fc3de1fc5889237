// Sweep planning: run names, the grid product, variants, --grid, and every problem at once.
#include <gtest/gtest.h>

#include "entropix/sweep/slurm_script.h"
#include "entropix/sweep/sweep_plan.h"
#include "entropix/util/error.h"
#include "support/test_util.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

constexpr const char* kBase = R"(name: tiny
model: {n_layer: 2, n_head: 2, n_embd: 16, context: 16}
train: {steps: 4, batch_size: 2}
data: {source: pystdlib}
)";

fs::path write_spec(const TempDir& dir, const std::string& sweep_yaml) {
  const fs::path p = dir / "spec.yaml";
  test::write_text(p, std::string(kBase) + sweep_yaml);
  return p;
}

std::vector<std::string> problems_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.problems();
  }
  return {};
}

TEST(SweepPlan, VariantsTimesGridInOrderWithReadableNames) {
  TempDir dir;
  const auto spec = write_spec(dir, R"(sweep:
  baseline: ln-g_lr=0.003_coeff=0
  variants:
    - {name: ln-g, set: {model.norm: layernorm, model.activation: gelu}}
    - {name: none, set: {model.norm: none, model.activation: identity}}
  grid:
    train.lr: [0.001, 0.003]
    entropy_reg.coeff: [0, 0.1]
)");
  const SweepPlan plan = plan_sweep(spec.string(), {"train.steps=3"}, {}, dir / "out");
  ASSERT_EQ(plan.runs.size(), 8u);
  const std::vector<std::string> expected = {
      "ln-g_lr=0.001_coeff=0", "ln-g_lr=0.001_coeff=0.1", "ln-g_lr=0.003_coeff=0", "ln-g_lr=0.003_coeff=0.1",
      "none_lr=0.001_coeff=0", "none_lr=0.001_coeff=0.1", "none_lr=0.003_coeff=0", "none_lr=0.003_coeff=0.1"};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(plan.runs[i].name, expected[i]);
    EXPECT_EQ(plan.runs[i].dir, dir / "out" / expected[i]);
    EXPECT_EQ(plan.runs[i].spec.name, expected[i]);
    EXPECT_EQ(plan.runs[i].spec.train.steps, 3);  // the sweep's --set reaches every run
  }
  EXPECT_EQ(plan.runs[5].spec.model.blocks.norm, "none");
  EXPECT_DOUBLE_EQ(plan.runs[5].spec.train.lr, 0.001);
  EXPECT_DOUBLE_EQ(plan.runs[5].spec.entropy_reg.coeff, 0.1);
  EXPECT_EQ(overrides_text(plan.runs[5].overrides),
            "model.norm=none; model.activation=identity; train.lr=0.001; entropy_reg.coeff=0.1");
  EXPECT_EQ(plan.baseline, "ln-g_lr=0.003_coeff=0");
  EXPECT_EQ(plan.name, "tiny");
}

TEST(SweepPlan, CommandLineGridAddsOrReplacesAxes) {
  TempDir dir;
  const auto spec = write_spec(dir, "sweep:\n  grid:\n    train.lr: [0.001, 0.002]\n");
  const SweepPlan plan = plan_sweep(spec.string(), {}, {"train.lr=0.01,0.02,0.03", "model.n_layer=1,2"}, {});
  ASSERT_EQ(plan.runs.size(), 6u);
  EXPECT_EQ(plan.runs.front().name, "lr=0.01_n_layer=1");
  EXPECT_EQ(plan.runs.back().name, "lr=0.03_n_layer=2");
  EXPECT_EQ(plan.dir, fs::path("runs") / "tiny");
  EXPECT_EQ(plan.baseline, "lr=0.01_n_layer=1");  // the first run by default
}

TEST(SweepPlan, AVariantNamedAsBaselineMeansItsFirstRunOnceAGridIsAdded) {
  TempDir dir;
  const auto spec = write_spec(dir, R"(sweep:
  baseline: none
  variants:
    - {name: ln-g, set: {model.norm: layernorm}}
    - {name: none, set: {model.norm: none}}
)");
  EXPECT_EQ(plan_sweep(spec.string(), {}, {}, {}).baseline, "none");
  const SweepPlan seeds = plan_sweep(spec.string(), {}, {"seed=7,8"}, {});
  ASSERT_EQ(seeds.runs.size(), 4u);
  EXPECT_EQ(seeds.runs[2].name, "none_seed=7");
  EXPECT_EQ(seeds.baseline, "none_seed=7");
}

TEST(SweepPlan, AxesSharingALastSegmentUseFullKeys) {
  TempDir dir;
  const auto spec = write_spec(dir, "sweep:\n  grid:\n    model.norm: [none]\n    model.final_norm: [none, rmsnorm]\n    data.source: [pystdlib]\n");
  const SweepPlan plan = plan_sweep(spec.string(), {}, {}, {});
  EXPECT_EQ(plan.runs.back().name, "norm=none_final_norm=rmsnorm_source=pystdlib");
}

// Every bad axis, value and entry is reported, for every run, before anything runs.
TEST(SweepPlan, AllProblemsReportedTogetherWithPositions) {
  TempDir dir;
  const auto spec = write_spec(dir, R"(sweep:
  grid:
    model.n_layr: [1, 2]
    train.lr: [0.001, -1]
  variants:
    - {name: ok, set: {model.activation: gelu}}
    - {name: bad, set: {model.activation: swish}}
    - {set: {model.norm: none}}
  colour: blue
)");
  const auto problems = problems_of([&] { plan_sweep(spec.string(), {}, {}, {}); });
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_NE(all.find(spec.string() + ":13:3: sweep.colour: unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find(spec.string() + ":7:5: sweep.grid: model.n_layr: unknown spec key (did you mean model.n_layer?)"),
            std::string::npos) << all;
  EXPECT_NE(all.find("sweep.variants[2].name: required"), std::string::npos) << all;
  EXPECT_EQ(problems.size(), 3u) << all;  // the structural problems stop before per-run checks

  // Structure fine, values bad: each failing run is named with its problem.
  const auto spec2 = write_spec(dir, R"(sweep:
  grid:
    train.lr: [0.001, -1]
  variants:
    - {name: ok, set: {model.activation: gelu}}
    - {name: bad, set: {model.activation: swish}}
)");
  const auto per_run = problems_of([&] { plan_sweep(spec2.string(), {}, {}, {}); });
  all.clear();
  for (const auto& p : per_run) all += p + "\n";
  EXPECT_NE(all.find("run ok_lr=-1: --set train.lr=-1: train.lr:"), std::string::npos) << all;
  EXPECT_NE(all.find("run bad_lr=0.001: --set model.activation=swish"), std::string::npos) << all;
  EXPECT_NE(all.find("run bad_lr=-1: --set model.activation=swish"), std::string::npos) << all;
  EXPECT_NE(all.find("run bad_lr=-1: --set train.lr=-1"), std::string::npos) << all;
  EXPECT_EQ(all.find("run ok_lr=0.001"), std::string::npos) << all;
}

TEST(SweepPlan, OtherErrors) {
  TempDir dir;
  const auto none = write_spec(dir, "");
  EXPECT_NE(problems_of([&] { plan_sweep(none.string(), {}, {}, {}); }).at(0).find("no sweep"), std::string::npos);
  const auto baseline = write_spec(dir, "sweep:\n  baseline: nope\n  grid: {train.lr: [0.1]}\n");
  EXPECT_NE(problems_of([&] { plan_sweep(baseline.string(), {}, {}, {}); }).at(0).find("no run is named nope"),
            std::string::npos);
  EXPECT_NE(problems_of([&] { plan_sweep(none.string(), {}, {"train.lr"}, {}); }).at(0).find("expected key=v1,v2"),
            std::string::npos);
  const auto dup = write_spec(dir, "sweep:\n  variants:\n    - {name: a}\n    - {name: a}\n");
  EXPECT_NE(problems_of([&] { plan_sweep(dup.string(), {}, {}, {}); }).at(0).find("two runs are both named a"),
            std::string::npos);
  const auto slurm = write_spec(dir, "sweep: {grid: {train.lr: [0.1]}}\nslurm: {gpus: two, partitoin: gpu}\n");
  const auto sp = problems_of([&] { plan_sweep(slurm.string(), {}, {}, {}); });
  ASSERT_EQ(sp.size(), 2u);
  EXPECT_NE(sp[0].find("slurm.gpus: expected an integer"), std::string::npos) << sp[0];
  EXPECT_NE(sp[1].find("slurm.partitoin: unknown key (did you mean partition?)"), std::string::npos) << sp[1];
}

// A single run ignores the sweep and slurm sections (they are the sweep command's).
TEST(SweepPlan, RunAndValidateIgnoreTheSweepSections) {
  TempDir dir;
  const auto spec = write_spec(dir, "sweep: {grid: {train.lr: [0.1]}}\nslurm: {gpus: 1}\n");
  EXPECT_EQ(load_spec(spec.string()).name, "tiny");
}

TEST(SlurmScript, ShellWordsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(shell_word("train.lr=0.001"), "train.lr=0.001");
  EXPECT_EQ(shell_word("a b"), "'a b'");
  EXPECT_EQ(shell_word("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_word(""), "''");
}

}  // namespace
}  // namespace entropix
