// Deterministic random-window batches over a token stream (see docs/data.md).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "entropix/data/token_file.h"

namespace entropix {

// Deterministic random-window sampler. Batch k is a pure function of (seed, stream, k):
// row r's window offset is drawn by splitmix64 hashing of (seed, stream, k, r), uniform in
// [0, n_tokens - context - 1]. So the position k is the only state a checkpoint must save,
// and `stream` keeps train and val (or any other consumers) independent.
// `first_row` shifts the rows drawn to first_row .. first_row + batch_size - 1: rank r of a
// data-parallel job with per-rank batch B uses first_row = r * B, so the ranks' shares of batch k
// together are exactly batch k of a sampler with batch_size world * B.
class BatchSampler {
 public:
  // Throws InputError naming data->path when the data has fewer than context + 2 tokens;
  // std::invalid_argument for a null data pointer or non-positive batch_size / context.
  BatchSampler(std::shared_ptr<const TokenData> data, int64_t batch_size, int64_t context, uint64_t seed,
               uint64_t stream, int64_t first_row = 0);

  // x, y: int64 tensors (B, T) on CPU; y is x shifted left by one token.
  std::pair<torch::Tensor, torch::Tensor> batch(uint64_t k) const;
  std::pair<torch::Tensor, torch::Tensor> next();  // batch(position()), then advance

  uint64_t position() const { return position_; }
  void set_position(uint64_t k) { position_ = k; }
  int64_t batch_size() const { return batch_size_; }
  int64_t context() const { return context_; }

 private:
  uint64_t offset(uint64_t k, uint64_t row) const;

  std::shared_ptr<const TokenData> data_;
  int64_t batch_size_;
  int64_t context_;
  uint64_t seed_;
  uint64_t stream_;
  uint64_t first_row_;
  uint64_t position_ = 0;
};

}  // namespace entropix
