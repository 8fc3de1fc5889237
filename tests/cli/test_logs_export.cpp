// `entropix logs`: a real run exported as CSV and as a TensorBoard event file, read back by outside
// readers (Python's csv module, tbparse) and checked value by value against metrics.jsonl
// (tests/support/check_log_export.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "support/reference_python.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;

// One finished smoke run (with the entropy regulariser, so train records carry ereg_loss, and
// entropy measured on training batches as well as the step-0 validation record) for every test here.
class LogsExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir("entropix-logs");
    const auto r = run_entropix("run " + q(test::source_dir() / "experiments" / "smoke.yaml") +
                                " --set train.steps=20 --set entropy_reg.enabled=true --set log.entropy_split=train"
                                " --set log.entropy_every=10 --quiet --out " + q(run()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path run() { return dir_->path() / "run"; }
  static fs::path out(const std::string& name) { return dir_->path() / name; }
  static test::TempDir* dir_;
};
test::TempDir* LogsExport::dir_ = nullptr;

std::string script() { return (test::source_dir() / "tests" / "support" / "check_log_export.py").string(); }

TEST_F(LogsExport, CsvReadsBackThroughPythonsCsvModule) {
  ENTROPIX_REQUIRE_REFERENCE_PYTHON();
  const auto r = run_entropix("logs " + q(run()) + " --format csv --out " + q(out("csv")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* kind : {"train", "eval", "entropy", "event"}) EXPECT_TRUE(fs::exists(out("csv") / (std::string(kind) + ".csv"))) << kind;
  const auto check = test::run_reference_python(script(), "csv " + q(run()) + " " + q(out("csv")));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  std::cout << check.out;
  // The headwise table is flattened to one column per head.
  const std::string header = test::read_text(out("csv") / "entropy.csv").substr(0, 400);
  EXPECT_NE(header.find("layer1_head1"), std::string::npos) << header;
}

TEST_F(LogsExport, TensorBoardReadsBackThroughTbparse) {
  ENTROPIX_REQUIRE_REFERENCE_PYTHON();
  const auto r = run_entropix("logs " + q(run()) + " --format tensorboard --out " + q(out("tb")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto check = test::run_reference_python(script(), "tensorboard " + q(run()) + " " + q(out("tb")));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  std::cout << check.out;
  // Per-head tags of both splits: the step-0 validation record and the training-batch ones.
  EXPECT_NE(check.out.find("entropy/train/layer1/head1"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("entropy/val/layer1/head1"), std::string::npos) << check.out;
}

TEST_F(LogsExport, RefusesToClobberWithoutOverwrite) {
  const fs::path dest = out("again");
  ASSERT_EQ(run_entropix("logs " + q(run()) + " --format csv --out " + q(dest)).exit_code, 0);
  const std::string before = test::read_text(dest / "train.csv");
  test::write_text(dest / "train.csv", "edited\n");
  const auto again = run_entropix("logs " + q(run()) + " --format csv --out " + q(dest));
  EXPECT_EQ(again.exit_code, 2) << again.out << again.err;
  EXPECT_EQ(again.err.rfind("error: ", 0), 0u) << again.err;
  EXPECT_NE(again.err.find("--overwrite"), std::string::npos) << again.err;
  EXPECT_EQ(test::read_text(dest / "train.csv"), "edited\n");  // untouched

  // --overwrite replaces an earlier export (here a CSV export by a TensorBoard one) ...
  const auto over = run_entropix("logs " + q(run()) + " --format tensorboard --overwrite --out " + q(dest));
  ASSERT_EQ(over.exit_code, 0) << over.err;
  EXPECT_FALSE(fs::exists(dest / "train.csv"));
  int events = 0;
  for (const auto& e : fs::directory_iterator(dest)) events += e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_EQ(events, 1);
  // ... and CSV again over that.
  ASSERT_EQ(run_entropix("logs " + q(run()) + " --format csv --overwrite --out " + q(dest)).exit_code, 0);
  EXPECT_EQ(test::read_text(dest / "train.csv"), before);

  // A directory of other files is never replaced, even with --overwrite.
  const fs::path other = out("other");
  fs::create_directories(other);
  test::write_text(other / "notes.txt", "mine\n");
  const auto refused = run_entropix("logs " + q(run()) + " --format csv --overwrite --out " + q(other));
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_EQ(test::read_text(other / "notes.txt"), "mine\n");

  // No temporary directories are left beside the exports.
  for (const auto& e : fs::directory_iterator(dir_->path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST_F(LogsExport, BadInputExitsTwo) {
  const auto not_run = run_entropix("logs " + q(dir_->path()) + " --format csv --out " + q(out("x")));
  EXPECT_EQ(not_run.exit_code, 2);
  EXPECT_NE(not_run.err.find("no metrics.jsonl"), std::string::npos) << not_run.err;
  EXPECT_EQ(run_entropix("logs " + q(run()) + " --format parquet --out " + q(out("y"))).exit_code, 2);
  EXPECT_FALSE(fs::exists(out("x")));
  EXPECT_FALSE(fs::exists(out("y")));
}

// A run in progress: a half-written last line is left out of the export, not an error.
TEST_F(LogsExport, PartialLastLineIsLeftOut) {
  const fs::path copy = out("partial");
  fs::create_directories(copy);
  const std::string metrics = test::read_text(run() / "metrics.jsonl");
  const size_t whole = std::count(metrics.begin(), metrics.end(), '\n');
  test::write_text(copy / "metrics.jsonl", metrics + "{\"kind\":\"train\",\"step\":21,\"lo");
  const auto r = run_entropix("logs " + q(copy) + " --format csv --out " + q(out("partial-csv")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::to_string(whole) + " records"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_text(out("partial-csv") / "train.csv").find("\n21,"), std::string::npos);
}

}  // namespace
}  // namespace entropix
