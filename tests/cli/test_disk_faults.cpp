// A full disk and a file-size limit under real `entropix` commands (docs/reliability.md, "Faults:
// disk full and I/O errors"): one `error:` line, exit 1, no temporary file left, summary.json
// status failed where it still fits, and `--resume auto` working once there is room again.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::TempDir;

constexpr const char* kSmokeSets =
    " --quiet --set train.steps=20 --set log.every=1 --set train.eval_every=10 --set log.entropy_every=10";


struct Result {
  int exit_code;
  std::string err;
};

// Runs a shell command line (entropix under prlimit, say), stderr captured.
Result shell(const std::string& cmd, const fs::path& err_file) {
  const int status = std::system((cmd + " > /dev/null 2> " + q(err_file)).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, test::read_text(err_file)};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<int64_t> train_steps(const fs::path& run) {
  std::vector<int64_t> steps;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto r = nlohmann::json::parse(line);  // every line whole: a cut line would throw here
    if (r["kind"] == "train") steps.push_back(r["step"].get<int64_t>());
  }
  return steps;
}

std::vector<int64_t> one_to(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) out.push_back(e.path().string());
  return out;
}

// The one error line of a failed write: no LibTorch text, no backtrace, no abort.
void expect_one_write_error(const Result& r, const std::string& file, const std::string& reason) {
  const auto err = lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_EQ(err[0].rfind("error: cannot write ", 0), 0u) << err[0];
  EXPECT_NE(err[0].find(file + ": " + reason), std::string::npos) << err[0];
  for (const char* bad : {"terminate", "c10", "Exception raised from", "PytorchStreamWriter", "frame #"})
    EXPECT_EQ(r.err.find(bad), std::string::npos) << bad;
}

// A tmpfs mounted for the test; unmounted when it goes away.
class Tmpfs {
 public:
  Tmpfs(const fs::path& dir, uint64_t kib) : dir_(dir) {
    fs::create_directories(dir);
    mounted_ = std::system(("mount -t tmpfs -o size=" + std::to_string(kib) + "k tmpfs " + q(dir) + " 2>/dev/null").c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted_) std::system(("umount " + q(dir_)).c_str());
  }
  bool mounted() const { return mounted_; }
  bool resize(uint64_t kib) {
    return std::system(("mount -o remount,size=" + std::to_string(kib) + "k " + q(dir_)).c_str()) == 0;
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

// A checkpoint that does not fit on the disk: the run fails with one line naming it, keeps its
// earlier checkpoint, writes summary.json (status failed: the removed temporary file made room)
// and, once the disk is bigger, `--resume auto` continues from the earlier checkpoint.
TEST(DiskFull, ACheckpointThatDoesNotFitFailsCleanlyAndResumeWorksOnceThereIsRoom) {
  TempDir dir;
  // The size of one of this run's checkpoints, measured on the ordinary disk.
  const auto probe = test::run_entropix("run " + test::smoke_spec_arg() + kSmokeSets + " --stop-after 1 --out " + q(dir / "probe"));
  ASSERT_EQ(probe.exit_code, 4) << probe.err;
  const uint64_t ckpt = fs::file_size(dir / "probe" / "checkpoints" / "step-00000001.ckpt");
  ASSERT_GT(ckpt, 200u * 1024) << "the model must be large enough for the sizes below";
  // Room for the small files and one checkpoint, not for two (keep_checkpoints 1 writes the new one
  // before it removes the old).
  const uint64_t kib = (ckpt + ckpt / 2) / 1024 + 64;
  Tmpfs disk(dir / "disk", kib);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)";
  const fs::path run = dir / "disk" / "run";
  const std::string args = "run " + test::smoke_spec_arg() + kSmokeSets + " --set train.checkpoint_every=5 --set train.keep_checkpoints=1 --out " + q(run);
  const Result r = shell(std::string(ENTROPIX_BIN) + " " + args, dir / "err1");
  EXPECT_EQ(r.exit_code, 1);
  expect_one_write_error(r, (run / "checkpoints" / "step-00000010.ckpt").string(), "No space left on device");
  EXPECT_TRUE(temp_files(run).empty());
  EXPECT_FALSE(fs::exists(run / "checkpoints" / "step-00000010.ckpt"));
  EXPECT_TRUE(fs::exists(run / "checkpoints" / "step-00000005.ckpt.done"));
  const auto summary = nlohmann::json::parse(test::read_text(run / "summary.json"));
  EXPECT_EQ(summary["status"], "failed");
  EXPECT_NE(summary["message"].get<std::string>().find("No space left on device"), std::string::npos);
  EXPECT_EQ(train_steps(run), one_to(10));

  ASSERT_TRUE(disk.resize(kib * 4));
  const Result again = shell(std::string(ENTROPIX_BIN) + " " + args + " --resume auto", dir / "err2");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto done = nlohmann::json::parse(test::read_text(run / "summary.json"));
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["resumed_from"]["step"], 5);
  EXPECT_EQ(train_steps(run), one_to(20));
  EXPECT_TRUE(temp_files(run).empty());
}

// metrics.jsonl reaching a file-size limit (ulimit -f, via prlimit): one line naming it, every
// line of the file still whole JSON (the cut record is taken back), summary.json failed; without
// the limit `--resume auto` starts the run again (it had no checkpoint yet) and completes it.
TEST(DiskFull, MetricsHittingAFileSizeLimitFailCleanly) {
  if (std::system("command -v prlimit > /dev/null") != 0) GTEST_SKIP() << "prlimit (util-linux) is not installed";
  TempDir dir;
  const fs::path run = dir / "run";
  const std::string args = "run " + test::smoke_spec_arg() + kSmokeSets + " --set train.steps=400 --out " + q(run);
  const Result r = shell("prlimit --fsize=12000 " + std::string(ENTROPIX_BIN) + " " + args, dir / "err1");
  EXPECT_EQ(r.exit_code, 1);
  expect_one_write_error(r, (run / "metrics.jsonl").string(), "File too large");
  EXPECT_LE(fs::file_size(run / "metrics.jsonl"), 12000u);
  const auto steps = train_steps(run);  // parses every line
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps, one_to(steps.back()));
  EXPECT_EQ(nlohmann::json::parse(test::read_text(run / "summary.json"))["status"], "failed");
  EXPECT_TRUE(temp_files(run).empty());

  const Result again = shell(std::string(ENTROPIX_BIN) + " " + args + " --set train.steps=30 --resume auto", dir / "err2");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(train_steps(run), one_to(30));
}

// Every other command that writes files, under a file-size limit its output exceeds: exit 1, one
// "error: cannot write PATH: File too large" line, no temporary file or half-written output left,
// and the same command without the limit then succeeds (nothing left in its way).
TEST(DiskFull, ReportExportLogsAndPrepareFailCleanlyAndSucceedOnceThereIsRoom) {
  if (std::system("command -v prlimit > /dev/null") != 0) GTEST_SKIP() << "prlimit (util-linux) is not installed";
  TempDir dir;
  const fs::path run = dir / "run";
  const auto trained = test::run_entropix("run " + test::smoke_spec_arg() + kSmokeSets + " --set train.checkpoint_every=20 --out " + q(run));
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  {
    std::string corpus;  // 256 KiB of varied bytes: its tokens are far over the limit below
    for (uint32_t i = 0, x = 12345; i < 256 * 1024; ++i) corpus += static_cast<char>('a' + (x = x * 1103515245u + 12345u) % 26);
    std::ofstream(dir / "corpus.txt") << corpus;
  }
  struct Case {
    std::string name, args, limit;  // limit: prlimit --fsize, bytes
    fs::path output;
  };
  const std::vector<Case> cases = {
      {"report", "report " + q(run) + " --out " + q(dir / "report"), "20000", dir / "report"},
      {"export safetensors", "export " + q(run) + " --format safetensors --out " + q(dir / "st"), "20000", dir / "st"},
      {"export hf", "export " + q(run) + " --format hf --out " + q(dir / "hf"), "20000", dir / "hf"},
      {"logs csv", "logs " + q(run) + " --format csv --out " + q(dir / "csv"), "300", dir / "csv"},
      {"logs tensorboard", "logs " + q(run) + " --format tensorboard --out " + q(dir / "tb"), "300", dir / "tb"},
      {"prepare", "prepare " + q(dir / "corpus.txt") + " --out " + q(dir / "data"), "20000", dir / "data"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Result r = shell("prlimit --fsize=" + c.limit + " " + std::string(ENTROPIX_BIN) + " " + c.args, dir / "err");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto err = lines(r.err);
    ASSERT_EQ(err.size(), 1u) << r.err;
    EXPECT_EQ(err[0].rfind("error: cannot write ", 0), 0u) << err[0];
    EXPECT_NE(err[0].find(": File too large"), std::string::npos) << err[0];
    EXPECT_TRUE(temp_files(dir.path()).empty()) << temp_files(dir.path()).front();
    if (fs::exists(c.output)) {
      EXPECT_TRUE(fs::is_empty(c.output)) << "a half-written " << c.output;
    }
    const Result again = shell(std::string(ENTROPIX_BIN) + " " + c.args, dir / "err");
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_FALSE(fs::is_empty(c.output));
  }
}

}  // namespace
}  // namespace entropix
