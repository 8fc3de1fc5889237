// lm_head_cross_entropy (the tied head and the next-token loss as one autograd function) against
// LibTorch's cross_entropy over x W^T, computed in float64 as the reference.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "entropix/model/lm_head_loss.h"

namespace entropix {
namespace {

struct LossAndGrads {
  double loss;
  torch::Tensor dx, dw;
};

// The definition in float64: cross_entropy(x W^T, t), scaled by `upstream` before backward.
LossAndGrads reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& t, double upstream) {
  auto xd = x.detach().to(torch::kDouble).requires_grad_(), wd = w.detach().to(torch::kDouble).requires_grad_();
  auto loss = torch::nn::functional::cross_entropy(torch::mm(xd.reshape({-1, xd.size(-1)}), wd.t()), t.reshape({-1}));
  (loss * upstream).backward();
  return {loss.item<double>(), xd.grad(), wd.grad()};
}

LossAndGrads fused(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& t, double upstream) {
  auto xf = x.detach().clone().requires_grad_(), wf = w.detach().clone().requires_grad_();
  auto loss = lm_head_cross_entropy(xf, wf, t);
  (loss * upstream).backward();
  return {loss.item<double>(), xf.grad(), wf.grad()};
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

TEST(LmHeadLoss, LossAndGradientsEqualCrossEntropyOverTheProduct) {
  torch::manual_seed(51);
  // V = 203: rows that end in a partial vector block. (B, T) = (3, 13) positions.
  const int64_t V = 203, d = 16;
  for (double spread : {0.1, 1.0, 8.0}) {  // near-uniform to sharply peaked softmax rows
    auto x = spread * torch::randn({3, 13, d}), w = torch::randn({V, d});
    auto t = torch::randint(0, V, {3, 13}, torch::kLong);
    const auto want = reference(x, w, t, 0.37), got = fused(x, w, t, 0.37);
    // float32 products of 16 terms and exp (libmvec, 4 ulp): ~1e-6 relative on a loss of a few
    // nats. 1e-5 relative leaves room for that; a wrong shift, target or scale is off by far more.
    EXPECT_NEAR(got.loss, want.loss, 1e-5 * std::max(1.0, want.loss)) << "spread " << spread;
    // Gradients are (softmax - onehot) / N products, entries of order 1/N and below: compared with
    // the largest entry as the scale.
    EXPECT_LT(max_diff(got.dx, want.dx), 1e-5 * want.dx.abs().max().item<double>()) << "spread " << spread;
    EXPECT_LT(max_diff(got.dw, want.dw), 1e-5 * want.dw.abs().max().item<double>()) << "spread " << spread;
    EXPECT_EQ(got.dx.sizes(), x.sizes());
    EXPECT_EQ(got.dx.scalar_type(), torch::kFloat);
  }
}

// float64 inputs take LibTorch's operations throughout: equal to the reference to rounding.
TEST(LmHeadLoss, Float64InputsMatchToRounding) {
  torch::manual_seed(52);
  auto x = torch::randn({20, 8}, torch::kDouble), w = torch::randn({50, 8}, torch::kDouble);
  auto t = torch::randint(0, 50, {20}, torch::kLong);
  const auto want = reference(x, w, t, 1.0), got = fused(x, w, t, 1.0);
  EXPECT_NEAR(got.loss, want.loss, 1e-12);
  EXPECT_LT(max_diff(got.dx, want.dx), 1e-12);
  EXPECT_LT(max_diff(got.dw, want.dw), 1e-12);
}

// Logits of several hundred: the shift by the row maximum keeps exp finite.
TEST(LmHeadLoss, LargeLogitsStayFinite) {
  torch::manual_seed(53);
  auto x = 40 * torch::randn({9, 8}), w = 5 * torch::randn({70, 8});
  auto t = torch::randint(0, 70, {9}, torch::kLong);
  const auto want = reference(x, w, t, 1.0), got = fused(x, w, t, 1.0);
  ASSERT_TRUE(std::isfinite(got.loss));
  EXPECT_NEAR(got.loss, want.loss, 1e-5 * std::max(1.0, want.loss));
  EXPECT_TRUE(torch::isfinite(got.dw).all().item<bool>());
}

TEST(LmHeadLoss, NonFiniteLogitsGiveANonFiniteLossAsCrossEntropyDoes) {
  auto x = torch::randn({4, 8}), w = torch::randn({40, 8});
  auto t = torch::tensor({1, 2, 3, 4}, torch::kLong);
  auto with_nan = x.clone();
  with_nan[2][5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(lm_head_cross_entropy(with_nan, w, t).item<double>()));
  auto with_inf = w.clone();
  with_inf[7].fill_(std::numeric_limits<float>::infinity());
  EXPECT_FALSE(std::isfinite(lm_head_cross_entropy(x, with_inf, t).item<double>()));
  EXPECT_FALSE(std::isfinite(torch::nn::functional::cross_entropy(torch::mm(x, with_inf.t()), t).item<double>()));
}

TEST(LmHeadLoss, TargetsOutsideTheVocabularyAreRefused) {
  auto x = torch::randn({3, 8}), w = torch::randn({40, 8});
  EXPECT_THROW(lm_head_cross_entropy(x, w, torch::tensor({1, 40, 2}, torch::kLong)), c10::Error);
  EXPECT_THROW(lm_head_cross_entropy(x, w, torch::tensor({1, -1, 2}, torch::kLong)), c10::Error);
  EXPECT_THROW(lm_head_cross_entropy(x, w, torch::tensor({1, 2}, torch::kLong)), c10::Error);
}

// Without grad mode (evaluations) the loss is the same and nothing is differentiable.
TEST(LmHeadLoss, NoGradModeGivesTheSameLoss) {
  torch::manual_seed(54);
  auto x = torch::randn({6, 8}, torch::requires_grad()), w = torch::randn({30, 8}, torch::requires_grad());
  auto t = torch::randint(0, 30, {6}, torch::kLong);
  const double with_grad = lm_head_cross_entropy(x, w, t).item<double>();
  torch::NoGradGuard no_grad;
  auto loss = lm_head_cross_entropy(x, w, t);
  EXPECT_FALSE(loss.requires_grad());
  EXPECT_DOUBLE_EQ(loss.item<double>(), with_grad);
}

}  // namespace
}  // namespace entropix
