// Preemption as a cluster does it, with real processes and real signals (docs/reliability.md,
// "Preemption and signals"): the generated Slurm array script in its own process group, Slurm's
// signal bursts, SIGQUIT as the deliberate "leave now", and one SIGTERM ending a sweep.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/records.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using test::q;
using test::TempDir;

// A model small enough that a step takes milliseconds; many steps so a signal lands mid-run.
constexpr const char* kPreemptibleSpec = R"(name: pre
seed: 11
model: {n_layer: 1, n_head: 2, n_embd: 16, context: 16}
train: {steps: 300, batch_size: 2, lr: 3.0e-3, warmup: 2, eval_every: 100, eval_batches: 1}
data: {source: pystdlib}
log: {every: 1, entropy_every: 100}
)";

// Starts `argv` with stdout and stderr to `log`; in a new session (so its own process group,
// as Slurm runs a job) when `own_group`; `env` entries (NAME=VALUE) are added.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log, bool own_group,
            const std::vector<std::string>& env = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (own_group) setsid();
    for (const auto& e : env) putenv(strdup(e.c_str()));
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Exit code of `pid`; -1 (after killing its group) when it has not ended within `limit`, which is
// a hang guard, not a timing assertion; 128 + signal when a signal ended it.
// The steps of the train records in RUN/metrics.jsonl, in file order (a line still being written
// is skipped).
std::vector<int64_t> train_steps(const fs::path& run) {
  std::vector<int64_t> steps;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (!nlohmann::json::accept(line)) continue;
    const auto r = nlohmann::json::parse(line);
    if (r["kind"] == "train") steps.push_back(r["step"].get<int64_t>());
  }
  return steps;
}

bool wait_for_step(const fs::path& run, int64_t step, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    const auto steps = train_steps(run);
    if (!steps.empty() && steps.back() >= step) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}


std::string ckpt_name(int64_t step) {
  char name[64];
  std::snprintf(name, sizeof(name), "step-%08lld.ckpt", static_cast<long long>(step));
  return name;
}

// Every file under `dir` whose name holds ".tmp.".
std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) out.push_back(e.path().string());
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::vector<int64_t> one_to(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

// ---- the Slurm array script, run as Slurm runs it ----

class SlurmTask : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    test::write_text(dir_ / "sweep.yaml", std::string(kPreemptibleSpec) + "sweep:\n  variants: [{name: a}, {name: b}, {name: c}]\n");
    const auto r = test::run_entropix("sweep " + q(dir_ / "sweep.yaml") + " --out " + q(out_) + " --slurm " +
                                      q(dir_ / "task.sbatch"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // A stand-in scontrol that records its arguments, first on PATH.
    fs::create_directories(dir_ / "bin");
    test::write_text(dir_ / "bin" / "scontrol", "#!/bin/sh\necho \"$@\" >> " + q(dir_ / "scontrol.log") + "\n");
    fs::permissions(dir_ / "bin" / "scontrol", fs::perms::owner_all);
  }
  // The array task 1 (run "b") of job 4242, as Slurm would start it: a new process group.
  pid_t start_task(const std::string& log) {
    return spawn({"bash", (dir_ / "task.sbatch").string()}, dir_ / log, /*own_group=*/true,
                 {"SLURM_JOB_ID=4243", "SLURM_ARRAY_JOB_ID=4242", "SLURM_ARRAY_TASK_ID=1",
                  "SLURM_ARRAY_TASK_COUNT=3", "ENTROPIX=" + std::string(ENTROPIX_BIN),
                  "PATH=" + (dir_ / "bin").string() + ":" + std::getenv("PATH")});
  }
  TempDir dir_{"entropix-slurm"};
  fs::path out_ = dir_ / "out";
};

// Preempted mid-run: TERM to the whole process group (the script and entropix; the script
// forwards it too), optionally after Slurm's B:USR1 early warning to the script alone 20 ms
// before. The task reports exit 4, the run checkpointed its last completed step and requeue was
// asked for this array task. The requeued task completes the run with every step logged once.
TEST_P(SlurmTask, PreemptedTaskCheckpointsRequeuesAndResumes) {
  const fs::path run = out_ / "b";
  const pid_t pid = start_task("first.log");
  ASSERT_TRUE(wait_for_step(run, 3, std::chrono::seconds(120))) << test::read_text(run / "console.log");
  if (GetParam()) {
    kill(pid, SIGUSR1);  // --signal=B:USR1: the batch shell only
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGTERM);  // the whole job
  ASSERT_EQ(test::wait_exit(pid, std::chrono::seconds(120)), 4) << test::read_text(dir_ / "first.log")
                                                          << test::read_text(run / "console.log");
  EXPECT_NE(test::read_text(dir_ / "first.log").find("task 1: entropix exited with 4"), std::string::npos);
  EXPECT_EQ(test::read_text(dir_ / "scontrol.log"), "requeue 4242_1\n");

  const auto s = test::summary_of(run);
  EXPECT_EQ(s["status"], "interrupted");
  const int64_t stopped = s["steps"].get<int64_t>();
  ASSERT_GE(stopped, 3);
  ASSERT_LT(stopped, 300) << "the run ended before the signal arrived";
  // The checkpoint is of the last step that completed (and was logged).
  EXPECT_EQ(train_steps(run), one_to(stopped));
  for (const std::string suffix : {"", ".done", ".meta.json"})
    EXPECT_TRUE(fs::exists(run / "checkpoints" / (ckpt_name(stopped) + suffix))) << suffix;
  EXPECT_TRUE(temp_files(out_).empty());
  const std::string console = test::read_text(run / "console.log");
  EXPECT_EQ(count(console, "stop requested"), 1u) << console;  // one stop, however many signals

  // Slurm starts the requeued task again.
  const pid_t again = start_task("second.log");
  ASSERT_EQ(test::wait_exit(again, std::chrono::seconds(300)), 0) << test::read_text(dir_ / "second.log")
                                                            << test::read_text(run / "console.log");
  EXPECT_EQ(test::read_text(dir_ / "scontrol.log"), "requeue 4242_1\n");  // no second requeue
  EXPECT_EQ(test::summary_of(run)["status"], "completed");
  EXPECT_EQ(test::summary_of(run)["resumed_from"]["step"], stopped);
  EXPECT_EQ(train_steps(run), one_to(300));
  EXPECT_FALSE(fs::exists(out_ / "a" / "metrics.jsonl"));  // other tasks untouched
}

INSTANTIATE_TEST_SUITE_P(Preemption, SlurmTask, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Usr1ThenGroupTerm" : "GroupTerm"; });

// ---- entropix run and a burst of signals ----

pid_t start_run(const fs::path& spec, const fs::path& out, const fs::path& log, const std::vector<std::string>& sets) {
  std::vector<std::string> argv = {ENTROPIX_BIN, "run", spec.string(), "--quiet", "--out", out.string()};
  for (const auto& s : sets) argv.insert(argv.end(), {"--set", s});
  return spawn(argv, log, /*own_group=*/false);
}

// TERM, USR1, INT, TERM 20 ms apart (two of them the 20 ms-apart TERMs that used to leave
// summary.json.tmp.<pid> behind): one clean stop, exit 4, no temporary file anywhere.
TEST(SignalBurst, AnyMixOfStopSignalsIsOneCleanStop) {
  TempDir dir;
  test::write_text(dir / "spec.yaml", kPreemptibleSpec);
  const fs::path out = dir / "run";
  const pid_t pid = start_run(dir / "spec.yaml", out, dir / "log", {"train.steps=100000"});
  ASSERT_TRUE(wait_for_step(out, 2, std::chrono::seconds(120))) << test::read_text(dir / "log");
  for (int sig : {SIGTERM, SIGUSR1, SIGINT, SIGTERM}) {
    kill(pid, sig);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(test::wait_exit(pid, std::chrono::seconds(120)), 4) << test::read_text(dir / "log");
  const auto s = test::summary_of(out);
  EXPECT_EQ(s["status"], "interrupted");
  EXPECT_NE(s["message"].get<std::string>().find("signal " + std::to_string(SIGTERM)), std::string::npos) << s["message"];
  const int64_t step = s["steps"].get<int64_t>();
  EXPECT_TRUE(fs::exists(out / "checkpoints" / (ckpt_name(step) + ".done")));
  EXPECT_EQ(train_steps(out), one_to(step));
  EXPECT_TRUE(temp_files(out).empty());
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  EXPECT_EQ(count(test::read_text(dir / "log"), "stop requested"), 1u) << test::read_text(dir / "log");
}

// SIGQUIT leaves at once (exit 131, no checkpoint, no summary) even in the middle of a stop.
// Stale temporary files (as a process killed while writing leaves them) are removed by the next
// `--resume auto`, which continues from the last periodic checkpoint with every step logged once.
TEST(SignalBurst, QuitLeavesAtOnceAndResumeCleansUp) {
  TempDir dir;
  test::write_text(dir / "spec.yaml", kPreemptibleSpec);
  const fs::path out = dir / "run";
  const pid_t pid =
      start_run(dir / "spec.yaml", out, dir / "log", {"train.steps=100000", "train.checkpoint_every=5"});
  ASSERT_TRUE(wait_for_step(out, 7, std::chrono::seconds(120))) << test::read_text(dir / "log");
  kill(pid, SIGQUIT);
  ASSERT_EQ(test::wait_exit(pid, std::chrono::seconds(60)), 128 + SIGQUIT) << test::read_text(dir / "log");
  EXPECT_NE(test::read_text(dir / "log").find("SIGQUIT: leaving at once"), std::string::npos);
  EXPECT_FALSE(fs::exists(out / "summary.json"));

  // Leftovers of a writer that was killed (this pid is not running: a reaped child's).
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string tmp = ".tmp." + std::to_string(dead);
  test::write_text(out / ("summary.json" + tmp), "{\"status\": ");
  test::write_text(out / "checkpoints" / ("step-99999999.ckpt" + tmp), "partial");

  int64_t resumed_from = 0;
  for (const auto& e : fs::directory_iterator(out / "checkpoints")) {
    const std::string name = e.path().filename().string();
    // step-<8 digits>.ckpt.done
    if (name.size() == 23 && name.substr(18) == ".done") resumed_from = std::max<int64_t>(resumed_from, std::stoll(name.substr(5, 8)));
  }
  ASSERT_GE(resumed_from, 5);
  const auto r = test::run_entropix("run " + q(dir / "spec.yaml") + " --quiet --out " + q(out) +
                                    " --resume auto --set train.steps=" + std::to_string(resumed_from + 4));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // (QUIT may also have cut a save short: its temporary file goes too, so not a count of two.)
  EXPECT_NE(r.err.find("temporary file(s) left by an earlier process"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("summary.json" + tmp), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step-99999999.ckpt" + tmp), std::string::npos) << r.err;
  EXPECT_TRUE(temp_files(out).empty());
  EXPECT_EQ(test::summary_of(out)["resumed_from"]["step"], resumed_from);
  EXPECT_EQ(train_steps(out), one_to(resumed_from + 4));
}

// ---- the sweep ----

// One SIGTERM while the first of three runs trains (one at a time): the sweep passes it on, the
// run checkpoints, the two unstarted runs stay unstarted, the summaries are written and the sweep
// exits 4 (it used to wait forever for the runs it never launched).
TEST(SweepShutdown, OneSigtermEndsTheSweepWithUnstartedRuns) {
  TempDir dir;
  test::write_text(dir / "sweep.yaml", std::string(kPreemptibleSpec) + "sweep:\n  variants: [{name: a}, {name: b}, {name: c}]\n");
  const fs::path out = dir / "out";
  const pid_t pid = spawn({ENTROPIX_BIN, "sweep", (dir / "sweep.yaml").string(), "--jobs", "1", "--out", out.string(),
                           "--set", "train.steps=100000"},
                          dir / "log", /*own_group=*/false);
  ASSERT_TRUE(wait_for_step(out / "a", 2, std::chrono::seconds(120))) << test::read_text(dir / "log");
  const auto sent = Clock::now();
  kill(pid, SIGTERM);
  const int code = test::wait_exit(pid, std::chrono::seconds(120));
  const double seconds = std::chrono::duration<double>(Clock::now() - sent).count();
  ASSERT_EQ(code, 4) << test::read_text(dir / "log");
  std::printf("[ measured ] sweep ended %.2f s after SIGTERM\n", seconds);
  const std::string log = test::read_text(dir / "log");
  EXPECT_NE(log.find("not started (run the sweep again to run them): b, c"), std::string::npos) << log;
  EXPECT_EQ(test::summary_of(out / "a")["status"], "interrupted");
  EXPECT_FALSE(fs::exists(out / "b" / "spec.yaml"));
  EXPECT_FALSE(fs::exists(out / "c" / "spec.yaml"));
  EXPECT_TRUE(fs::exists(out / "summary.csv"));
  const std::string md = test::read_text(out / "summary.md");
  EXPECT_NE(md.find("interrupted"), std::string::npos) << md;
}

}  // namespace
}  // namespace entropix
