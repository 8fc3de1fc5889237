// Unit tests for sharded, memory-mapped corpora: the llm.c and nanoGPT formats (bytes written by
// hand here, not by entropix's writer), directories and globs of shards, the token-check sidecar,
// and a resident set that does not grow with the corpus.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "entropix/data/background_token_check.h"
#include "entropix/data/batches.h"
#include "entropix/data/token_check.h"
#include "entropix/data/token_file.h"
#include "entropix/util/error.h"
#include "support/error_expect.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using entropix::BatchSampler;
using entropix::InputError;
using entropix::TokenCheck;
using entropix::TokenData;
using entropix::test::TempDir;

namespace {

using entropix::test::le;
using entropix::test::le_tokens;

// An llm.c shard as llm.c's writers lay it out: 256 little-endian int32 (magic, version, token
// count, then zeros), then the uint16 tokens.
std::string llmc_bytes(const std::vector<uint16_t>& tokens, uint32_t magic = 20240520, uint32_t version = 1,
                       int64_t count = -1) {
  std::string h = le(magic, 4) + le(version, 4) + le(count < 0 ? tokens.size() : static_cast<uint64_t>(count), 4);
  h += std::string(1024 - h.size(), '\0');
  return h + le_tokens(tokens);
}

using entropix::test::write_raw;

using entropix::test::EnvGuard;

using entropix::test::expect_input_error;

std::vector<uint16_t> random_tokens(size_t n, uint32_t below, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint16_t> out(n);
  for (auto& t : out) t = static_cast<uint16_t>(gen() % below);
  return out;
}

std::shared_ptr<const TokenData> shared(TokenData d) { return std::make_shared<const TokenData>(std::move(d)); }

}  // namespace

// ---- formats ----------------------------------------------------------------------------

TEST(CorpusFormats, LlmcAndNanogptFilesWrittenByHandReadBackTheirTokens) {
  TempDir dir;
  const auto tokens = random_tokens(3000, 50257, 1);
  write_raw(dir / "a.llmc.bin", llmc_bytes(tokens));
  write_raw(dir / "a.bin", le_tokens(tokens));
  const TokenData llmc = entropix::load_tokens(dir / "a.llmc.bin", "llmc", 50304, TokenCheck::scan);
  EXPECT_EQ(llmc.to_vector(), tokens);
  EXPECT_EQ(llmc.vocab_size, 50304u);
  EXPECT_EQ(llmc.shards.at(0).offset, 1024u);
  EXPECT_EQ(entropix::load_tokens(dir / "a.bin", "nanogpt", 50304, TokenCheck::scan).to_vector(), tokens);
}

TEST(CorpusFormats, BadLlmcHeadersNameTheFileWhatWasFoundAndWhatWasExpected) {
  TempDir dir;
  const std::vector<uint16_t> t = {1, 2, 3, 4};
  const fs::path magic = dir / "magic.bin", version = dir / "version.bin", count = dir / "count.bin",
                 zero = dir / "zero.bin", shrt = dir / "short.bin", big = dir / "big.bin";
  write_raw(magic, llmc_bytes(t, 20240521));
  write_raw(version, llmc_bytes(t, 20240520, 2));
  write_raw(count, llmc_bytes(t, 20240520, 1, 5));
  write_raw(zero, llmc_bytes(t, 20240520, 1, 0));
  write_raw(shrt, llmc_bytes(t).substr(0, 100));
  write_raw(big, llmc_bytes({1, 2, 60000}));
  auto load = [](const fs::path& p) { entropix::load_tokens(p, "llmc", 50304, TokenCheck::scan); };
  expect_input_error([&] { load(magic); }, {magic.string(), "magic", "20240520", "found 20240521"});
  expect_input_error([&] { load(version); }, {version.string(), "version is 2", "expected 1"});
  expect_input_error([&] { load(count); }, {count.string(), "5 tokens", "should be 1034 bytes", "is 1032 bytes"});
  expect_input_error([&] { load(zero); }, {zero.string(), "token count", "is 0"});
  expect_input_error([&] { load(shrt); }, {shrt.string(), "100 bytes", "1024-byte", "truncated"});
  expect_input_error([&] { load(big); }, {big.string(), "token 2 (byte offset 1028) is 60000", "at least 60001"});
  // An entropix file read as llmc is told apart, and the other way round.
  entropix::write_token_file(dir / "e.tok", t, 256);
  expect_input_error([&] { load(dir / "e.tok"); }, {"bad llm.c magic", "format \"entropix\""});
  expect_input_error([&] { entropix::load_tokens(magic, "entropix", 256); }, {"bad magic", "\"llmc\""});
  expect_input_error([&] { entropix::load_tokens(magic, "parquet", 256); }, {"\"entropix\"", "\"nanogpt\"", "\"llmc\""});
}

// ---- shards: files, directories, globs -------------------------------------------------

TEST(CorpusShards, DirectoriesAndGlobsAreReadInSortedOrder) {
  TempDir dir;
  // Written out of order; the names sort as b_00 < b_01 < b_10.
  write_raw(dir / "d/b_10.bin", le_tokens({10, 10}));
  write_raw(dir / "d/b_00.bin", le_tokens({0, 0}));
  write_raw(dir / "d/b_01.bin", le_tokens({1, 1}));
  write_raw(dir / "d/.hidden.bin", le_tokens({9, 9}));  // skipped: hidden
  write_raw(dir / "d/notes.txt", "x");                   // skipped: not *.bin
  write_raw(dir / "d/sub/b_02.bin", le_tokens({2, 2}));  // skipped: not directly inside
  const std::vector<uint16_t> expected = {0, 0, 1, 1, 10, 10};
  const TokenData from_dir = entropix::load_tokens(dir / "d", "nanogpt", 256, TokenCheck::scan);
  EXPECT_EQ(from_dir.to_vector(), expected);
  ASSERT_EQ(from_dir.shards.size(), 3u);
  EXPECT_EQ(from_dir.shards[2].path, (dir / "d/b_10.bin").string());
  EXPECT_EQ(entropix::load_tokens((dir / "d/b_*.bin").string(), "nanogpt", 256, TokenCheck::scan).to_vector(), expected);
  EXPECT_EQ(entropix::load_tokens((dir / "d/b_0?.bin").string(), "nanogpt", 256, TokenCheck::scan).to_vector(),
            (std::vector<uint16_t>{0, 0, 1, 1}));
  expect_input_error([&] { entropix::load_tokens((dir / "d/c_*.bin").string(), "nanogpt", 256); },
                     {"c_*.bin", "no file matches"});
  expect_input_error([&] { entropix::load_tokens(dir / "d", "entropix", 256); }, {"no .tok file"});
}

TEST(CorpusShards, WindowsStayWithinOneShardAndCoverEveryShard) {
  TempDir dir;
  // Shard s holds tokens 1000*s + i, so a window's tokens show which shard it came from and
  // that it is contiguous.
  for (int s = 0; s < 3; ++s) {
    std::vector<uint16_t> t;
    for (int i = 0; i < 40 + 20 * s; ++i) t.push_back(static_cast<uint16_t>(1000 * s + i));
    write_raw(dir / ("s" + std::to_string(s) + ".bin"), le_tokens(t));
  }
  auto data = shared(entropix::load_tokens(dir.path(), "nanogpt", 4000, TokenCheck::scan));
  const int64_t T = 16;
  BatchSampler sampler(data, 8, T, 3, 0);
  std::set<int> seen_shards;
  for (uint64_t k = 0; k < 40; ++k) {
    auto [x, y] = sampler.batch(k);
    for (int64_t r = 0; r < 8; ++r) {
      const int64_t first = x[r][0].item<int64_t>();
      seen_shards.insert(static_cast<int>(first / 1000));
      for (int64_t t = 0; t < T; ++t) {
        ASSERT_EQ(x[r][t].item<int64_t>(), first + t);
        ASSERT_EQ(y[r][t].item<int64_t>(), first + t + 1);  // the target is still in the same shard
      }
    }
  }
  EXPECT_EQ(seen_shards, (std::set<int>{0, 1, 2}));
  // Shards too short for a window contribute none; too few windows in all is an input error.
  write_raw(dir / "tiny/a.bin", le_tokens({1, 2, 3}));
  write_raw(dir / "tiny/b.bin", le_tokens({1, 2, 3}));
  auto tiny = shared(entropix::load_tokens(dir / "tiny", "nanogpt", 256, TokenCheck::scan));
  expect_input_error([&] { BatchSampler(tiny, 2, 3, 0, 0); }, {"6 tokens in 2 shards", "within one shard"});
}

TEST(CorpusShards, MappedBatchesEqualTheInMemoryReadersForTheSameSeed) {
  TempDir dir;
  const auto tokens = random_tokens(5000, 256, 7);
  entropix::write_token_file(dir / "a.tok", tokens, 256);
  write_raw(dir / "a.bin", le_tokens(tokens));
  write_raw(dir / "a.llmc", llmc_bytes(tokens));
  const auto memory = shared(TokenData::in_memory(tokens, 256, "memory"));
  const BatchSampler reference(memory, 4, 32, 42, 0);
  for (const auto& [file, format] : std::vector<std::pair<std::string, std::string>>{
           {"a.tok", "entropix"}, {"a.bin", "nanogpt"}, {"a.llmc", "llmc"}}) {
    const BatchSampler mapped(shared(entropix::load_tokens(dir / file, format, 256, TokenCheck::scan)), 4, 32, 42, 0);
    for (uint64_t k : {0ull, 1ull, 99ull}) {
      EXPECT_TRUE(torch::equal(mapped.batch(k).first, reference.batch(k).first)) << format << " " << k;
      EXPECT_TRUE(torch::equal(mapped.batch(k).second, reference.batch(k).second)) << format << " " << k;
    }
  }
}

// ---- the token-check sidecar -----------------------------------------------------------

TEST(CorpusSidecar, MissThenHitThenStaleAfterAChange) {
  TempDir dir, cache;
  EnvGuard env("ENTROPIX_CACHE", cache.path().c_str());
  const fs::path shard = dir / "a.bin";
  auto tokens = random_tokens(4000, 200, 3);
  // Real tokens, then zeros up to the size that gets a sidecar (sparse: no disk space).
  auto write_shard = [&] {
    write_raw(shard, le_tokens(tokens));
    fs::resize_file(shard, entropix::kSidecarMinBytes);
  };
  write_shard();
  auto check = [&](bool* hit) {
    entropix::MappedFile file(shard);
    return entropix::max_token(shard, "nanogpt", file, 0, file.size() / 2, TokenCheck::cached, hit);
  };
  bool hit = true;
  const uint16_t max = check(&hit);
  EXPECT_FALSE(hit);  // miss: scanned, sidecar written
  const fs::path sidecar = entropix::sidecar_path(shard, "nanogpt");
  ASSERT_TRUE(fs::exists(sidecar));
  EXPECT_EQ(sidecar.parent_path(), cache.path() / "token-checks");
  EXPECT_EQ(check(&hit), max);
  EXPECT_TRUE(hit);  // hit
  // The sidecar really answers: doctor it to claim a bound the file breaks, keeping its key.
  std::string text = entropix::test::read_text(sidecar);
  const std::string needle = "\"max_token\": " + std::to_string(max);
  ASSERT_NE(text.find(needle), std::string::npos) << text;
  text.replace(text.find(needle), needle.size(), "\"max_token\": 7");
  entropix::test::write_text(sidecar, text);
  EXPECT_EQ(check(&hit), 7);
  EXPECT_TRUE(hit);
  // Same size, new content (a token in the first MiB): stale whatever the mtime says.
  const auto mtime = fs::last_write_time(shard);
  tokens[10] = 250;
  write_shard();
  fs::last_write_time(shard, mtime);
  EXPECT_EQ(check(&hit), 250);
  EXPECT_FALSE(hit);
  EXPECT_EQ(check(&hit), 250);
  EXPECT_TRUE(hit);
  // Only the modification time changes: stale too.
  fs::last_write_time(shard, mtime + std::chrono::seconds(5));
  EXPECT_EQ(check(&hit), 250);
  EXPECT_FALSE(hit);
  // load_tokens goes through the sidecar and still refuses the out-of-vocabulary token.
  expect_input_error([&] { entropix::load_tokens(shard, "nanogpt", 250); }, {"token 10", "is 250", "at least 251"});
  // A small shard is scanned every time and gets no sidecar.
  write_raw(dir / "small.bin", le_tokens(tokens));
  entropix::MappedFile small(dir / "small.bin");
  EXPECT_EQ(entropix::max_token(dir / "small.bin", "nanogpt", small, 0, small.size() / 2, TokenCheck::cached, &hit), 250);
  EXPECT_FALSE(hit);
  EXPECT_FALSE(fs::exists(entropix::sidecar_path(dir / "small.bin", "nanogpt")));
  // No temporary file is left in the cache.
  for (const auto& e : fs::directory_iterator(cache.path() / "token-checks"))
    EXPECT_EQ(e.path().extension(), ".json") << e.path();
}

TEST(CorpusSidecar, AnUnwritableCacheStillLoadsTheCorpus) {
  TempDir dir;
  write_raw(dir / "a.bin", le_tokens({1, 2, 3, 4}));
  fs::resize_file(dir / "a.bin", entropix::kSidecarMinBytes);  // large enough for a sidecar
  write_raw(dir / "file", "not a directory");
  // A cache "directory" below a regular file cannot be created, even by root.
  EnvGuard env("ENTROPIX_CACHE", (dir / "file/cache").c_str());
  const TokenData data = entropix::load_tokens(dir / "a.bin", "nanogpt", 256);
  EXPECT_EQ(data.size(), entropix::kSidecarMinBytes / 2);
  EXPECT_EQ(data.shards[0].at(3), 4);
  EXPECT_FALSE(fs::exists(dir / "file/cache"));
}

// ---- the deferred check: training starts before a large shard is scanned ----------------

TEST(CorpusDeferredCheck, ALargeShardWithoutSidecarIsCheckedInTheBackgroundAndRemembered) {
  TempDir dir, cache;
  EnvGuard env("ENTROPIX_CACHE", cache.path().c_str());
  const fs::path shard = dir / "a.bin";
  write_raw(shard, le_tokens(random_tokens(4000, 200, 5)));
  fs::resize_file(shard, entropix::kSidecarMinBytes);
  write_raw(dir / "small.bin", le_tokens(random_tokens(4000, 200, 6)));

  auto big = std::make_shared<const TokenData>(entropix::load_tokens(shard, "nanogpt", 256, TokenCheck::deferred));
  EXPECT_FALSE(big->shards[0].checked);  // nothing scanned yet
  EXPECT_FALSE(fs::exists(entropix::sidecar_path(shard, "nanogpt")));
  auto small = std::make_shared<const TokenData>(
      entropix::load_tokens(dir / "small.bin", "nanogpt", 256, TokenCheck::deferred));
  EXPECT_TRUE(small->shards[0].checked);  // below kSidecarMinBytes: scanned at once as before
  {
    entropix::BackgroundTokenCheck check({big, small});
    check.wait();
    EXPECT_EQ(check.failure(), "");
  }
  // The background scan wrote the sidecar, so the next start has its answer at once.
  EXPECT_TRUE(fs::exists(entropix::sidecar_path(shard, "nanogpt")));
  const TokenData again = entropix::load_tokens(shard, "nanogpt", 256, TokenCheck::deferred);
  EXPECT_TRUE(again.shards[0].checked);
  // A scan asked to stop (the run ended first) reads no further block: its partial maximum is
  // not an answer, which is why BackgroundTokenCheck then writes no sidecar.
  entropix::MappedFile file(shard);
  const std::atomic<bool> stop{true};
  EXPECT_EQ(entropix::scan_max_token(file, 0, file.size() / 2, &stop), 0);
  EXPECT_GT(entropix::scan_max_token(file, 0, file.size() / 2), 0);
}

TEST(CorpusDeferredCheck, ABadTokenIsReportedByTheScanAndByTheBatchThatReadsIt) {
  TempDir dir, cache;
  EnvGuard env("ENTROPIX_CACHE", cache.path().c_str());
  const fs::path shard = dir / "a.bin";
  auto tokens = random_tokens(4000, 200, 7);
  tokens[1234] = 300;  // outside a 256-token vocabulary
  write_raw(shard, le_tokens(tokens));
  fs::resize_file(shard, entropix::kSidecarMinBytes);
  // Checked at load: refused at once.
  expect_input_error([&] { entropix::load_tokens(shard, "nanogpt", 256, TokenCheck::cached); },
                     {"token 1234", "is 300"});
  // Deferred: loads, and the background scan names the same token; no sidecar is written.
  TempDir cache2;
  EnvGuard env2("ENTROPIX_CACHE", cache2.path().c_str());
  auto data = std::make_shared<const TokenData>(entropix::load_tokens(shard, "nanogpt", 256, TokenCheck::deferred));
  ASSERT_FALSE(data->shards[0].checked);
  entropix::BackgroundTokenCheck check({data});
  check.wait();
  const std::string failure = check.failure();
  EXPECT_NE(failure.find(shard.string() + ": token 1234"), std::string::npos) << failure;
  EXPECT_NE(failure.find("is 300"), std::string::npos) << failure;
  EXPECT_FALSE(fs::exists(entropix::sidecar_path(shard, "nanogpt")));
  // A batch whose window covers the token refuses it before it reaches a model: windows of the
  // first 1300 tokens only (a 1300-token shard of the same bytes) make every batch cover it.
  TokenData head;
  head.path = shard.string();
  head.vocab_size = 256;
  head.shards = data->shards;
  head.shards[0].size = 1300;
  BatchSampler sampler(std::make_shared<const TokenData>(head), 4, 1200, 1, 0);
  expect_input_error([&] { sampler.batch(0); }, {shard.string() + ": token 1234", "is 300", "not below the vocabulary bound 256"});
}

// ---- resident set ----------------------------------------------------------------------

// Run in a child process by the test below (skipped otherwise): loads the corpus named by
// ENTROPIX_RSS_CORPUS (nanogpt format, scanning every token; through the sidecar cache when
// ENTROPIX_RSS_CACHED is set), draws batches, and prints its peak resident set (VmHWM) in kB.
TEST(CorpusRssChild, LoadSampleAndReportPeakRss) {
  const char* corpus = std::getenv("ENTROPIX_RSS_CORPUS");
  if (!corpus) GTEST_SKIP() << "run by CorpusRss.PeakDoesNotGrowWithCorpusSize";
  const TokenCheck check = std::getenv("ENTROPIX_RSS_CACHED") ? TokenCheck::cached : TokenCheck::scan;
  auto data = shared(entropix::load_tokens(corpus, "nanogpt", 65536, check));
  BatchSampler sampler(data, 16, 256, 1, 0);
  for (int k = 0; k < 200; ++k) sampler.next();
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) std::printf("PEAK_KB %s\n", line.substr(6).c_str());
    if (line.rfind("Rss", 0) == 0) std::printf("%s\n", line.c_str());  // for a failing test's message
  }
}

namespace {

// Peak RSS (kB) of a child test process that loads and samples `corpus`.
long child_peak_kb(const fs::path& corpus) {
  const std::string cmd = "ENTROPIX_RSS_CORPUS=" + entropix::test::q(corpus) + " " +
                          entropix::test::q(fs::read_symlink("/proc/self/exe")) +
                          " --gtest_filter=CorpusRssChild.LoadSampleAndReportPeakRss 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  const int rc = ::pclose(pipe);
  std::printf("child %s:\n%s", corpus.filename().c_str(), out.substr(out.find("PEAK_KB")).c_str());
  const auto at = out.find("PEAK_KB");
  if (rc != 0 || at == std::string::npos) {
    ADD_FAILURE() << "child failed (" << rc << "): " << out;
    return -1;
  }
  return std::stol(out.substr(at + 7));
}

}  // namespace

TEST(CorpusRss, PeakDoesNotGrowWithCorpusSize) {
  TempDir dir;
  // 10 MB of real tokens, and a 1 GiB sparse file (zeros, except real tokens at the start) that
  // costs no disk space. Both are scanned in full by the token check.
  const auto tokens = random_tokens(5'000'000, 50000, 5);
  write_raw(dir / "small.bin", le_tokens(tokens));
  write_raw(dir / "large.bin", le_tokens(tokens));
  fs::resize_file(dir / "large.bin", 1ull << 30);
  const long small = child_peak_kb(dir / "small.bin");
  const long large = child_peak_kb(dir / "large.bin");
  ASSERT_GT(small, 0);
  ASSERT_GT(large, 0);
  // Copied into RAM the large corpus would add 1 GiB (1048576 kB). Mapped, the scan holds one
  // 16 MiB block at a time and sampling a few 257-token windows, so the difference must stay
  // below 64 MiB, a sixteenth of the corpus growth.
  EXPECT_LT(large - small, 64 * 1024) << "small " << small << " kB, large " << large << " kB";
}
