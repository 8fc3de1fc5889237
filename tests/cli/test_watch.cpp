// `entropix watch`: captured from a real terminal (tmux) while a real entropix process trains the
// run, and over a finished run. The training process is paused (SIGSTOP) while the pane is read,
// so the step the view must show is known from metrics.jsonl at that moment.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/report_inspect.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using test::q;
using Clock = std::chrono::steady_clock;

constexpr int kSteps = 400;

pid_t start_run(const fs::path& out, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string spec = (test::source_dir() / "experiments" / "smoke.yaml").string();
    std::freopen(log.c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    const std::string steps = "train.steps=" + std::to_string(kSteps);
    execl(ENTROPIX_BIN, ENTROPIX_BIN, "run", spec.c_str(), "--set", steps.c_str(), "--set", "log.every=2", "--set",
          "train.eval_every=100", "--set", "log.entropy_every=100", "--quiet", "--out", out.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Whole records of metrics.jsonl, read here without entropix's reader.
std::vector<json> whole_records(const fs::path& run) {
  std::vector<json> out;
  std::ifstream in(run / "metrics.jsonl");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(json::parse(text.substr(start, nl - start)));
  return out;
}

const json* last_of(const std::vector<json>& records, const std::string& kind) {
  for (auto it = records.rbegin(); it != records.rend(); ++it)
    if ((*it)["kind"] == kind) return &*it;
  return nullptr;
}

int64_t last_train_step(const fs::path& run) {
  const auto records = whole_records(run);
  const json* t = last_of(records, "train");
  return t ? (*t)["step"].get<int64_t>() : -1;
}

// Waits until `pred` holds, at most `limit`.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// A child process that is killed (and reaped) when the test ends early.
struct Child {
  pid_t pid;
  bool reaped = false;
  explicit Child(pid_t p) : pid(p) {}
  ~Child() {
    if (reaped) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  int wait(std::chrono::seconds limit) {
    reaped = true;
    return test::wait_exit(pid, limit);
  }
};

// A tmux server of its own (socket in the test's directory), killed when the test ends.
class Tmux {
 public:
  explicit Tmux(fs::path socket) : socket_(std::move(socket)) {}
  ~Tmux() { test::run_shell(base() + " kill-server"); }
  std::string base() const { return "tmux -u -S " + q(socket_); }
  // Runs `sh script` in a detached 200 x 30 session named "watch" (wide: the status line names the run directory).
  int start(const fs::path& script) {
    return test::run_shell(base() + " new-session -d -s watch -x 200 -y 30 \"sh " + q(script) + "\"").exit_code;
  }
  std::string capture(bool escapes = false) const {
    return test::run_shell(base() + " capture-pane -p" + (escapes ? " -e" : "") + " -t watch").out;
  }

 private:
  fs::path socket_;
};

// The pane shows `step S/400` for the step the run is paused at, and the newest entropy record's
// table: one row per layer, each value as the record has it to two decimals.
void expect_view_matches(const std::string& pane, const fs::path& run) {
  const auto records = whole_records(run);
  const json* train = last_of(records, "train");
  const json* entropy = last_of(records, "entropy");
  ASSERT_TRUE(train && entropy);
  const std::string step = "step " + std::to_string((*train)["step"].get<int64_t>()) + "/" + std::to_string(kSteps);
  EXPECT_NE(pane.find(step), std::string::npos) << step << "\n" << pane;
  EXPECT_NE(pane.find("headwise entropy at step " + std::to_string((*entropy)["step"].get<int64_t>())),
            std::string::npos) << pane;
  const json& headwise = (*entropy)["headwise"];
  for (size_t l = 0; l < headwise.size(); ++l) {
    const std::string label = "L" + std::to_string(l);
    const size_t at = pane.find("\n" + label + " ");
    ASSERT_NE(at, std::string::npos) << label << "\n" << pane;
    std::istringstream row(pane.substr(at + 1, pane.find('\n', at + 1) - at - 1));
    std::string name;
    row >> name;
    for (size_t h = 0; h < headwise[l].size(); ++h) {
      double shown = NAN;
      row >> shown;
      // Printed with two decimals: within half a unit of the last place (plus float slack).
      EXPECT_NEAR(shown, headwise[l][h].get<double>(), 0.005 + 1e-9) << label << " h" << h;
    }
  }
  // The loss sparkline: block characters U+2581..U+2588 (UTF-8 E2 96 81..88) after the loss.
  const size_t loss = pane.find("loss ");
  ASSERT_NE(loss, std::string::npos) << pane;
  const std::string line = pane.substr(loss, pane.find('\n', loss) - loss);
  int blocks = 0;
  for (size_t i = 0; i + 2 < line.size(); ++i)
    blocks += line.compare(i, 2, "\xE2\x96") == 0 && static_cast<unsigned char>(line[i + 2]) >= 0x81 &&
              static_cast<unsigned char>(line[i + 2]) <= 0x88;
  EXPECT_GE(blocks, 2) << line;
}

TEST(Watch, FollowsARealRunInATerminal) {
  if (test::run_shell("command -v tmux").exit_code != 0)
    FAIL() << "tmux is not installed: install the Debian package tmux (scripts/bootstrap.sh test does)";
  test::TempDir dir("entropix-watch");
  const fs::path run = dir / "run";
  Child training(start_run(run, dir / "run.stderr"));
  const pid_t pid = training.pid;
  // Three train records (log.every=2) at least, so the sparkline has several points.
  ASSERT_TRUE(wait_until([&] { return last_train_step(run) >= 6; }, std::chrono::seconds(120)))
      << test::read_text(dir / "run.stderr");
  kill(pid, SIGSTOP);

  // A second watcher writing into a file: not a terminal, so plain text once per update.
  Child plain(fork());
  if (plain.pid == 0) {
    std::freopen((dir / "plain.out").c_str(), "w", stdout);
    execl(ENTROPIX_BIN, ENTROPIX_BIN, "watch", run.c_str(), "--interval", "0.2", static_cast<char*>(nullptr));
    _exit(127);
  }
  Tmux tmux(dir / "tmux.sock");
  test::write_text(dir / "watch.sh", "export COLORTERM=truecolor LANG=C.UTF-8\n" + q(ENTROPIX_BIN) + " watch " +
                                         q(run) + " --interval 0.2\necho WATCH-EXIT=$?\nsleep 600\n");
  ASSERT_EQ(tmux.start(dir / "watch.sh"), 0);

  // Paused: the view must settle on the step the run stopped at.
  const int64_t first = last_train_step(run);
  const std::string first_step = "step " + std::to_string(first) + "/";
  ASSERT_TRUE(wait_until([&] { return tmux.capture().find(first_step) != std::string::npos; }, std::chrono::seconds(60)))
      << tmux.capture();
  expect_view_matches(tmux.capture(), run);
  // The heatmap rows are coloured: 24-bit backgrounds, as COLORTERM=truecolor asks (tmux merges
  // neighbouring cells of one colour into one escape, so each row is checked, not each cell).
  const std::string coloured = tmux.capture(/*escapes=*/true);
  for (const char* row : {"\nL0 ", "\nL1 "}) {
    const size_t at = coloured.find(row);
    ASSERT_NE(at, std::string::npos) << coloured;
    EXPECT_NE(coloured.substr(at, coloured.find('\n', at + 1) - at).find("48;2;"), std::string::npos) << coloured;
  }

  // Let it train on, pause again later: the view follows.
  kill(pid, SIGCONT);
  ASSERT_TRUE(wait_until([&] { return last_train_step(run) >= first + 20; }, std::chrono::seconds(120)));
  kill(pid, SIGSTOP);
  const int64_t second = last_train_step(run);
  ASSERT_GT(second, first);
  const std::string second_step = "step " + std::to_string(second) + "/";
  ASSERT_TRUE(wait_until([&] { return tmux.capture().find(second_step) != std::string::npos; }, std::chrono::seconds(60)))
      << tmux.capture();
  expect_view_matches(tmux.capture(), run);

  // The run ends: the view draws the final state and exits 0 by itself.
  kill(pid, SIGCONT);
  ASSERT_EQ(training.wait(std::chrono::seconds(300)), 0) << test::read_text(dir / "run.stderr");
  ASSERT_TRUE(wait_until([&] { return tmux.capture().find("WATCH-EXIT=") != std::string::npos; }, std::chrono::seconds(60)))
      << tmux.capture();
  const std::string pane = tmux.capture();
  EXPECT_NE(pane.find("WATCH-EXIT=0"), std::string::npos) << pane;
  EXPECT_NE(pane.find("| completed |"), std::string::npos) << pane;
  expect_view_matches(pane, run);
  EXPECT_EQ(pane.find("| eta "), std::string::npos) << pane;  // no ETA once the run has ended

  // The plain watcher ended too, with text only, frames in step order, the last one final.
  ASSERT_EQ(plain.wait(std::chrono::seconds(60)), 0);
  const std::string text = test::read_text(dir / "plain.out");
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  std::vector<int64_t> steps;
  for (size_t at = 0; (at = text.find("| step ", at)) != std::string::npos; ++at)
    steps.push_back(std::stoll(text.substr(at + 7)));
  ASSERT_GE(steps.size(), 3u) << text;  // the paused step, later ones, the end
  EXPECT_TRUE(std::is_sorted(steps.begin(), steps.end())) << text;
  EXPECT_EQ(steps.back(), kSteps);
  EXPECT_NE(text.rfind("| completed |"), std::string::npos);
}

TEST(Watch, FinishedRunDrawsOnceAndExits) {
  test::TempDir dir("entropix-watch");
  const fs::path run = dir / "run";
  ASSERT_EQ(test::run_entropix("run " + q(test::source_dir() / "experiments" / "smoke.yaml") +
                               " --set train.steps=10 --quiet --out " + q(run)).exit_code, 0);
  const auto r = test::run_entropix("watch " + q(run));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;  // not a terminal: plain text
  size_t frames = 0;
  for (size_t at = 0; (at = r.out.find("entropix watch ", at)) != std::string::npos; ++at) ++frames;
  EXPECT_EQ(frames, 1u) << r.out;
  EXPECT_NE(r.out.find("| completed | step 10/10 (100%)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nL1 "), std::string::npos) << r.out;

  const auto bad = test::run_entropix("watch " + q(dir / "nothing"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err.rfind("error: ", 0), 0u) << bad.err;
}

}  // namespace
}  // namespace entropix
