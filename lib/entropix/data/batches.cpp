#include "entropix/data/batches.h"

#include <stdexcept>
#include <string>

#include "entropix/util/error.h"

namespace entropix {

namespace {

// splitmix64 (Steele, Lea, Flood 2014): a cheap bijective mixer with good avalanche,
// so nearby inputs (k, k+1; row, row+1) give unrelated outputs.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Maps a 64-bit hash onto [0, range) by multiply-high (no modulo bias worth noting).
uint64_t scale(uint64_t h, uint64_t range) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * range) >> 64);
}

}  // namespace

BatchSampler::BatchSampler(std::shared_ptr<const TokenData> data, int64_t batch_size, int64_t context,
                           uint64_t seed, uint64_t stream, int64_t first_row)
    : data_(std::move(data)),
      batch_size_(batch_size),
      context_(context),
      seed_(seed),
      stream_(stream),
      first_row_(static_cast<uint64_t>(first_row)) {
  if (!data_) throw std::invalid_argument("BatchSampler: no token data");
  if (first_row < 0) throw std::invalid_argument("BatchSampler: first_row must be >= 0");
  if (batch_size_ <= 0 || context_ <= 0) {
    throw std::invalid_argument("BatchSampler: batch_size and context must be positive, got " +
                                std::to_string(batch_size_) + " and " + std::to_string(context_));
  }
  // T + 2 tokens give at least two distinct windows (a window needs T + 1 tokens for x and y).
  const uint64_t n = data_->tokens.size();
  const uint64_t need = static_cast<uint64_t>(context_) + 2;
  if (n < need) {
    throw InputError(data_->path + ": has " + std::to_string(n) + " tokens but model.context " +
                     std::to_string(context_) + " needs at least T+2 = " + std::to_string(need) +
                     " tokens; lower model.context or use more data");
  }
}

uint64_t BatchSampler::offset(uint64_t k, uint64_t row) const {
  uint64_t h = splitmix64(seed_);
  h = splitmix64(h ^ stream_);
  h = splitmix64(h ^ k);
  h = splitmix64(h ^ row);
  const uint64_t windows = data_->tokens.size() - static_cast<uint64_t>(context_);  // offsets 0 .. n-T-1
  return scale(h, windows);
}

std::pair<torch::Tensor, torch::Tensor> BatchSampler::batch(uint64_t k) const {
  const int64_t B = batch_size_, T = context_;
  torch::Tensor x = torch::empty({B, T}, torch::kInt64);  // (B, T)
  torch::Tensor y = torch::empty({B, T}, torch::kInt64);  // (B, T)
  int64_t* xp = x.data_ptr<int64_t>();
  int64_t* yp = y.data_ptr<int64_t>();
  const uint16_t* tokens = data_->tokens.data();
  for (int64_t r = 0; r < B; ++r) {
    // Widen uint16 -> int64 by hand: LibTorch 1.13 has no uint16 dtype.
    const uint16_t* src = tokens + offset(k, first_row_ + static_cast<uint64_t>(r));
    int64_t* xrow = xp + r * T;
    int64_t* yrow = yp + r * T;
    for (int64_t t = 0; t < T; ++t) {
      xrow[t] = src[t];
      yrow[t] = src[t + 1];
    }
  }
  return {x, y};
}

std::pair<torch::Tensor, torch::Tensor> BatchSampler::next() {
  auto xy = batch(position_);
  ++position_;
  return xy;
}

}  // namespace entropix
