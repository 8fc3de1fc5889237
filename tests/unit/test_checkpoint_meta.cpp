// Checkpoint meta sidecars (choosing a checkpoint never opens an archive) and checkpoint writes
// that hit a file-size limit (a real write error in a real child process, no LibTorch abort).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "entropix/model/gpt.h"
#include "entropix/train/checkpoint.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

GPT tiny_gpt() {
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 16;
  m.context = 8;
  m.vocab_size = 32;
  torch::manual_seed(3);
  return GPT(m);
}

CheckpointMeta sidecar_meta_at(int64_t step) {
  CheckpointMeta m;
  m.step = step;
  m.sampler_position = 7 * static_cast<uint64_t>(step);
  m.spec_yaml = "name: sidecar\nseed: 5\n";
  m.entropix_version = "9.8.7";
  m.libtorch_version = "1.2.3";
  m.world_size = 2;
  return m;
}

void expect_same(const CheckpointMeta& a, const CheckpointMeta& b) {
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.sampler_position, b.sampler_position);
  EXPECT_EQ(a.spec_yaml, b.spec_yaml);
  EXPECT_EQ(a.entropix_version, b.entropix_version);
  EXPECT_EQ(a.libtorch_version, b.libtorch_version);
  EXPECT_EQ(a.world_size, b.world_size);
}

TEST(CheckpointSidecar, HoldsTheMetaAndTheArchiveSize) {
  TempDir dir;
  GPT model = tiny_gpt();
  const fs::path file = save_checkpoint(dir.path(), sidecar_meta_at(12), *model, nullptr);
  ASSERT_TRUE(fs::exists(meta_sidecar_of(file)));
  EXPECT_EQ(meta_sidecar_of(file).filename(), "step-00000012.ckpt.meta.json");
  const auto j = nlohmann::json::parse(test::read_text(meta_sidecar_of(file)));
  EXPECT_EQ(j["step"], 12);
  EXPECT_EQ(j["sampler_position"], 84);
  EXPECT_EQ(j["world_size"], 2);
  EXPECT_EQ(j["spec_yaml"], "name: sidecar\nseed: 5\n");
  EXPECT_EQ(j["archive_bytes"].get<uint64_t>(), fs::file_size(file));
  expect_same(read_checkpoint_meta(file), sidecar_meta_at(12));
}

// The archive is overwritten with zeros of the same size: reading the meta still works (so it never
// looked inside the archive), while loading the weights reports the damage.
TEST(CheckpointSidecar, ReadingTheMetaNeverOpensTheArchive) {
  TempDir dir;
  GPT model = tiny_gpt();
  const fs::path file = save_checkpoint(dir.path(), sidecar_meta_at(4), *model, nullptr);
  test::write_text(file, std::string(fs::file_size(file), '\0'));
  expect_same(read_checkpoint_meta(file), sidecar_meta_at(4));
  EXPECT_THROW(load_checkpoint(file, *model, nullptr), InputError);
}

TEST(CheckpointSidecar, AnArchiveOfAnotherSizeIsReportedWithoutLoadingIt) {
  TempDir dir;
  GPT model = tiny_gpt();
  const fs::path file = save_checkpoint(dir.path(), sidecar_meta_at(4), *model, nullptr);
  test::write_text(file, test::read_text(file).substr(0, 100));
  try {
    read_checkpoint_meta(file);
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("100 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  }
}

// Checkpoints from before sidecars: the archive is read once instead (the documented fallback).
TEST(CheckpointSidecar, CheckpointsWithoutOneFallBackToTheArchive) {
  TempDir dir;
  GPT model = tiny_gpt();
  const fs::path file = save_checkpoint(dir.path(), sidecar_meta_at(9), *model, nullptr);
  fs::remove(meta_sidecar_of(file));
  expect_same(read_checkpoint_meta(file), sidecar_meta_at(9));
}

TEST(CheckpointSidecar, ADamagedSidecarIsAnInputErrorNamingIt) {
  TempDir dir;
  GPT model = tiny_gpt();
  const fs::path file = save_checkpoint(dir.path(), sidecar_meta_at(9), *model, nullptr);
  test::write_text(meta_sidecar_of(file), "{\"format\": 1, \"step\": ");
  try {
    read_checkpoint_meta(file);
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(meta_sidecar_of(file).string()), std::string::npos) << e.what();
  }
  test::write_text(meta_sidecar_of(file), "{\"format\": 1, \"step\": \"nine\"}");
  EXPECT_THROW(read_checkpoint_meta(file), InputError);
}

TEST(CheckpointSidecar, PruningRemovesSidecarsWithTheirCheckpoints) {
  TempDir dir;
  GPT model = tiny_gpt();
  for (int64_t step : {1, 2, 3}) save_checkpoint(dir.path(), sidecar_meta_at(step), *model, nullptr);
  test::write_text(dir / "step-00000000.ckpt.meta.json", "{}");  // a sidecar whose archive is gone
  prune_checkpoints(dir.path(), 1);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path())) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"step-00000003.ckpt", "step-00000003.ckpt.done",
                                            "step-00000003.ckpt.meta.json"}));
}

// In a child process limited to 20000-byte files (RLIMIT_FSIZE; SIGXFSZ ignored, as entropix's
// main does), a checkpoint of a model whose archive is larger fails with one "cannot write" line,
// leaves nothing in the directory, and the process carries on (LibTorch's own file writer would
// throw from a destructor and abort). The parent checks the child's report.
TEST(CheckpointWriteErrors, AFileSizeLimitIsOneErrorAndLeavesNothing) {
  TempDir dir;
  GPT model = tiny_gpt();
  const fs::path ckpts = dir / "checkpoints";
  fs::create_directories(ckpts);
  const fs::path report = dir / "report.txt";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {20000, 20000};
    setrlimit(RLIMIT_FSIZE, &limit);
    std::string what = "no error";
    try {
      save_checkpoint(ckpts, sidecar_meta_at(1), *model, nullptr);
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    FILE* f = std::fopen(report.c_str(), "w");
    if (f) {
      std::fputs(what.c_str(), f);
      std::fclose(f);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string what = test::read_text(report);
  EXPECT_EQ(what, "cannot write " + (ckpts / "step-00000001.ckpt").string() + ": File too large");
  EXPECT_TRUE(fs::is_empty(ckpts));
  // Without the limit the same save works (the model's archive is what did not fit).
  save_checkpoint(ckpts, sidecar_meta_at(1), *model, nullptr);
  EXPECT_GT(fs::file_size(ckpts / "step-00000001.ckpt"), 20000u);
}

TEST(StaleTempFiles, ThoseOfDeadProcessesAndThisOneGoThoseOfLiveOnesStay) {
  TempDir dir;
  // A pid with no process: a child that has exited and been reaped.
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string d = std::to_string(dead), me = std::to_string(::getpid()), parent = std::to_string(::getppid());
  for (const std::string& name : std::vector<std::string>{"summary.json.tmp." + d, "metrics.jsonl.tmp." + me,
                                                          "spec.yaml.tmp." + parent, "notes.tmp.txt", "summary.json"})
    test::write_text(dir / name, "x");
  const auto removed = remove_stale_temp_files(dir.path());
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(fs::exists(dir / ("summary.json.tmp." + d)));
  EXPECT_FALSE(fs::exists(dir / ("metrics.jsonl.tmp." + me)));
  EXPECT_TRUE(fs::exists(dir / ("spec.yaml.tmp." + parent)));  // a live process may still be writing it
  EXPECT_TRUE(fs::exists(dir / "notes.tmp.txt"));
  EXPECT_TRUE(fs::exists(dir / "summary.json"));
  EXPECT_TRUE(remove_stale_temp_files(dir / "missing").empty());
}

}  // namespace
}  // namespace entropix
