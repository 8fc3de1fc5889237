// Data-parallel `entropix run` with real processes over Gloo on 127.0.0.1: two ranks against one
// process with twice the batch, resuming a two-rank run, a rank that dies, and launcher errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>  // also environ

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "entropix/dist/communicator.h"
#include "entropix/dist/local_launch.h"
#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"
#include "entropix/train/checkpoint.h"
#include "support/records.h"
#include "support/test_util.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;
using test::TempDir;

// A smooth objective (no entropy regulariser, whose dead band can flip on a rounding difference),
// with gradient accumulation so that the last micro-batch's synchronised backward is exercised.
constexpr const char* kDataParallelSpec = R"(name: dp
seed: 7
model:
  n_layer: 2
  n_head: 2
  n_embd: 32
  context: 32
train:
  steps: 20
  batch_size: 4
  grad_accum: 2
  lr: 3.0e-3
  warmup: 3
  eval_every: 5
  eval_batches: 2
data:
  source: pystdlib
log:
  every: 1
  entropy_every: 5
)";

nlohmann::json summary(const fs::path& run) { return nlohmann::json::parse(test::read_text(run / "summary.json")); }

class Distributed : public ::testing::Test {
 protected:
  void SetUp() override {
    // A build without Gloo (LibTorch without it, or no libgloo-dev) trains in one process only.
    if (dist::backend_for(torch::kCPU).empty()) {
      GTEST_SKIP() << "this build has no Gloo backend";
    }
    test::write_text(dir_ / "spec.yaml", kDataParallelSpec);
  }
  std::string spec() const { return q(dir_ / "spec.yaml"); }
  fs::path run(const std::string& name) const { return dir_ / name; }
  TempDir dir_{"entropix-dist"};
};

TEST_F(Distributed, TwoRanksMatchOneProcessWithTwiceTheBatch) {
  const auto one = run_entropix("run " + spec() + " --set train.batch_size=8 --quiet --out " + q(run("one")));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto two = run_entropix("run " + spec() + " --nproc 2 --out " + q(run("two")));
  ASSERT_EQ(two.exit_code, 0) << two.err;

  // Rank 0 alone prints and writes: one start line, one result, one record per step.
  EXPECT_EQ(two.out.find("run dp"), two.out.rfind("run dp")) << two.out;
  EXPECT_NE(two.out.find("done:"), std::string::npos);
  EXPECT_EQ(two.out.find("done:"), two.out.rfind("done:"));
  EXPECT_TRUE(two.err.empty()) << two.err;

  // Tolerances: the two runs compute the same sums in another order (each rank's mean over 4 rows,
  // then the mean of the ranks, against one mean over 8 rows), so they differ by float32 rounding.
  // Measured over 40 steps: train losses within 7.2e-7 (about 1.5 ulp at a loss of 4..5), gradient
  // norms within 3.6e-6 relative, validation losses within 6e-7, entropies within 3e-8, with no
  // growth over the steps. Bounds ~15x above that: a real difference (a row counted twice,
  // gradients summed instead of averaged, a rank on another batch) moves losses by 1e-2 and more.
  const auto t1 = test::run_records(run("one"), "train"), t2 = test::run_records(run("two"), "train");
  ASSERT_EQ(t1.size(), 20u);
  ASSERT_EQ(t2.size(), t1.size());
  for (size_t i = 0; i < t1.size(); ++i) {
    EXPECT_EQ(t2[i]["step"], t1[i]["step"]);
    EXPECT_EQ(t2[i]["tokens"], t1[i]["tokens"]);  // world x batch x accum x context per step
    EXPECT_NEAR(t2[i]["loss"].get<double>(), t1[i]["loss"].get<double>(), 1e-5) << "step " << t1[i]["step"];
    const double g1 = t1[i]["grad_norm"].get<double>(), g2 = t2[i]["grad_norm"].get<double>();
    EXPECT_NEAR(g2, g1, 5e-5 * g1) << "step " << t1[i]["step"];
  }
  const auto e1 = test::run_records(run("one"), "eval"), e2 = test::run_records(run("two"), "eval");
  ASSERT_EQ(e2.size(), e1.size());
  for (size_t i = 0; i < e1.size(); ++i)
    EXPECT_NEAR(e2[i]["val_loss"].get<double>(), e1[i]["val_loss"].get<double>(), 1e-5) << "step " << e1[i]["step"];
  const auto h1 = test::run_records(run("one"), "entropy"), h2 = test::run_records(run("two"), "entropy");
  ASSERT_EQ(h2.size(), h1.size());
  for (size_t i = 0; i < h1.size(); ++i) {
    for (size_t l = 0; l < 2; ++l)
      for (size_t h = 0; h < 2; ++h)
        EXPECT_NEAR(h2[i]["headwise"][l][h].get<double>(), h1[i]["headwise"][l][h].get<double>(), 1e-6);
    EXPECT_EQ(h2[i]["nan_counts"], h1[i]["nan_counts"]);
  }
  EXPECT_EQ(test::run_records(run("two"), "event").size(), test::run_records(run("one"), "event").size());

  const auto s = summary(run("two"));
  EXPECT_EQ(s["status"], "completed");
  EXPECT_EQ(s["world_size"], 2);
  EXPECT_EQ(summary(run("one"))["world_size"], 1);
  EXPECT_EQ(s["tokens"], summary(run("one"))["tokens"]);

  // `entropix eval` knows the checkpoint came from two ranks and evaluates the same 8-row batches.
  const auto ev = run_entropix("eval " + q(run("two")) + " --json");
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  EXPECT_NEAR(nlohmann::json::parse(ev.out)["val_loss"].get<double>(), e2.back()["val_loss"].get<double>(), 1e-5);
}

// Stopping a two-rank run and resuming it gives the uninterrupted run exactly: the ranks restore
// the same checkpoint and sampler position, and every computation is deterministic on the CPU
// with the same thread count (a sum over two ranks does not depend on their order).
TEST_F(Distributed, ResumedTwoRankRunEqualsAnUninterruptedOne) {
  const std::string common = "run " + spec() + " --set train.steps=12 --nproc 2 --quiet --out ";
  const auto whole = run_entropix(common + q(run("whole")));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto first = run_entropix(common + q(run("parts")) + " --stop-after 5");
  ASSERT_EQ(first.exit_code, 4) << first.err;
  EXPECT_EQ(summary(run("parts"))["status"], "interrupted");
  const auto rest = run_entropix(common + q(run("parts")) + " --resume auto");
  ASSERT_EQ(rest.exit_code, 0) << rest.err;

  for (const char* kind : {"train", "eval", "entropy"}) {
    const auto a = test::run_records(run("whole"), kind), b = test::run_records(run("parts"), kind);
    ASSERT_EQ(b.size(), a.size()) << kind;
    for (size_t i = 0; i < a.size(); ++i)
      for (const char* field : {"step", "loss", "grad_norm", "tokens", "val_loss", "headwise"}) {
        if (a[i].contains(field)) {
          EXPECT_EQ(b[i][field], a[i][field]) << kind << " " << field << " #" << i;
        }
      }
  }
  const auto events = test::run_records(run("parts"), "event");
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const auto& e) { return e["name"] == "resume"; }));

  const ExperimentSpec saved = load_spec((run("whole") / "spec.yaml").string());
  GPT a(saved.model), b(saved.model);
  const auto meta = load_checkpoint(run("whole") / "checkpoints" / checkpoint_file_name(12), *a, nullptr);
  load_checkpoint(run("parts") / "checkpoints" / checkpoint_file_name(12), *b, nullptr);
  EXPECT_EQ(meta.world_size, 2);
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;

  // The global batch is ranks x train.batch_size: resuming with another number of ranks is refused.
  const auto other = run_entropix("run " + spec() + " --set train.steps=14 --quiet --resume auto --out " + q(run("parts")));
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("written by a run of 2 rank(s), resumed by 1"), std::string::npos) << other.err;
}

// Starts `entropix args...` as rank `rank` of `world` (the torchrun variables), output to `log`.
pid_t start_rank(const std::vector<std::string>& args, int rank, int world, int port, const fs::path& log) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.push_back(*e);
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(world));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back("MASTER_PORT=" + std::to_string(port));
  std::vector<std::string> argv = {ENTROPIX_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> argv_c, env_c;
  for (auto& a : argv) argv_c.push_back(a.data());
  for (auto& e : env) env_c.push_back(e.data());
  argv_c.push_back(nullptr);
  env_c.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, ENTROPIX_BIN, &files, nullptr, argv_c.data(), env_c.data());
  posix_spawn_file_actions_destroy(&files);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  return pid;
}

// Waits up to `limit` for `pid`; its exit code, or -1 if it is still running (then it is killed).
int wait_for(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

TEST_F(Distributed, ARankThatDiesMakesTheOtherFailWithinBoundedTime) {
  const int port = dist::free_local_port();
  const std::vector<std::string> args = {"run", (dir_ / "spec.yaml").string(), "--set", "train.steps=1000000",
                                         "--quiet", "--dist-timeout", "10", "--out", run("dies").string()};
  const pid_t rank0 = start_rank(args, 0, 2, port, dir_ / "rank0.log");
  const pid_t rank1 = start_rank(args, 1, 2, port, dir_ / "rank1.log");
  // Training is under way once rank 0 has logged a step.
  const auto started_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (test::run_records(run("dies"), "train").empty() && std::chrono::steady_clock::now() < started_by)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(test::run_records(run("dies"), "train").empty()) << test::read_text(dir_ / "rank0.log");

  kill(rank1, SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  // Rank 0 notices the closed connection at its next collective (measured: 0.13 s); a peer that
  // hangs instead would cost it the 10 s timeout. 30 s bounds both with room for a loaded machine.
  const int code = wait_for(rank0, std::chrono::seconds(30));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  wait_for(rank1, std::chrono::seconds(5));
  EXPECT_EQ(code, 1) << "after " << seconds << " s: " << test::read_text(dir_ / "rank0.log");
  const std::string log = test::read_text(dir_ / "rank0.log");
  EXPECT_NE(log.find("error: rank 0: all-reduce failed"), std::string::npos) << log;
  EXPECT_EQ(summary(run("dies"))["status"], "failed");
}

TEST_F(Distributed, LauncherVariablesAreChecked) {
  // Environment variables set here reach the entropix process run_entropix starts.
  setenv("RANK", "2", 1);
  setenv("WORLD_SIZE", "2", 1);
  const auto bad = run_entropix("run " + spec() + " --out " + q(run("bad")));
  setenv("RANK", "0", 1);
  const auto no_master = run_entropix("run " + spec() + " --out " + q(run("nomaster")));
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", "1", 1);
  const auto nested = run_entropix("run " + spec() + " --nproc 2 --out " + q(run("nested")));
  for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(v);

  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("RANK=2 is not below WORLD_SIZE=2"), std::string::npos) << bad.err;
  EXPECT_EQ(no_master.exit_code, 2);
  EXPECT_NE(no_master.err.find("MASTER_ADDR is not set"), std::string::npos) << no_master.err;
  EXPECT_EQ(nested.exit_code, 2);
  EXPECT_NE(nested.err.find("--nproc: this process is already rank 0 of 2"), std::string::npos) << nested.err;
  for (const char* r : {"bad", "nomaster", "nested"}) EXPECT_FALSE(fs::exists(run(r))) << r;
}

}  // namespace
}  // namespace entropix
