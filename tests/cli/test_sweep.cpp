// `entropix sweep`: real child runs, skip/resume/carry-on, summaries, the Slurm script run under
// bash, and a real signal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/records.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;
using test::TempDir;

constexpr const char* kTinyBase = R"(name: tiny
seed: 3
model: {n_layer: 2, n_head: 2, n_embd: 16, context: 16}
train: {steps: 6, batch_size: 2, eval_every: 3, eval_batches: 1}
data: {source: pystdlib}
log: {every: 1, entropy_every: 3}
)";


std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) cells.push_back(cell), cell.clear();
      else cell += c;
    }
    cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

class Sweep : public ::testing::Test {
 protected:
  fs::path spec(const std::string& sweep_yaml) {
    const fs::path p = dir_ / "sweep.yaml";
    test::write_text(p, std::string(kTinyBase) + sweep_yaml);
    return p;
  }
  TempDir dir_{"entropix-sweep"};
  fs::path out_ = dir_ / "out";
};

constexpr const char* kTwoByTwo = R"(sweep:
  name: ablation
  baseline: ln_lr=0.003
  variants:
    - {name: ln, set: {model.norm: layernorm}}
    - {name: rms, set: {model.norm: rmsnorm}}
  grid:
    train.lr: [0.001, 0.003]
)";

TEST_F(Sweep, DryRunListsRunsWithoutRunningAnything) {
  const auto r = run_entropix("sweep " + q(spec(kTwoByTwo)) + " --dry-run --out " + q(out_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"ln_lr=0.001", "ln_lr=0.003", "rms_lr=0.001", "rms_lr=0.003"}) {
    EXPECT_NE(r.out.find(std::string(name) + "  [new]  " + (out_ / name).string()), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("model.norm=rmsnorm; train.lr=0.003"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 runs"), std::string::npos);
  EXPECT_FALSE(fs::exists(out_));
}

// Runs two at a time; a run interrupted beforehand is resumed, not restarted; a second sweep
// skips everything; the summary has one row per run with the baseline comparison.
TEST_F(Sweep, RunsResumesSkipsAndSummarizes) {
  const auto file = spec(kTwoByTwo);
  const fs::path pre = out_ / "rms_lr=0.001";
  const auto first = run_entropix("run " + q(file) + " --quiet --set model.norm=rmsnorm --set train.lr=0.001"
                                  " --set name=rms_lr=0.001 --out " + q(pre) + " --stop-after 2");
  ASSERT_EQ(first.exit_code, 4) << first.err;

  const auto r = run_entropix("sweep " + q(file) + " --jobs 2 --out " + q(out_));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* name : {"ln_lr=0.001", "ln_lr=0.003", "rms_lr=0.001", "rms_lr=0.003"}) {
    const auto s = test::summary_of(out_ / name);
    EXPECT_EQ(s["status"], "completed") << name;
    EXPECT_EQ(s["steps"], 6) << name;
    EXPECT_EQ(s["name"], name);
    EXPECT_TRUE(fs::exists(out_ / name / "console.log")) << name;
  }
  EXPECT_EQ(test::summary_of(pre)["resumed_from"]["step"], 2);
  EXPECT_NE(r.out.find("resuming (interrupted)"), std::string::npos) << r.out;

  const auto rows = read_csv(out_ / "summary.csv");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0][0], "run");
  EXPECT_EQ(rows[0][7], "ppl_vs_baseline_pct");
  // Independent check of the percent change: from the run summaries themselves.
  const double base_ppl = test::summary_of(out_ / "ln_lr=0.003")["final_val_ppl"].get<double>();
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto s = test::summary_of(out_ / rows[i][0]);
    EXPECT_EQ(rows[i][2], "completed");
    EXPECT_EQ(rows[i][3], rows[i][0] == "ln_lr=0.003" ? "yes" : "");
    const double ppl = s["final_val_ppl"].get<double>();
    EXPECT_NEAR(std::stod(rows[i][6]), ppl, 1e-4);                                // printed to 4 decimals
    EXPECT_NEAR(std::stod(rows[i][7]), 100 * (ppl - base_ppl) / base_ppl, 0.006);  // printed to 2 decimals
    EXPECT_NEAR(std::stod(rows[i][9]), s["final_entropy"]["bins"][3].get<double>(), 1e-4);
    EXPECT_GT(std::stod(rows[i][10]), 0.0);  // PI communication estimate
  }
  const std::string md = test::read_text(out_ / "summary.md");
  EXPECT_NE(md.find("| ln_lr=0.003 | model.norm=layernorm; train.lr=0.003 | completed | 6 |"), std::string::npos) << md;
  EXPECT_NE(md.find("baseline"), std::string::npos);

  // Run again: nothing to do, nothing changes.
  const std::string metrics = test::read_text(out_ / "ln_lr=0.001" / "metrics.jsonl");
  const auto again = run_entropix("sweep " + q(file) + " --out " + q(out_));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("completed already; skipped"), std::string::npos) << again.out;
  EXPECT_EQ(test::read_text(out_ / "ln_lr=0.001" / "metrics.jsonl"), metrics);

  // --summarize rebuilds the tables from the run directories alone.
  const std::string csv = test::read_text(out_ / "summary.csv");
  fs::remove(out_ / "summary.csv");
  const auto summarize = run_entropix("sweep " + q(file) + " --summarize --out " + q(out_));
  EXPECT_EQ(summarize.exit_code, 0) << summarize.err;
  EXPECT_EQ(test::read_text(out_ / "summary.csv"), csv);
}

// A diverging and a failing run do not stop the others; both are reported at the end.
TEST_F(Sweep, CarriesOnPastDivergedAndFailedRuns) {
  const auto file = spec(R"(sweep:
  variants:
    - {name: blowup, set: {model.norm: none, model.final_norm: none, train.lr: 1.0e4, train.warmup: 0, train.grad_clip: 0}}
    - {name: blocked}
    - {name: fine}
)");
  fs::create_directories(out_);
  test::write_text(out_ / "blocked", "a file where the run directory should be");
  const auto r = run_entropix("sweep " + q(file) + " --out " + q(out_));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("diverged: blowup"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("failed (see console.log in their run directories): blocked"), std::string::npos) << r.err;
  EXPECT_EQ(test::summary_of(out_ / "fine")["status"], "completed");
  const auto rows = read_csv(out_ / "summary.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1][2], "diverged");
  EXPECT_EQ(rows[3][2], "completed");
}

TEST_F(Sweep, BadAxisIsReportedForAllRunsBeforeAnyRunStarts) {
  const auto r = run_entropix("sweep " + q(spec(kTwoByTwo)) + " --grid model.activation=gelu,swish --out " + q(out_));
  EXPECT_EQ(r.exit_code, 2);
  for (const char* name : {"ln_lr=0.001_activation=swish", "ln_lr=0.003_activation=swish", "rms_lr=0.001_activation=swish",
                           "rms_lr=0.003_activation=swish"})
    EXPECT_NE(r.err.find(std::string("error: run ") + name + ": --set model.activation=swish"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out_));
}

// The generated script parses, names its resources, and runs each array task's run under plain
// bash with SLURM_ARRAY_TASK_ID set (no Slurm here: scontrol is absent, so no requeue).
TEST_F(Sweep, SlurmScriptRunsEachArrayTask) {
  const auto file = spec(std::string(R"(sweep:
  variants:
    - {name: first, set: {model.activation: relu}}
    - {name: second, set: {model.activation: gelu}}
slurm:
  partition: gpu
  gpus: 1
  time: "01:00:00"
  signal_seconds: 120
  setup: ["export ENTROPIX_SWEEP_TEST_SETUP=1"]
)"));
  const fs::path script = dir_ / "sweep.sbatch";
  const auto w = run_entropix("sweep " + q(file) + " --out " + q(out_) + " --slurm " + q(script));
  ASSERT_EQ(w.exit_code, 0) << w.err;
  const std::string text = test::read_text(script);
  for (const char* line : {"#SBATCH --array=0-1\n", "#SBATCH --requeue\n", "#SBATCH --signal=B:USR1@120\n",
                           "#SBATCH --partition=gpu\n", "#SBATCH --gres=gpu:1\n", "#SBATCH --time=01:00:00\n",
                           "--resume auto", "export ENTROPIX_SWEEP_TEST_SETUP=1\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line;
  EXPECT_EQ(std::system(("bash -n " + q(script)).c_str()), 0);
  EXPECT_TRUE(fs::is_directory(out_ / "slurm"));  // Slurm's --output directory exists before submission

  for (int task : {0, 1}) {
    const std::string cmd = "SLURM_ARRAY_TASK_ID=" + std::to_string(task) + " ENTROPIX=" + q(ENTROPIX_BIN) +
                            " bash " + q(script) + " > " + q(dir_ / ("task" + std::to_string(task) + ".out")) + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << test::read_text(dir_ / ("task" + std::to_string(task) + ".out"));
  }
  EXPECT_EQ(test::summary_of(out_ / "first")["status"], "completed");
  EXPECT_EQ(test::summary_of(out_ / "second")["status"], "completed");
  EXPECT_NE(test::read_text(out_ / "first" / "spec.yaml").find("activation: \"relu\""), std::string::npos);
  EXPECT_TRUE(fs::exists(out_ / "second" / "console.log"));
  // Rerunning a task (a requeue) finds the run completed and does nothing.
  EXPECT_EQ(std::system(("SLURM_ARRAY_TASK_ID=0 ENTROPIX=" + q(ENTROPIX_BIN) + " bash " + q(script) + " >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(test::read_text(out_ / "first" / "console.log").find("nothing to do"), std::string::npos);
  // A task index outside the array is an error.
  EXPECT_NE(std::system(("SLURM_ARRAY_TASK_ID=7 bash " + q(script) + " >/dev/null 2>&1").c_str()), 0);
}

// SIGTERM to the sweep: the running children checkpoint and stop, the sweep exits 4; running the
// same sweep again resumes them.
TEST_F(Sweep, SignalStopsRunsWhichTheNextSweepResumes) {
  const auto file = spec(R"(sweep:
  variants: [{name: a}, {name: b}]
)");
  const pid_t pid = fork();
  if (pid == 0) {
    std::freopen((dir_ / "sweep.out").c_str(), "w", stdout);
    std::freopen((dir_ / "sweep.err").c_str(), "w", stderr);
    execl(ENTROPIX_BIN, ENTROPIX_BIN, "sweep", file.c_str(), "--jobs", "2", "--out", out_.c_str(), "--set",
          "train.steps=100000", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until both runs are training.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  auto training = [&](const char* run) {
    std::ifstream in(out_ / run / "metrics.jsonl");
    for (std::string line; std::getline(in, line);)
      if (line.find("\"kind\":\"train\"") != std::string::npos) return true;
    return false;
  };
  while (!(training("a") && training("b")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(training("a") && training("b"));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 4) << test::read_text(dir_ / "sweep.err");
  int64_t furthest = 0;
  for (const char* run : {"a", "b"}) {
    const auto s = test::summary_of(out_ / run);
    EXPECT_EQ(s["status"], "interrupted") << run;
    furthest = std::max(furthest, s["steps"].get<int64_t>());
  }
  const auto again = run_entropix("sweep " + q(file) + " --out " + q(out_) + " --set train.steps=" + std::to_string(furthest + 2));
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  for (const char* run : {"a", "b"}) {
    const auto s = test::summary_of(out_ / run);
    EXPECT_EQ(s["status"], "completed") << run;
    EXPECT_TRUE(s.contains("resumed_from")) << run;
  }
}

// The shipped sweeps plan the runs their comments promise; the CPU core ablation runs end to end
// at a tiny size (two steps per run, two runs at a time).
TEST(SweepExperiments, ShippedSweepsPlanAndTheCpuAblationRuns) {
  const fs::path dir = test::source_dir() / "experiments" / "sweeps";
  const std::vector<std::pair<std::string, int>> expected = {
      {"core-ablation", 6}, {"core-ablation-cpu", 6}, {"gamma", 7}, {"gamma-cpu", 7}, {"regulariser-cpu", 3}};
  TempDir tmp("entropix-sweep-experiments");
  for (const auto& [name, runs] : expected) {
    const auto r = run_entropix("sweep " + q(dir / (name + ".yaml")) + " --dry-run --out " + q(tmp / name));
    ASSERT_EQ(r.exit_code, 0) << name << r.err;
    EXPECT_NE(r.out.find(std::to_string(runs) + " runs"), std::string::npos) << name << "\n" << r.out;
  }
  const std::string tiny =
      " --set model.n_layer=2 --set model.n_embd=32 --set model.n_head=2 --set model.context=16 --set train.steps=2"
      " --set train.batch_size=2 --set train.warmup=1 --set train.eval_batches=1 --set train.eval_every=1 --quiet";
  const auto r = run_entropix("sweep " + q(dir / "core-ablation-cpu.yaml") + tiny + " --jobs 2 --out " + q(tmp / "cpu"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto rows = read_csv(tmp / "cpu" / "summary.csv");
  ASSERT_EQ(rows.size(), 7u);
  for (size_t i = 1; i < rows.size(); ++i) {
    // SM may diverge (the papers' NaN row); every other row completes.
    if (rows[i][0] == "sm") EXPECT_TRUE(rows[i][2] == "completed" || rows[i][2] == "diverged") << rows[i][2];
    else EXPECT_EQ(rows[i][2], "completed") << rows[i][0];
  }
}

}  // namespace
}  // namespace entropix
