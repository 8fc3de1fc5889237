#include "entropix/runlog/sparkline.h"

#include <algorithm>
#include <cmath>

namespace entropix::runlog {

std::string sparkline(const std::vector<double>& values, int width) {
  static const char* const kBlocks[8] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
  if (values.empty() || width <= 0) return "";
  const size_t n = values.size(), cols = std::min(n, static_cast<size_t>(width));
  std::vector<double> col(cols);
  for (size_t c = 0; c < cols; ++c) {  // column c averages values [c n / cols, (c + 1) n / cols)
    const size_t begin = c * n / cols, end = (c + 1) * n / cols;
    double sum = 0;
    for (size_t i = begin; i < end; ++i) sum += values[i];
    col[c] = sum / static_cast<double>(end - begin);
  }
  double lo = INFINITY, hi = -INFINITY;
  for (double v : col)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  std::string out;
  for (double v : col) {
    if (!std::isfinite(v)) {
      out += ' ';
      continue;
    }
    const int level = hi > lo ? static_cast<int>(std::lround((v - lo) / (hi - lo) * 7)) : 3;
    out += kBlocks[std::clamp(level, 0, 7)];
  }
  return out;
}

}  // namespace entropix::runlog
