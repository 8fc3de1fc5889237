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

// Causal rows are summed over their keys 0..i only, after checking the rest are zeros; a square
// tensor that is not causal (an unmasked softmax, a value above the diagonal) is summed whole.
TEST(EntropyFastPath, CausalRowsSkipTheirZerosAndAnythingElseIsSummedWhole) {
  torch::manual_seed(32);
  const int64_t B = 2, H = 3, T = 37;  // not a multiple of 8: vector blocks and scalar tails
  auto mask = torch::ones({T, T}, torch::kBool).triu(1);
  auto causal = torch::softmax(torch::randn({B, H, T, T}).masked_fill(mask, -INFINITY), -1);
  auto full = torch::softmax(torch::randn({B, H, T, T}), -1);  // every entry above 0
  auto touched = causal.clone();
  touched[0][1][4][20] = 0.25f;  // a non-zero above the diagonal: that row counts it
  touched[1][2][9][30] = NAN;    // and a NaN there: that row is non-finite
  for (const auto& probs : {causal, full, touched}) {
    const auto fast = row_entropy_sums(probs);                                   // (B, H, T)
    const auto general = torch::special::entr(probs.to(torch::kDouble)).sum(-1);  // (B, H, T)
    const auto finite = torch::isfinite(general);
    EXPECT_TRUE(torch::equal(torch::isfinite(fast), finite));
    // Same float values widened to double, other addition order: ~1e-16 relative.
    EXPECT_LT((fast - general).masked_fill(finite.logical_not(), 0).abs().max().item<double>(), 1e-12);
  }
  const auto rows = row_entropy_sums(touched);
  EXPECT_NEAR(rows[0][1][4].item<double>(), torch::special::entr(touched[0][1][4].to(torch::kDouble)).sum().item<double>(), 1e-12);
  EXPECT_GT(rows[0][1][4].item<double>(), row_entropy_sums(causal)[0][1][4].item<double>());  // + -0.25 ln 0.25
  EXPECT_TRUE(std::isnan(rows[1][2][9].item<double>()));
  const EntropyRecord rec = measure_entropy({touched}, 1, "step");
  EXPECT_EQ(rec.nan_counts[0], 1);
}

}  // namespace
}  // namespace entropix
