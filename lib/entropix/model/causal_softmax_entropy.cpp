#include "entropix/model/causal_softmax_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "entropix/util/vector_math.h"

namespace entropix {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Entropy of softmax(scale * s[0..n)), double throughout; softmax's conventions for non-finite s.
double row_entropy_scalar(const float* s, int64_t n, double scale) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    const double x = scale * s[j];
    if (std::isnan(x)) return kNaN;
    m = std::max(m, x);
  }
  // m = +inf: inf - inf in the shift. m = -inf: every key excluded, 0 / 0.
  if (!std::isfinite(m)) return kNaN;
  double l = 0, w = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double d = scale * s[j] - m;  // <= 0, -inf for a -inf logit
    const double e = std::exp(d);
    l += e;
    if (e > 0) w += e * d;  // a -inf logit adds nothing (0 * -inf would be NaN)
  }
  return std::log(l) - w / l;  // l >= 1: the maximum contributes exp(0)
}

#ifdef ENTROPIX_MVEC
// The same, vectorised: the maximum over 16 floats at a time (with a finiteness check: any
// non-finite logit sends the row to the scalar loop above), then exp and the two sums over 8
// doubles at a time. Lanes past the row's end are masked off.
__attribute__((target("avx512f,avx512vl"))) double row_entropy_avx512(const float* s, int64_t n, double scale) {
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  __m512 running_max = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 lanes = simd::first_lanes16(n - j);
    const __m512 x = _mm512_maskz_loadu_ps(lanes, s + j);
    if (_mm512_mask_cmp_ps_mask(lanes, _mm512_abs_ps(x), inf, _CMP_LT_OQ) != lanes) return row_entropy_scalar(s, n, scale);
    running_max = _mm512_mask_max_ps(running_max, lanes, running_max, x);
  }
  // scale > 0, so the largest s gives the largest scaled logit.
  const double m = scale * static_cast<double>(simd::lanes_max(running_max));
  const __m512d scale8 = _mm512_set1_pd(scale), m8 = _mm512_set1_pd(m);
  __m512d l = _mm512_setzero_pd(), w = _mm512_setzero_pd();
  for (int64_t j = 0; j < n; j += 8) {
    const __mmask8 lanes = simd::first_lanes8(n - j);
    const __m512d x = _mm512_maskz_cvtps_pd(0xFF, _mm256_maskz_loadu_ps(lanes, s + j));  // (maskz: no GCC 12 false warning)
    const __m512d d = _mm512_fmsub_pd(scale8, x, m8);              // scale s - m, <= 0 up to rounding
    const __m512d e = _mm512_maskz_mov_pd(lanes, _ZGVeN8v_exp(d));  // 0 in lanes past the end
    l = _mm512_add_pd(l, e);
    w = _mm512_fmadd_pd(e, d, w);
  }
  const double l_sum = simd::lanes_sum(l), w_sum = simd::lanes_sum(w);
  return std::log(l_sum) - w_sum / l_sum;
}
#endif

// Any dtype or device: LibTorch's softmax and entr over the masked logits in float64.
torch::Tensor row_entropy_generic(const torch::Tensor& q, const torch::Tensor& k, double scale) {
  const int64_t T = q.size(2);
  auto future = torch::ones({T, T}, q.options().dtype(torch::kBool)).triu(1);  // (T, T), true above the diagonal
  auto logits = torch::matmul(q, k.transpose(-2, -1)).to(torch::kDouble).mul_(scale);  // (B, H, T, T)
  logits.masked_fill_(future, -std::numeric_limits<double>::infinity());
  return torch::special::entr(torch::softmax(logits, -1)).sum(-1);  // (B, H, T)
}

}  // namespace

torch::Tensor causal_softmax_row_entropy(const torch::Tensor& q, const torch::Tensor& k, double scale) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes(), "causal_softmax_row_entropy: q and k must be (B, H, T, hs) of "
              "one shape, got ", q.sizes(), " and ", k.sizes());
  TORCH_CHECK(scale > 0, "causal_softmax_row_entropy: scale must be > 0, got ", scale);
  torch::NoGradGuard no_grad;
  if (!q.device().is_cpu() || q.scalar_type() != torch::kFloat || k.scalar_type() != torch::kFloat)
    return row_entropy_generic(q, k, scale);
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2);
  auto out = torch::empty({B, H, T}, q.options().dtype(torch::kDouble));
  double* dst = out.data_ptr<double>();
  auto row_entropy = &row_entropy_scalar;
#ifdef ENTROPIX_MVEC
  if (simd::vector_math_usable()) row_entropy = &row_entropy_avx512;
#endif
  // One sequence at a time per thread: its (H, T, T) logits go into a buffer that the thread
  // reuses, small enough to stay in cache between the product and the pass that reads it (the
  // whole batch's logits would be megabytes per layer, fresh pages every call). q[b] and k[b]
  // are (H, T, hs) views; bmm takes their strides as they are.
  // Detached: grad mode is per thread, and the pool's threads do not inherit this one's guard.
  const torch::Tensor qd = q.detach(), kd = k.detach();
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    auto logits = torch::empty({H, T, T}, q.options());  // (H, T, T) q.k of one sequence
    const float* src = logits.data_ptr<float>();
    for (int64_t b = begin; b < end; ++b) {
      torch::bmm_out(logits, qd[b], kd[b].transpose(1, 2));
      // Row r is query r % T of head r / T; it sees keys 0..r % T.
      double* rows = dst + b * H * T;
      for (int64_t r = 0; r < H * T; ++r) rows[r] = row_entropy(src + r * T, r % T + 1, scale);
    }
  });
  return out;
}

}  // namespace entropix
