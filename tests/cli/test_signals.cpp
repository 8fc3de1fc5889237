// Preemption: a real entropix process and real signals.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/json_schema.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

// Starts `entropix run smoke.yaml` for many steps in the background, writing into `out`.
pid_t start_long_run(const fs::path& out, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string spec = (test::source_dir() / "experiments" / "smoke.yaml").string();
    std::freopen(log.c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    execl(ENTROPIX_BIN, ENTROPIX_BIN, "run", spec.c_str(), "--set", "train.steps=100000", "--set", "log.every=1",
          "--quiet", "--out", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits until metrics.jsonl holds a train record (the loop is running), at most `limit`.
bool wait_for_training(const fs::path& out, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(out / "metrics.jsonl");
    for (std::string line; std::getline(in, line);)
      if (line.find("\"kind\":\"train\"") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Exit status of `pid`, killing it if it has not ended within `limit`.
class Preemption : public ::testing::TestWithParam<int> {};

TEST_P(Preemption, SignalCheckpointsSummarisesAndExitsFour) {
  TempDir dir;
  const fs::path out = dir / "run";
  const pid_t pid = start_long_run(out, dir / "stderr");
  ASSERT_TRUE(wait_for_training(out, std::chrono::seconds(60)));
  kill(pid, GetParam());
  ASSERT_EQ(test::wait_exit(pid, std::chrono::seconds(60)), 4) << test::read_text(dir / "stderr");

  auto summary = nlohmann::json::parse(test::read_text(out / "summary.json"));
  EXPECT_EQ(summary["status"], "interrupted");
  const int64_t step = summary["steps"].get<int64_t>();
  EXPECT_GE(step, 1);
  // A complete checkpoint of the last finished step.
  char name[64];
  std::snprintf(name, sizeof(name), "step-%08lld.ckpt", static_cast<long long>(step));
  EXPECT_TRUE(fs::exists(out / "checkpoints" / name)) << name;
  EXPECT_TRUE(fs::exists(out / "checkpoints" / (std::string(name) + ".done")));
  // Every line of the metrics is whole JSON, the last event says why it stopped.
  std::ifstream in(out / "metrics.jsonl");
  nlohmann::json last_event;
  for (std::string line; std::getline(in, line);) {
    auto rec = nlohmann::json::parse(line);
    if (rec["kind"] == "event") last_event = rec;
  }
  EXPECT_EQ(last_event["name"], "interrupted");
  const auto schema = jsonschema::load_schema((test::source_dir() / "docs" / "log-schema.json").string(),
                                              "#/definitions/summary");
  EXPECT_TRUE(jsonschema::validate_json(summary, schema).empty());
}

INSTANTIATE_TEST_SUITE_P(Signals, Preemption, ::testing::Values(SIGTERM, SIGINT, SIGUSR1));

// Preempted by a real SIGTERM, then requeued: `--resume auto` continues from the signal's
// checkpoint and the log holds every step once.
TEST(Preemption, ResumeAfterSigtermContinuesTheSameLog) {
  TempDir dir;
  const fs::path out = dir / "run";
  const pid_t pid = start_long_run(out, dir / "stderr");
  ASSERT_TRUE(wait_for_training(out, std::chrono::seconds(60)));
  kill(pid, SIGTERM);
  ASSERT_EQ(test::wait_exit(pid, std::chrono::seconds(60)), 4) << test::read_text(dir / "stderr");
  const int64_t stopped = nlohmann::json::parse(test::read_text(out / "summary.json"))["steps"].get<int64_t>();

  const std::string spec = (test::source_dir() / "experiments" / "smoke.yaml").string();
  const auto r = test::run_entropix("run " + test::q(spec) + " --quiet --out " + test::q(out) +
                                    " --set log.every=1 --resume auto --set train.steps=" + std::to_string(stopped + 3));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<int64_t> steps;
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto rec = nlohmann::json::parse(line);
    if (rec["kind"] == "train") steps.push_back(rec["step"].get<int64_t>());
  }
  ASSERT_EQ(static_cast<int64_t>(steps.size()), stopped + 3);
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i], static_cast<int64_t>(i) + 1);
  EXPECT_EQ(nlohmann::json::parse(test::read_text(out / "summary.json"))["status"], "completed");
}

// Repeated and mixed signals, SIGQUIT and the Slurm script: tests/cli/test_preemption.cpp.

}  // namespace
}  // namespace entropix
