// The device's matmul peak as bench measures it: the reference for MFU.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace entropix {

struct MatmulPeak {
  double flops_per_s = 0;  // 2 n^3 / best time
  double best_ms = 0;
  int64_t n = 0;
  int64_t repeats = 0;
  torch::ScalarType dtype = torch::kFloat;
};

// Best of `repeats` timed n x n by n x n products (after one untimed one) of random matrices in
// `dtype` on `device`, synchronised. Uses LibTorch's current thread settings.
MatmulPeak measure_matmul_peak(const torch::Device& device, torch::ScalarType dtype, int64_t n, int64_t repeats);

}  // namespace entropix
