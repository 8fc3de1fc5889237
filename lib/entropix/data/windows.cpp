#include "entropix/data/windows.h"

#include <stdexcept>
#include <string>

namespace entropix {

int64_t full_window_count(const TokenData& data, int64_t context) {
  if (context < 1) throw std::invalid_argument("full_window_count: context must be >= 1");
  const int64_t n = static_cast<int64_t>(data.tokens.size());
  return n < 1 ? 0 : (n - 1) / context;
}

std::pair<torch::Tensor, torch::Tensor> full_windows(const TokenData& data, int64_t T, int64_t first, int64_t count) {
  if (first < 0 || count < 0 || first + count > full_window_count(data, T))
    throw std::out_of_range("full_windows: windows " + std::to_string(first) + " + " + std::to_string(count) +
                            " run past the " + std::to_string(full_window_count(data, T)) + " whole windows");
  torch::Tensor x = torch::empty({count, T}, torch::kInt64);  // (count, T)
  torch::Tensor y = torch::empty({count, T}, torch::kInt64);  // (count, T)
  int64_t* xp = x.data_ptr<int64_t>();
  int64_t* yp = y.data_ptr<int64_t>();
  for (int64_t r = 0; r < count; ++r) {
    const uint16_t* src = data.tokens.data() + (first + r) * T;  // widened by hand: 1.13 has no uint16 dtype
    for (int64_t t = 0; t < T; ++t) {
      xp[r * T + t] = src[t];
      yp[r * T + t] = src[t + 1];
    }
  }
  return {x, y};
}

}  // namespace entropix
