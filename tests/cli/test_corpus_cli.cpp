// `entropix run` on sharded llm.c corpora named by a glob, with data.sampling documents:
// resuming is exact, and bad shards or a missing end-of-text id are input errors (exit 2).
#include <gtest/gtest.h>

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

std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

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

constexpr const char* kSpec = R"(name: corpus
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
    test::write_text(spec_, std::string(kSpec) + "  train: " + (dir_ / "corpus/train_*.bin").string() +
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

}  // namespace
}  // namespace entropix
