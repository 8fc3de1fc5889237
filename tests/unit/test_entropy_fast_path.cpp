// measure_entropy's one-pass row sums for float32 CPU probabilities against the general path
// (double entr and sum through LibTorch), which a float64 input takes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "entropix/entropy/entropy.h"

namespace entropix {
namespace {

TEST(EntropyFastPath, FloatRecordEqualsTheDoublePathIncludingNonFiniteRows) {
  torch::manual_seed(31);
  const int64_t B = 3, H = 4, T = 16;
  auto mask = torch::ones({T, T}, torch::kBool).triu(1);
  auto layer0 = torch::softmax(torch::randn({B, H, T, T}).masked_fill(mask, -INFINITY), -1);  // exact zeros above the diagonal
  auto layer1 = torch::softmax(3 * torch::randn({B, H, T, T}).masked_fill(mask, -INFINITY), -1);
  layer1[1][2][5][3] = NAN;                                            // one row of head 2 left out
  layer1[0][3][7][0] = std::numeric_limits<float>::infinity();        // and one of head 3
  const std::vector<torch::Tensor> f = {layer0, layer1};
  const std::vector<torch::Tensor> d = {layer0.to(torch::kDouble), layer1.to(torch::kDouble)};
  const EntropyRecord fast = measure_entropy(f, 1, "step"), general = measure_entropy(d, 1, "step");
  ASSERT_EQ(fast.headwise.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    for (int64_t h = 0; h < H; ++h) {
      // Both widen the same float values to double; only the order of the additions differs:
      // ~1e-16 relative, so 1e-12 is a wide margin that a wrong term or a dropped row would miss.
      EXPECT_NEAR(fast.headwise[l][h], general.headwise[l][h], 1e-12) << "layer " << l << " head " << h;
      EXPECT_TRUE(std::isfinite(fast.headwise[l][h]));
    }
    EXPECT_EQ(fast.nan_counts[l], general.nan_counts[l]);
  }
  EXPECT_EQ(fast.nan_counts[0], 0);
  EXPECT_EQ(fast.nan_counts[1], 2);  // the NaN and the +inf
}

}  // namespace
}  // namespace entropix
