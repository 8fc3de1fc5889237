#include "entropix/model/lm_head_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "entropix/util/vector_math.h"

namespace entropix {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

#ifdef ENTROPIX_MVEC
// One row of float32 logits s[0..V): returns ln sum_j exp(s_j) - s[target] in double and, when
// `gradient`, overwrites s with (softmax(s) - onehot(target)) * inv_n. A NaN or +inf logit makes
// the loss NaN, as log_softmax does. Pass 1 finds the maximum, pass 2 stores exp(s - m) and sums
// it, pass 3 scales; a row of V = 50257 floats (196 KiB) stays in cache between the passes.
__attribute__((target("avx512f"))) double row_loss_avx512(float* s, int64_t V, int64_t target, bool gradient,
                                                          float inv_n) {
  const float logit_t = s[target];
  __m512 running_max = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 lanes = simd::first_lanes16(V - j);
    running_max = _mm512_mask_max_ps(running_max, lanes, running_max, _mm512_maskz_loadu_ps(lanes, s + j));
  }
  float m = simd::lanes_max(running_max);
  if (std::isnan(logit_t)) m = logit_t;  // (max drops NaN lanes; a NaN target logit must still show)
  const __m512 m16 = _mm512_set1_ps(m);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 lanes = simd::first_lanes16(V - j);
    const __m512 e = _mm512_maskz_mov_ps(lanes, _ZGVeN16v_expf(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, s + j), m16)));
    sum = _mm512_add_ps(sum, e);  // a NaN logit makes its lane NaN, and the loss with it
    if (gradient) _mm512_mask_storeu_ps(s + j, lanes, e);
  }
  const double l = simd::lanes_sum(sum);
  if (gradient) {
    const __m512 scale = _mm512_set1_ps(static_cast<float>(inv_n / l));
    for (int64_t j = 0; j < V; j += 16) {
      const __mmask16 lanes = simd::first_lanes16(V - j);
      _mm512_mask_storeu_ps(s + j, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, s + j), scale));
    }
    s[target] -= inv_n;
  }
  return static_cast<double>(m) + std::log(l) - static_cast<double>(logit_t);
}

// logits (N, V) float32 CPU -> () mean loss; logits become the gradient when `gradient`.
torch::Tensor loss_rows_avx512(torch::Tensor& logits, const torch::Tensor& targets, bool gradient) {
  const int64_t N = logits.size(0), V = logits.size(1);
  float* s = logits.data_ptr<float>();
  const int64_t* t = targets.data_ptr<int64_t>();
  std::vector<double> row_loss(N);
  const float inv_n = 1.0f / static_cast<float>(N);
  at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) row_loss[n] = row_loss_avx512(s + n * V, V, t[n], gradient, inv_n);
  });
  double total = 0;
  for (double v : row_loss) total += v;
  return torch::tensor(total / static_cast<double>(N), logits.options());
}
#endif

// Any device or dtype: the same through LibTorch's operations.
torch::Tensor loss_rows_generic(torch::Tensor& logits, const torch::Tensor& targets, bool gradient) {
  const int64_t N = logits.size(0);
  auto lse = torch::logsumexp(logits, 1);                            // (N)
  auto picked = logits.gather(1, targets.unsqueeze(1)).squeeze(1);  // (N)
  auto loss = (lse - picked).mean();                                 // ()
  if (gradient) {
    logits.sub_(lse.unsqueeze(1)).exp_().div_(static_cast<double>(N));  // softmax / N
    logits.scatter_add_(1, targets.unsqueeze(1), torch::full({N, 1}, -1.0 / static_cast<double>(N), logits.options()));
  }
  return loss;
}

class LmHeadCrossEntropyFn : public torch::autograd::Function<LmHeadCrossEntropyFn> {
 public:
  // x (N, d), weight (V, d), targets (N) -> () mean loss.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& targets, bool gradient) {
    auto logits = torch::mm(x, weight.t());  // (N, V) in autocast's dtype where it is on
    const auto product_dtype = logits.scalar_type();
    if (product_dtype != torch::kFloat && product_dtype != torch::kDouble) logits = logits.to(torch::kFloat);
    torch::Tensor loss;  // ()
#ifdef ENTROPIX_MVEC
    if (logits.device().is_cpu() && logits.scalar_type() == torch::kFloat && simd::vector_math_usable())
      loss = loss_rows_avx512(logits, targets, gradient);
#endif
    if (!loss.defined()) loss = loss_rows_generic(logits, targets, gradient);
    if (gradient) {
      ctx->save_for_backward({x, weight, logits});  // logits now hold d loss / d logits, (N, V)
      ctx->saved_data["product_dtype"] = static_cast<int64_t>(product_dtype);
    }
    return loss;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1];
    const auto dt = static_cast<torch::ScalarType>(ctx->saved_data["product_dtype"].toInt());
    const auto g = saved[2].to(dt);                 // (N, V) in the forward product's dtype
    const auto d_loss = grads[0].to(torch::kFloat);  // (): the scale of everything below
    // The scalar multiplies the (N, d) and (V, d) products, not the (N, V) gradient.
    auto dx = torch::mm(g, weight.to(dt)).to(x.scalar_type()).mul_(d_loss);       // (N, d)
    auto dw = torch::mm(g.t(), x.to(dt)).to(weight.scalar_type()).mul_(d_loss);   // (V, d)
    return {dx, dw, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor lm_head_cross_entropy(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& targets) {
  const int64_t d = x.size(-1), V = weight.size(0);
  TORCH_CHECK(weight.dim() == 2 && weight.size(1) == d, "lm_head_cross_entropy: weight must be (V, ", d, "), got ",
              weight.sizes());
  auto x2 = x.reshape({-1, d});  // (N, d)
  auto t = targets.reshape({-1}).to(torch::kLong).contiguous();  // (N)
  TORCH_CHECK(t.size(0) == x2.size(0), "lm_head_cross_entropy: ", x2.size(0), " positions but ", t.size(0),
              " targets");
  TORCH_CHECK(t.size(0) > 0, "lm_head_cross_entropy: no positions");
  if (t.device().is_cpu()) {
    // The per-row pass indexes the row with its target: check them all first. (On a GPU gather
    // checks them, without a synchronisation here.)
    const int64_t* ids = t.data_ptr<int64_t>();
    for (int64_t n = 0; n < t.size(0); ++n)
      TORCH_CHECK(ids[n] >= 0 && ids[n] < V, "lm_head_cross_entropy: target ", ids[n], " at position ", n,
                  " is outside [0, ", V, ")");
  }
  const bool gradient = torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  return LmHeadCrossEntropyFn::apply(x2, weight, t, gradient);
}

}  // namespace entropix
