// The ETA on `entropix run`'s progress lines after --resume: it must come from the resumed
// process's own steps and time. (It once divided the run's step count into this process's
// time, which after a resume at step 9000 of 10000 made it about 1000x too small.) Real
// processes, the real clock.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace entropix {
namespace {
using test::q;
using Clock = std::chrono::steady_clock;

// A small model, about 15 ms per step on one core.
constexpr const char* kEtaSpec = R"(name: eta
seed: 5
model:
  n_layer: 2
  n_head: 2
  n_embd: 64
  context: 64
train:
  steps: 900
  batch_size: 8
  lr: 1.0e-3
  warmup: 10
  eval_every: 100
  eval_batches: 2
data:
  source: pystdlib
log:
  every: 25
  entropy_every: 450
)";
constexpr int64_t kStopAfter = 500;  // of 900 steps: a resumed process of 400 steps, a few seconds

struct TimedLine {
  Clock::time_point at;
  std::string text;
};

// Runs entropix with `args`, timestamping each stdout line as it arrives (progress lines are
// flushed one by one); `end` is when the process has exited.
std::vector<TimedLine> run_timed(const std::string& args, int* exit_code, Clock::time_point* end) {
  std::vector<TimedLine> lines;
  FILE* pipe = popen((std::string(ENTROPIX_BIN) + " " + args).c_str(), "r");
  if (!pipe) return lines;
  char buf[1024];
  while (std::fgets(buf, sizeof(buf), pipe)) lines.push_back({Clock::now(), buf});
  const int status = pclose(pipe);
  *end = Clock::now();
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return lines;
}

// "eta 1m05s" / "eta 42s" -> seconds; -1 when the line has no ETA.
double eta_of(const std::string& line) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(R"(eta (?:(\d+)h)?(?:(\d+)m)?(\d+)?s?\s*$)"))) return -1;
  double s = 0;
  if (m[1].matched) s += 3600.0 * std::stod(m[1]);
  if (m[2].matched) s += 60.0 * std::stod(m[2]);
  if (m[3].matched) s += std::stod(m[3]);
  return s;
}

TEST(Eta, AfterResumeItIsWithinTwiceTheTimeActuallyLeft) {
  test::TempDir dir("entropix-eta");
  const auto spec = dir / "eta.yaml", out = dir / "run";
  test::write_text(spec, kEtaSpec);
  const auto first = test::run_entropix("run " + q(spec) + " --out " + q(out) + " --quiet --stop-after " +
                                        std::to_string(kStopAfter));
  ASSERT_EQ(first.exit_code, 4) << first.err;

  int code = -1;
  Clock::time_point end;
  const auto lines = run_timed("run " + q(spec) + " --out " + q(out) + " --resume auto", &code, &end);
  ASSERT_EQ(code, 0);
  int checked = 0;
  std::string report;
  for (const auto& line : lines) {
    std::smatch m;
    if (!std::regex_search(line.text, m, std::regex(R"(^step\s+(\d+)/)"))) continue;
    const int64_t step = std::stoll(m[1]);
    EXPECT_GT(step, kStopAfter) << line.text;
    const double actual = std::chrono::duration<double>(end - line.at).count();
    const double eta = eta_of(line.text);
    ASSERT_GE(eta, 0) << "no ETA on " << line.text;
    report += "step " + std::to_string(step) + ": eta " + std::to_string(eta) + " s, actually " +
              std::to_string(actual) + " s\n";
    // The ETA is printed in whole seconds: lines with at least 1.5 s to go keep the rounding
    // under a third. Within 2x leaves room for that and for a shared machine's changing load,
    // while the old formula, about step / (step - 500) times too small here, misses by more than
    // 2x on every line (it printed "eta 0s" throughout).
    if (actual < 1.5) continue;
    ++checked;
    EXPECT_LE(eta, 2.0 * actual) << line.text;
    EXPECT_GE(eta, 0.5 * actual) << line.text;
  }
  EXPECT_GE(checked, 3) << "too few progress lines with time left to check";
  if (HasFailure()) ADD_FAILURE() << "the resumed run's progress lines:\n" << report;
}

}  // namespace
}  // namespace entropix
