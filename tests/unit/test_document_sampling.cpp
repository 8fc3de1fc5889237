// Unit tests for data.sampling documents: the per-document chunks, one epoch seeing each chunk
// exactly once, determinism, resuming by position, data-parallel rows, and the end-of-text id.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "entropix/data/batches.h"
#include "entropix/data/document_chunks.h"
#include "entropix/data/sampling.h"
#include "entropix/data/token_file.h"
#include "entropix/spec/spec.h"
#include "entropix/util/error.h"
#include "support/test_util.h"

namespace fs = std::filesystem;
using entropix::BatchSampler;
using entropix::Sampling;
using entropix::TokenData;

namespace {

constexpr uint16_t kEot = 0;

// Documents of the given lengths (end-of-text included, as the last token). Every other token
// is unique (1, 2, 3, ...), so a chunk's first token tells where it starts.
std::vector<uint16_t> corpus(const std::vector<int>& lengths) {
  std::vector<uint16_t> out;
  uint16_t next = 1;
  for (int len : lengths) {
    for (int i = 0; i + 1 < len; ++i) out.push_back(next++);
    out.push_back(kEot);
  }
  return out;
}

std::shared_ptr<const TokenData> memory(const std::vector<uint16_t>& tokens) {
  return std::make_shared<const TokenData>(TokenData::in_memory(tokens, 65536, "docs.tok"));
}

Sampling documents(int64_t rows_per_batch = 0) {
  Sampling s;
  s.scheme = "documents";
  s.eot_id = kEot;
  s.rows_per_batch = rows_per_batch;
  return s;
}

// The chunk starts (token offsets) a batch's rows use, read off x's first token.
std::vector<int64_t> starts(const std::vector<uint16_t>& tokens, const torch::Tensor& x) {
  std::map<int64_t, int64_t> where;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] != kEot) where[tokens[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> out;
  for (int64_t r = 0; r < x.size(0); ++r) out.push_back(where.at(x[r][0].item<int64_t>()));
  return out;
}

}  // namespace

TEST(DocumentChunks, ChunksFollowTheDocumentsAndDropTheTail) {
  const int64_t T = 4;
  // Lengths with end-of-text: 5 -> 1 chunk (tokens 0..4); 4 -> 0 chunks (shorter than T+1);
  // 13 -> 3 chunks (0..4, 4..8, 8..12: consecutive chunks share one token); 12 -> 2 chunks and a
  // 3-token tail that is dropped; the last document runs to the end of the data without
  // end-of-text: 6 tokens -> 1 chunk.
  auto tokens = corpus({5, 4, 13, 12});
  for (int i = 0; i < 6; ++i) tokens.push_back(static_cast<uint16_t>(1000 + i));
  const auto data = memory(tokens);
  const entropix::DocumentChunks chunks(*data, kEot, T);
  EXPECT_EQ(chunks.documents(), 5u);
  ASSERT_EQ(chunks.count(), 7u);
  const std::vector<uint64_t> expected = {0, 9, 13, 17, 22, 26, 34};  // document starts 0, 5, 9, 22, 34
  for (uint64_t c = 0; c < chunks.count(); ++c) {
    EXPECT_EQ(chunks.place(c).shard, 0u);
    EXPECT_EQ(chunks.place(c).offset, expected[c]) << c;
  }
  EXPECT_THROW(entropix::DocumentChunks(*memory(corpus({3, 4, 2})), kEot, T), entropix::InputError);
}

TEST(DocumentChunks, PermuteIsABijectionForEverySize) {
  for (uint64_t n : {1ull, 2ull, 3ull, 7ull, 64ull, 100ull, 1000ull, 4097ull}) {
    std::set<uint64_t> seen;
    for (uint64_t p = 0; p < n; ++p) seen.insert(entropix::permute(p, n, 12345));
    EXPECT_EQ(seen.size(), n);
    EXPECT_LT(*seen.rbegin(), n);
  }
  // Not the identity, and the key matters.
  std::vector<uint64_t> a, b;
  for (uint64_t p = 0; p < 1000; ++p) {
    a.push_back(entropix::permute(p, 1000, 1));
    b.push_back(entropix::permute(p, 1000, 2));
  }
  EXPECT_NE(a, b);
  int fixed = 0;
  for (uint64_t p = 0; p < 1000; ++p) fixed += a[p] == p;
  EXPECT_LT(fixed, 20);  // a random permutation of 1000 has about one fixed point
}

TEST(DocumentSampling, EachChunkExactlyOncePerEpochAndTheEpochsDiffer) {
  const int64_t T = 8, B = 5;
  std::vector<int> lengths;
  for (int i = 0; i < 40; ++i) lengths.push_back(3 + (i * 7) % 40);  // 0 to 4 chunks each
  const auto tokens = corpus(lengths);
  const auto data = memory(tokens);
  const BatchSampler sampler(data, B, T, 42, 0, 0, documents());
  const uint64_t n = sampler.chunks_per_epoch();
  ASSERT_GT(n, 30u);
  const entropix::DocumentChunks chunks(*data, kEot, T);
  std::multiset<int64_t> all;
  for (uint64_t c = 0; c < n; ++c) all.insert(static_cast<int64_t>(chunks.place(c).offset));
  // Samples s = k * B + r; epoch e holds samples e*n .. e*n + n - 1.
  std::vector<int64_t> seq;
  for (uint64_t k = 0; seq.size() < 2 * n; ++k) {
    auto [x, y] = sampler.batch(k);
    for (int64_t r = 0; r < B; ++r) {
      for (int64_t t = 0; t + 1 < T; ++t) ASSERT_EQ(y[r][t].item<int64_t>(), x[r][t + 1].item<int64_t>());
    }
    for (int64_t s : starts(tokens, x)) seq.push_back(s);
    // Each row is a chunk: T+1 tokens from its start, no end-of-text before the last target.
    for (int64_t r = 0; r < B; ++r)
      for (int64_t t = 0; t < T; ++t) ASSERT_NE(x[r][t].item<int64_t>(), kEot);
  }
  const std::vector<int64_t> first(seq.begin(), seq.begin() + n), second(seq.begin() + n, seq.begin() + 2 * n);
  EXPECT_EQ(std::multiset<int64_t>(first.begin(), first.end()), all);
  EXPECT_EQ(std::multiset<int64_t>(second.begin(), second.end()), all);
  EXPECT_NE(first, second);  // a fresh order each epoch
}

TEST(DocumentSampling, DeterministicResumableAndSplitOverRanks) {
  const int64_t T = 8;
  std::vector<int> lengths;
  for (int i = 0; i < 60; ++i) lengths.push_back(10 + (i * 13) % 50);
  const auto data = memory(corpus(lengths));
  BatchSampler a(data, 4, T, 7, 0, 0, documents()), b(data, 4, T, 7, 0, 0, documents());
  BatchSampler other_seed(data, 4, T, 8, 0, 0, documents()), other_stream(data, 4, T, 7, 1, 0, documents());
  std::vector<torch::Tensor> run;
  for (int k = 0; k < 10; ++k) run.push_back(a.next().first);
  // Same seed: same batches. Resuming at position 6 (what a checkpoint stores) continues exactly.
  for (int k = 0; k < 10; ++k) EXPECT_TRUE(torch::equal(b.batch(k).first, run[k])) << k;
  BatchSampler resumed(data, 4, T, 7, 0, 0, documents());
  resumed.set_position(6);
  for (int k = 6; k < 10; ++k) EXPECT_TRUE(torch::equal(resumed.next().first, run[k])) << k;
  EXPECT_FALSE(torch::equal(other_seed.batch(0).first, run[0]));
  EXPECT_FALSE(torch::equal(other_stream.batch(0).first, run[0]));
  // Two ranks of 2 rows (rows_per_batch 4) draw exactly the rows of one 4-row batch.
  const BatchSampler rank0(data, 2, T, 7, 0, 0, documents(4)), rank1(data, 2, T, 7, 0, 2, documents(4));
  for (int k = 0; k < 10; ++k) {
    EXPECT_TRUE(torch::equal(rank0.batch(k).first, run[k].narrow(0, 0, 2))) << k;
    EXPECT_TRUE(torch::equal(rank1.batch(k).first, run[k].narrow(0, 2, 2))) << k;
  }
}

TEST(DocumentSampling, EndOfTextIdComesFromTheKeyOrTheCorpusMetaJson) {
  entropix::test::TempDir dir;
  entropix::write_token_file(dir / "train.tok", corpus({20, 30}), 256);
  const auto data = entropix::load_tokens(dir / "train.tok", "entropix", 256, entropix::TokenCheck::scan);
  entropix::ExperimentSpec spec;
  spec.train.batch_size = 3;
  EXPECT_EQ(entropix::sampling_for(spec, data).scheme, "windows");
  spec.data.sampling = "documents";
  try {
    entropix::sampling_for(spec, data);
    ADD_FAILURE() << "expected InputError";
  } catch (const entropix::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("data.eot_id"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find((dir / "meta.json").string()), std::string::npos) << e.what();
  }
  entropix::test::write_text(dir / "meta.json", R"({"vocab_size": 256, "eot_id": 10})");
  const Sampling from_meta = entropix::sampling_for(spec, data, /*world_size=*/2);
  EXPECT_EQ(from_meta.eot_id, 10);
  EXPECT_EQ(from_meta.rows_per_batch, 6);
  spec.data.eot_id = 0;  // the key wins over meta.json
  EXPECT_EQ(entropix::sampling_for(spec, data).eot_id, 0);
  spec.data.eot_id = -1;
  entropix::test::write_text(dir / "meta.json", R"({"eot_id": "x"})");
  EXPECT_THROW(entropix::sampling_for(spec, data), entropix::InputError);
}
