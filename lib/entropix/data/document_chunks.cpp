#include "entropix/data/document_chunks.h"

#include <algorithm>
#include <string>

#include "entropix/util/error.h"
#include "entropix/util/mix.h"

namespace entropix {

namespace {

constexpr uint64_t kBlockTokens = 1ull << 23;  // 16 MiB scanned between releases

}  // namespace

DocumentChunks::DocumentChunks(const TokenData& data, uint16_t eot_id, int64_t context) : context_(context) {
  const auto T = static_cast<uint64_t>(context);
  auto add = [&](uint32_t shard, uint64_t start, uint64_t length) {
    ++docs_;
    const uint64_t chunks = (length - 1) / T;
    if (chunks == 0) return;
    first_chunk_.push_back(total_);
    start_.push_back(start);
    shard_.push_back(shard);
    total_ += chunks;
  };
  std::vector<uint16_t> block;
  for (uint32_t s = 0; s < data.shards.size(); ++s) {
    const TokenShard& shard = data.shards[s];
    if (shard.file) shard.file->advise_sequential();
    uint64_t start = 0;
    for (uint64_t first = 0; first < shard.size; first += kBlockTokens) {
      const uint64_t n = std::min(kBlockTokens, shard.size - first);
      block.resize(n);
      shard.copy(first, n, block.data());
      shard.release(first, n);
      for (uint64_t i = 0; i < n; ++i) {
        if (block[i] != eot_id) continue;
        add(s, start, first + i + 1 - start);
        start = first + i + 1;
      }
    }
    if (start < shard.size) add(s, start, shard.size - start);  // the shard's last document
    if (shard.file) shard.file->advise_random();
  }
  if (total_ == 0)
    throw InputError(data.path + ": no document (tokens up to and including end-of-text id " + std::to_string(eot_id) +
                     ") holds T+1 = " + std::to_string(T + 1) + " tokens, so data.sampling documents has no chunk; " +
                     "check data.eot_id, lower model.context or use data.sampling windows");
}

ChunkPlace DocumentChunks::place(uint64_t chunk) const {
  // The last document whose first chunk is <= chunk.
  const auto it = std::upper_bound(first_chunk_.begin(), first_chunk_.end(), chunk);
  const auto d = static_cast<size_t>(it - first_chunk_.begin()) - 1;
  return {shard_[d], start_[d] + (chunk - first_chunk_[d]) * static_cast<uint64_t>(context_)};
}

uint64_t permute(uint64_t p, uint64_t n, uint64_t key) {
  int bits = 2;
  while (bits < 64 && (1ull << bits) < n) bits += 2;
  const int half = bits / 2;
  const uint64_t mask = (1ull << half) - 1;
  uint64_t x = p;
  do {
    uint64_t left = x >> half, right = x & mask;
    for (uint64_t round = 0; round < 6; ++round) {
      const uint64_t f = splitmix64(key ^ splitmix64(right + (round << 56))) & mask;
      const uint64_t next = left ^ f;
      left = right;
      right = next;
    }
    x = (left << half) | right;
  } while (x >= n);
  return x;
}

}  // namespace entropix
