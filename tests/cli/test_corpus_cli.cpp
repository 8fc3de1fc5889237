// `entropix run` on sharded llm.c corpora named by a glob, with data.sampling documents:
// resuming is exact, and bad shards or a missing end-of-text id are input errors (exit 2).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "support/records.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using test::q;
using test::run_entropix;
using test::TempDir;

using test::le;

// An llm.c shard of documents of random lengths 5..80, each followed by end-of-text 255.
void write_llmc_documents(const fs::path& path, int documents, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string body;
  uint32_t n = 0;
  for (int d = 0; d < documents; ++d) {
    const int len = 5 + static_cast<int>(gen() % 76);
    for (int i = 0; i < len; ++i, ++n) body += le(gen() % 255, 2);
    body += le(255, 2);
    ++n;
  }
  std::string header = le(20240520, 4) + le(1, 4) + le(n, 4);
  header += std::string(1024 - header.size(), '\0');
  std::ofstream(path, std::ios::binary) << header << body;
}

constexpr const char* kCorpusSpec = R"(name: corpus
seed: 3
model: {n_layer: 1, n_head: 2, n_embd: 16, context: 16, vocab_size: 256}
train: {steps: 8, batch_size: 4, lr: 3.0e-3, warmup: 1, eval_every: 4, eval_batches: 2, checkpoint_every: 2}
log: {every: 1, entropy_every: 4}
data:
  source: files
  format: llmc
  sampling: documents
)";

class CorpusCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("ENTROPIX_CACHE");
    had_cache_ = old != nullptr;
    if (had_cache_) old_cache_ = old;
    ::setenv("ENTROPIX_CACHE", (dir_ / "cache").c_str(), 1);
    fs::create_directories(dir_ / "corpus");
    write_llmc_documents(dir_ / "corpus/train_000001.bin", 60, 1);
    write_llmc_documents(dir_ / "corpus/train_000002.bin", 60, 2);
    write_llmc_documents(dir_ / "corpus/val_000000.bin", 30, 3);
    test::write_text(dir_ / "corpus/meta.json", R"({"eot_id": 255})");
    test::write_text(spec_, std::string(kCorpusSpec) + "  train: " + (dir_ / "corpus/train_*.bin").string() +
                                "\n  val: " + (dir_ / "corpus/val_*.bin").string() + "\n");
  }
  void TearDown() override {
    if (had_cache_) ::setenv("ENTROPIX_CACHE", old_cache_.c_str(), 1);
    else ::unsetenv("ENTROPIX_CACHE");
  }
  test::CommandResult run(const std::string& args) { return run_entropix("run " + q(spec_) + " --quiet " + args); }
  std::vector<double> losses(const fs::path& run_dir) {
    std::vector<double> out;
    for (const auto& r : test::run_records(run_dir, "train")) out.push_back(r["loss"].get<double>());
    return out;
  }

  TempDir dir_{"entropix-corpus-cli"};
  fs::path spec_ = dir_ / "corpus.yaml";
  bool had_cache_ = false;
  std::string old_cache_;
};

TEST_F(CorpusCli, DocumentSamplingOnGlobbedLlmcShardsResumesExactly) {
  const auto full = dir_ / "full", split = dir_ / "split";
  const auto a = run("--out " + q(full));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(run("--out " + q(split) + " --stop-after 4").exit_code, 4);
  const auto b = run("--out " + q(split) + " --resume auto");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(losses(full).size(), 8u);
  EXPECT_EQ(losses(full), losses(split));
  // Nothing is written beside the corpus; shards this small get no sidecar either.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "corpus"), fs::directory_iterator()), 4);
  EXPECT_FALSE(fs::exists(dir_ / "cache/token-checks"));
  // Windows sampling draws other batches from the same data.
  const auto w = run("--out " + q(dir_ / "windows") + " --set data.sampling=windows");
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_NE(losses(dir_ / "windows"), losses(full));
}

TEST_F(CorpusCli, MissingEndOfTextIdAndBadShardsAreInputErrors) {
  fs::remove(dir_ / "corpus/meta.json");
  const auto no_eot = run("--out " + q(dir_ / "r1"));
  EXPECT_EQ(no_eot.exit_code, 2) << no_eot.err;
  EXPECT_NE(no_eot.err.find("error: "), std::string::npos) << no_eot.err;
  EXPECT_NE(no_eot.err.find("data.eot_id"), std::string::npos) << no_eot.err;
  EXPECT_FALSE(fs::exists(dir_ / "r1")) << "the run directory is not created for bad input";
  EXPECT_EQ(run("--out " + q(dir_ / "r2") + " --set data.eot_id=255").exit_code, 0);

  // A shard with a wrong version: one error line naming it.
  std::string bytes = test::read_text(dir_ / "corpus/train_000002.bin");
  bytes[4] = 2;
  test::write_text(dir_ / "corpus/train_000002.bin", bytes);
  const auto bad = run("--out " + q(dir_ / "r3") + " --set data.eot_id=255");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("error: " + (dir_ / "corpus/train_000002.bin").string() + ": llm.c shard version is 2"),
            std::string::npos)
      << bad.err;
}

// A first start on a shard too large to scan before training (no sidecar yet): training starts at
// once, the shard is checked beside it, and a token outside the vocabulary found that way stops
// the run with exit 2, one error line naming it, and a summary that says so.
TEST(CorpusDeferredCli, ABadTokenFoundWhileTrainingStopsTheRunWithASummary) {
  TempDir dir;
  test::EnvGuard cache("ENTROPIX_CACHE", (dir / "cache").c_str());
  std::string tokens;
  for (int i = 0; i < 4000; ++i) tokens += le(static_cast<uint64_t>(i % 200), 2);
  test::write_text(dir / "val.bin", tokens);
  // Token 20000000 (byte offset 40 MB, far from the start) is 300; the rest zeros up to 64 MiB.
  test::write_text(dir / "train.bin", tokens);
  fs::resize_file(dir / "train.bin", 64ull << 20);
  {
    std::fstream f(dir / "train.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * 20000000);
    f << le(300, 2);
  }
  test::write_text(dir / "spec.yaml", "name: deferred\nseed: 1\n"
                   "model: {n_layer: 1, n_head: 2, n_embd: 16, context: 16, vocab_size: 256}\n"
                   "train: {steps: 20000, batch_size: 2, eval_every: 20000, eval_batches: 1, checkpoint_every: 0, threads: 1}\n"
                   "log: {every: 1000, entropy_every: 20000}\n"
                   "data: {source: files, format: nanogpt, train: " + (dir / "train.bin").string() +
                   ", val: " + (dir / "val.bin").string() + "}\n");
  const auto r = run_entropix("run " + q(dir / "spec.yaml") + " --out " + q(dir / "run"));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("has no token-check sidecar yet"), std::string::npos) << r.err;
  const std::string error_line = r.err.substr(r.err.find("error: "));
  EXPECT_EQ(std::count(error_line.begin(), error_line.end(), '\n'), 1) << r.err;
  EXPECT_NE(error_line.find((dir / "train.bin").string() + ": token 20000000"), std::string::npos) << r.err;
  EXPECT_NE(error_line.find("is 300"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(dir / "run/summary.json")) << r.err;
  const auto summary = test::summary_of(dir / "run");
  EXPECT_EQ(summary["status"], "failed") << summary.dump();
  EXPECT_NE(summary.dump().find("token 20000000"), std::string::npos) << summary.dump();
  EXPECT_FALSE(fs::exists(dir / "cache/token-checks")) << "no sidecar for a shard that failed its check";
}

}  // namespace
}  // namespace entropix
