#include "entropix/model/hashed_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <vector>

#include "entropix/util/vector_math.h"

namespace entropix {
namespace {
// SplitMix64 (Steele, Lea, Flood 2014): output n of the stream started at `seed` is
// mix(seed + (n + 1) * kGamma); it passes BigCrush, and any output can be computed on its own.
constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kMix1 = 0xBF58476D1CE4E5B9ull;
constexpr uint64_t kMix2 = 0x94D049BB133111EBull;
}  // namespace

namespace hashed_dropout_detail {
namespace {

inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  return z ^ (z >> 31);
}

}  // namespace

uint32_t word(uint64_t seed, int64_t i) {
  const uint64_t n = 8 * static_cast<uint64_t>(i / 16) + static_cast<uint64_t>(i % 8);
  const uint64_t z = mix(seed + (n + 1) * kGamma);
  return i % 16 < 8 ? static_cast<uint32_t>(z) : static_cast<uint32_t>(z >> 32);
}

uint32_t threshold(double p) {
  const double t = std::round(p * 4294967296.0);  // p * 2^32
  return t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(t);
}

}  // namespace hashed_dropout_detail

namespace {

namespace detail = hashed_dropout_detail;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y[i] = x[i] * (kept ? scale : 0) for the elements of blocks [block_begin, block_end) (16
// elements per block; the last one may be partial). Multiplying rather than selecting keeps
// LibTorch's semantics for a dropped NaN or infinity: NaN, as x * 0 is.
void apply_blocks_scalar(const float* x, float* y, int64_t n, int64_t block_begin, int64_t block_end, uint64_t seed,
                         uint32_t threshold, float scale) {
  for (int64_t i = 16 * block_begin; i < std::min(n, 16 * block_end); ++i)
    y[i] = x[i] * (detail::word(seed, i) >= threshold ? scale : 0.0f);
}

#ifdef ENTROPIX_MVEC
// z >> bits in each 64-bit lane (maskz: GCC 12 warns falsely about the unmasked intrinsic).
__attribute__((target("avx512f"))) inline __m512i shift_right(__m512i z, unsigned bits) {
  return _mm512_maskz_srli_epi64(0xFF, z, bits);
}

// The same, 16 elements per iteration: the block's 8 SplitMix64 outputs in one register (64-bit
// lanes), their low halves deciding elements 0-7 and their high halves elements 8-15.
__attribute__((target("avx512f,avx512dq,avx512vl"))) void apply_blocks_avx512(const float* x, float* y, int64_t n,
                                                                             int64_t block_begin, int64_t block_end,
                                                                             uint64_t seed, uint32_t threshold,
                                                                             float scale) {
  const __m512i gamma8 = _mm512_set1_epi64(static_cast<long long>(8 * kGamma));
  const __m512i mix1 = _mm512_set1_epi64(static_cast<long long>(kMix1));
  const __m512i mix2 = _mm512_set1_epi64(static_cast<long long>(kMix2));
  const __m256i limit = _mm256_set1_epi32(static_cast<int>(threshold));
  const __m512 kept = _mm512_set1_ps(scale), dropped = _mm512_setzero_ps();
  // Lane k holds the stream's state for output 8 * block + k: seed + (8 * block + k + 1) * gamma.
  alignas(64) uint64_t start[8];
  for (uint64_t k = 0; k < 8; ++k) start[k] = seed + (8 * static_cast<uint64_t>(block_begin) + k + 1) * kGamma;
  __m512i state = _mm512_load_si512(start);
  for (int64_t b = block_begin; b < block_end; ++b, state = _mm512_add_epi64(state, gamma8)) {
    __m512i z = _mm512_mullo_epi64(_mm512_xor_si512(state, shift_right(state, 30)), mix1);
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, shift_right(z, 27)), mix2);
    z = _mm512_xor_si512(z, shift_right(z, 31));
    const __mmask8 low = _mm256_cmpge_epu32_mask(_mm512_maskz_cvtepi64_epi32(0xFF, z), limit);
    const __mmask8 high = _mm256_cmpge_epu32_mask(_mm512_maskz_cvtepi64_epi32(0xFF, shift_right(z, 32)), limit);
    const __mmask16 keep = static_cast<__mmask16>(low | (static_cast<unsigned>(high) << 8));
    const int64_t i = 16 * b;
    const __mmask16 lanes = simd::first_lanes16(n - i);
    const __m512 factor = _mm512_mask_blend_ps(keep, dropped, kept);
    _mm512_mask_storeu_ps(y + i, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, x + i), factor));
  }
}
#endif

// x contiguous float32 CPU -> x * mask * scale (the mask of (seed, p)).
torch::Tensor apply_mask(const torch::Tensor& x, uint64_t seed, double p) {
  RECORD_FUNCTION("entropix::hashed_dropout", std::vector<c10::IValue>());  // (named in bench --profile traces)
  auto y = torch::empty_like(x);
  const float* src = x.data_ptr<float>();
  float* dst = y.data_ptr<float>();
  const int64_t n = x.numel(), blocks = (n + 15) / 16;
  const uint32_t limit = detail::threshold(p);
  const float scale = 1.0f / static_cast<float>(1.0 - p);  // as LibTorch's noise.div_(1 - p)
  auto kernel = &apply_blocks_scalar;
#ifdef ENTROPIX_MVEC
  if (simd::vector_math_usable()) kernel = &apply_blocks_avx512;  // (AVX-512 F, DQ and VL are what it needs)
#endif
  at::parallel_for(0, blocks, /*grain_size=*/2048, [&](int64_t begin, int64_t end) {
    kernel(src, dst, n, begin, end, seed, limit, scale);
  });
  return y;
}

// One draw from the default CPU generator per call: torch::manual_seed and the RNG state in
// checkpoints decide the masks, as they decide LibTorch's.
uint64_t draw_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

struct HashedDropoutFunction : public torch::autograd::Function<HashedDropoutFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double p) {
    const uint64_t seed = draw_seed();
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["p"] = p;
    return apply_mask(x.contiguous(), seed, p);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {apply_mask(grad[0].contiguous(), seed, ctx->saved_data["p"].toDouble()), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor hashed_dropout(const torch::Tensor& x, double p) {
  TORCH_CHECK(p >= 0 && p <= 1, "hashed_dropout: p must be in [0, 1], got ", p);
  if (p == 0) return x;
  if (p == 1 || !x.device().is_cpu() || x.scalar_type() != torch::kFloat) return torch::dropout(x, p, /*train=*/true);
  return HashedDropoutFunction::apply(x, p);
}

}  // namespace entropix
