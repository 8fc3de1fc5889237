#include "entropix/data/batches.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "entropix/util/error.h"
#include "entropix/util/mix.h"

namespace entropix {

namespace {

// Maps a 64-bit hash onto [0, range) by multiply-high (no modulo bias worth noting).
uint64_t scale(uint64_t h, uint64_t range) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * range) >> 64);
}

// Every window a batch reads is checked against its shard's bound, so a shard whose full check is
// still running in the background (TokenCheck::deferred) never feeds the embedding an index
// outside it. T + 1 comparisons per row: nothing next to the step.
void check_window(const TokenShard& shard, uint64_t first, const std::vector<uint16_t>& window) {
  if (shard.bound == 0 || *std::max_element(window.begin(), window.end()) < shard.bound) return;
  const auto bad = std::find_if(window.begin(), window.end(), [&](uint16_t t) { return t >= shard.bound; });
  throw InputError(shard.path + ": token " + std::to_string(first + static_cast<uint64_t>(bad - window.begin())) +
                   " is " + std::to_string(*bad) + ", not below the vocabulary bound " + std::to_string(shard.bound) +
                   " (met in a batch; the file is corrupt or model.vocab_size is too small)");
}

}  // namespace

BatchSampler::BatchSampler(std::shared_ptr<const TokenData> data, int64_t batch_size, int64_t context,
                           uint64_t seed, uint64_t stream, int64_t first_row, const Sampling& sampling)
    : data_(std::move(data)),
      batch_size_(batch_size),
      context_(context),
      seed_(seed),
      stream_(stream),
      first_row_(static_cast<uint64_t>(first_row)),
      rows_per_batch_(static_cast<uint64_t>(sampling.rows_per_batch > 0 ? sampling.rows_per_batch : batch_size)) {
  if (!data_) throw std::invalid_argument("BatchSampler: no token data");
  if (first_row < 0) throw std::invalid_argument("BatchSampler: first_row must be >= 0");
  if (batch_size_ <= 0 || context_ <= 0) {
    throw std::invalid_argument("BatchSampler: batch_size and context must be positive, got " +
                                std::to_string(batch_size_) + " and " + std::to_string(context_));
  }
  if (sampling.scheme != "windows" && sampling.scheme != "documents")
    throw std::invalid_argument("BatchSampler: unknown sampling scheme '" + sampling.scheme + "'");
  // A window needs T + 1 tokens (x and y) and stays within its shard: a shard of n tokens has
  // n - T windows. Two windows at least (one shard: T + 2 tokens), so batches can differ.
  const auto T = static_cast<uint64_t>(context_);
  uint64_t windows = 0;
  for (const auto& s : data_->shards) {
    windows += s.size > T ? s.size - T : 0;
    window_ends_.push_back(windows);
  }
  if (windows < 2) {
    const uint64_t n = data_->size(), need = T + 2;
    const std::string shards =
        data_->shards.size() == 1 ? "" : " in " + std::to_string(data_->shards.size()) + " shards (a window of T+1 tokens stays within one shard)";
    throw InputError(data_->path + ": has " + std::to_string(n) + " tokens" + shards + " but model.context " +
                     std::to_string(context_) + " needs at least T+2 = " + std::to_string(need) +
                     " tokens; lower model.context or use more data");
  }
  if (sampling.scheme == "documents") {
    if (sampling.eot_id < 0 || sampling.eot_id > 65535)
      throw InputError(data_->path + ": data.sampling documents needs the end-of-text token id, 0..65535, got " +
                       std::to_string(sampling.eot_id) + "; set data.eot_id (50256 for GPT-2 BPE)");
    chunks_ = std::make_shared<const DocumentChunks>(*data_, static_cast<uint16_t>(sampling.eot_id), context_);
  }
}

ChunkPlace BatchSampler::place(uint64_t k, uint64_t row) const {
  if (chunks_) {
    const uint64_t n = chunks_->count();
    const uint64_t s = k * rows_per_batch_ + row;  // the sample's index in the endless sequence of epochs
    uint64_t key = splitmix64(seed_);
    key = splitmix64(key ^ stream_);
    key = splitmix64(key ^ (s / n));  // the epoch
    return chunks_->place(permute(s % n, n, key));
  }
  uint64_t h = splitmix64(seed_);
  h = splitmix64(h ^ stream_);
  h = splitmix64(h ^ k);
  h = splitmix64(h ^ row);
  const uint64_t w = scale(h, window_ends_.back());
  // The shard holding window w; one shard: offset w, the single-file reader's offsets.
  const auto it = std::upper_bound(window_ends_.begin(), window_ends_.end(), w);
  const auto shard = static_cast<uint32_t>(it - window_ends_.begin());
  return {shard, w - (shard == 0 ? 0 : window_ends_[shard - 1])};
}

std::pair<torch::Tensor, torch::Tensor> BatchSampler::batch(uint64_t k) const {
  const int64_t B = batch_size_, T = context_;
  torch::Tensor x = torch::empty({B, T}, torch::kInt64);  // (B, T)
  torch::Tensor y = torch::empty({B, T}, torch::kInt64);  // (B, T)
  int64_t* xp = x.data_ptr<int64_t>();
  int64_t* yp = y.data_ptr<int64_t>();
  std::vector<uint16_t> window(static_cast<size_t>(T + 1));
  for (int64_t r = 0; r < B; ++r) {
    const ChunkPlace at = place(k, first_row_ + static_cast<uint64_t>(r));
    const TokenShard& shard = data_->shards[at.shard];
    shard.copy(at.offset, window.size(), window.data());
    check_window(shard, at.offset, window);
    // Hand the window's pages back: over a long run the resident set would otherwise
    // accumulate every page ever sampled (the page cache keeps them either way).
    shard.release(at.offset, window.size());
    // Widen uint16 -> int64 by hand: LibTorch 1.13 has no uint16 dtype.
    int64_t* xrow = xp + r * T;
    int64_t* yrow = yp + r * T;
    for (int64_t t = 0; t < T; ++t) {
      xrow[t] = window[t];
      yrow[t] = window[t + 1];
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
