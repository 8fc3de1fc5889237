#include "entropix/bench/peak.h"

#include <chrono>
#include <limits>

#include "entropix/util/torch_compat.h"

namespace entropix {

MatmulPeak measure_matmul_peak(const torch::Device& device, torch::ScalarType dtype, int64_t n, int64_t repeats) {
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  const torch::Tensor a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  torch::Tensor c = torch::empty({n, n}, options);
  torch::mm_out(c, a, b);  // untimed: first-call setup (thread pools, kernel selection, allocator)
  compat::synchronize(device);
  double best = std::numeric_limits<double>::infinity();
  for (int64_t r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    compat::synchronize(device);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  MatmulPeak peak;
  peak.n = n;
  peak.repeats = repeats;
  peak.dtype = dtype;
  peak.best_ms = 1000.0 * best;
  peak.flops_per_s = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / best;
  return peak;
}

}  // namespace entropix
