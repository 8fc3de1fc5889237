// compat::clip_grad_norm (the step's global-norm clipping) against LibTorch's clip_grad_norm_ on
// copies of the same gradients: the same norm and the same gradients afterwards, clipped or not.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "entropix/util/torch_compat.h"

namespace entropix {
namespace {

// Parameters of several shapes with gradients of about `scale` per entry; one without a gradient.
std::vector<torch::Tensor> parameters_with_grads(double scale, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> params;
  for (auto sizes : std::vector<std::vector<int64_t>>{{7, 5}, {5}, {3, 4, 2}, {1}, {9}}) {
    auto p = torch::randn(sizes, torch::requires_grad());
    params.push_back(p);
  }
  for (size_t i = 0; i + 1 < params.size(); ++i) params[i].mutable_grad() = scale * torch::randn(params[i].sizes());
  return params;  // the last one has no gradient
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) {
    auto c = p.detach().clone().requires_grad_();
    if (p.grad().defined()) c.mutable_grad() = p.grad().clone();
    out.push_back(c);
  }
  return out;
}

TEST(GradClip, MatchesClipGradNormWhetherItClipsOrNot) {
  for (double scale : {0.01, 3.0}) {  // a total norm below and above max_norm = 1
    auto ours = parameters_with_grads(scale, 61), theirs = copies(ours);
    const double norm = compat::clip_grad_norm(ours, 1.0);
    const double expected = torch::nn::utils::clip_grad_norm_(theirs, 1.0);
    // float32 norms of 50 entries summed in other groupings: ~1e-7 relative.
    EXPECT_NEAR(norm, expected, 1e-6 * expected) << "scale " << scale;
    EXPECT_EQ(norm > 1.0, scale > 1.0);
    for (size_t i = 0; i + 1 < ours.size(); ++i)
      EXPECT_TRUE(torch::allclose(ours[i].grad(), theirs[i].grad(), 1e-6, 1e-8)) << "scale " << scale << " param " << i;
    EXPECT_FALSE(ours.back().grad().defined());
  }
}

TEST(GradClip, ClippedGradientsHaveTheMaximumNorm) {
  auto params = parameters_with_grads(5.0, 62);
  const double before = compat::clip_grad_norm(params, 0.5);
  EXPECT_GT(before, 0.5);
  // The second call measures what the first left: max_norm up to the 1e-6 in the factor.
  EXPECT_NEAR(compat::clip_grad_norm(params, std::numeric_limits<double>::infinity()), 0.5, 1e-5);
}

TEST(GradClip, NoGradientsGiveZero) {
  std::vector<torch::Tensor> params = {torch::randn({3}, torch::requires_grad())};
  EXPECT_EQ(compat::clip_grad_norm(params, 1.0), 0.0);
}

}  // namespace
}  // namespace entropix
