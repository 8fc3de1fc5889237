#include "entropix/data/windows.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace entropix {

namespace {

int64_t shard_windows(const TokenShard& shard, int64_t T) {
  return shard.size < 1 ? 0 : static_cast<int64_t>((shard.size - 1) / static_cast<uint64_t>(T));
}

}  // namespace

int64_t full_window_count(const TokenData& data, int64_t context) {
  if (context < 1) throw std::invalid_argument("full_window_count: context must be >= 1");
  int64_t n = 0;
  for (const TokenShard& shard : data.shards) n += shard_windows(shard, context);
  return n;
}

std::pair<torch::Tensor, torch::Tensor> full_windows(const TokenData& data, int64_t T, int64_t first, int64_t count) {
  if (first < 0 || count < 0 || first + count > full_window_count(data, T))
    throw std::out_of_range("full_windows: windows " + std::to_string(first) + " + " + std::to_string(count) +
                            " run past the " + std::to_string(full_window_count(data, T)) + " whole windows");
  torch::Tensor x = torch::empty({count, T}, torch::kInt64);  // (count, T)
  torch::Tensor y = torch::empty({count, T}, torch::kInt64);  // (count, T)
  int64_t* xp = x.data_ptr<int64_t>();
  int64_t* yp = y.data_ptr<int64_t>();
  std::vector<uint16_t> window(static_cast<size_t>(T) + 1);  // widened by hand: 1.13 has no uint16 dtype
  size_t shard = 0;
  int64_t local = first;  // window index inside data.shards[shard]
  for (int64_t r = 0; r < count; ++r, ++local) {
    while (local >= shard_windows(data.shards[shard], T)) local -= shard_windows(data.shards[shard++], T);
    data.shards[shard].copy(static_cast<uint64_t>(local * T), static_cast<uint64_t>(T) + 1, window.data());
    for (int64_t t = 0; t < T; ++t) {
      xp[r * T + t] = window[t];
      yp[r * T + t] = window[t + 1];
    }
  }
  return {x, y};
}

}  // namespace entropix
