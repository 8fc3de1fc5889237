// Deterministic batches over a token corpus (see docs/data.md, "The batch sampler and its
// determinism" and "Sampling: windows or documents").
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "entropix/data/document_chunks.h"
#include "entropix/data/token_file.h"

namespace entropix {

// How rows are drawn (data.sampling).
struct Sampling {
  std::string scheme = "windows";  // windows | documents
  int64_t eot_id = -1;             // documents: the end-of-text token id (0..65535)
  // documents: rows of one whole batch, all ranks together (world * batch_size); 0 means
  // batch_size. Sample s = k * rows_per_batch + row walks the epochs' permutations.
  int64_t rows_per_batch = 0;
};

// Deterministic sampler. Batch k is a pure function of (seed, stream, k), so the position k
// is the only state a checkpoint must save, and `stream` keeps train and val (or any other
// consumers) independent. `first_row` shifts the rows drawn to first_row .. first_row +
// batch_size - 1: rank r of a data-parallel job with per-rank batch B uses first_row = r * B,
// so the ranks' shares of batch k together are exactly batch k of a sampler with batch_size
// world * B.
//  - windows: row r's window is drawn by splitmix64 hashing of (seed, stream, k, r), uniform
//    over every window of T + 1 tokens that lies within one shard.
//  - documents: sample s = k * rows_per_batch + r is chunk permute(s mod N) of epoch s / N
//    (N chunks, DocumentChunks), each epoch with its own permutation: every chunk once per
//    epoch.
class BatchSampler {
 public:
  // Throws InputError naming data->path when the data holds fewer than two windows (a single
  // shard: fewer than context + 2 tokens) or, for documents, no chunk or a bad eot_id;
  // std::invalid_argument for a null data pointer, non-positive batch_size / context or an
  // unknown scheme.
  BatchSampler(std::shared_ptr<const TokenData> data, int64_t batch_size, int64_t context, uint64_t seed,
               uint64_t stream, int64_t first_row = 0, const Sampling& sampling = {});

  // x, y: int64 tensors (B, T) on CPU; y is x shifted left by one token.
  std::pair<torch::Tensor, torch::Tensor> batch(uint64_t k) const;
  std::pair<torch::Tensor, torch::Tensor> next();  // batch(position()), then advance

  uint64_t position() const { return position_; }
  void set_position(uint64_t k) { position_ = k; }
  int64_t batch_size() const { return batch_size_; }
  int64_t context() const { return context_; }
  // documents: chunks per epoch (0 for windows).
  uint64_t chunks_per_epoch() const { return chunks_ ? chunks_->count() : 0; }

 private:
  // Where row `row` of batch k starts: shard index and token offset in it.
  ChunkPlace place(uint64_t k, uint64_t row) const;

  std::shared_ptr<const TokenData> data_;
  int64_t batch_size_;
  int64_t context_;
  uint64_t seed_;
  uint64_t stream_;
  uint64_t first_row_;
  uint64_t rows_per_batch_;
  uint64_t position_ = 0;
  std::vector<uint64_t> window_ends_;  // windows: cumulative window counts per shard
  std::shared_ptr<const DocumentChunks> chunks_;  // documents only
};

}  // namespace entropix
