// Attention entropy against closed forms and an independent double-precision computation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "entropix/entropy/entropy.h"

namespace entropix {
namespace {

// Causal uniform attention: row i (0-based) spreads 1/(i+1) over keys 0..i.
torch::Tensor uniform_causal(int64_t B, int64_t H, int64_t T) {
  auto p = torch::zeros({B, H, T, T}, torch::kDouble);
  for (int64_t i = 0; i < T; ++i) p.select(2, i).narrow(-1, 0, i + 1).fill_(1.0 / (i + 1));
  return p;
}

TEST(Entropy, UniformCausalMatchesClosedForm) {
  for (int64_t T : {1, 2, 16, 128}) {
    auto e = headwise_entropy(uniform_causal(2, 3, T));
    double expected = 0;
    for (int64_t i = 1; i <= T; ++i) expected += std::log(static_cast<double>(i));
    expected /= static_cast<double>(T);
    for (int64_t h = 0; h < 3; ++h) EXPECT_NEAR(e[h].item<double>(), expected, 1e-12) << "T=" << T;
  }
  // The reference values of docs/science.md ("Attention entropy").
  EXPECT_NEAR(uniform_causal_entropy(128), 3.878, 5e-4);
  EXPECT_NEAR(uniform_causal_entropy(256), 4.560, 5e-4);
  EXPECT_NEAR(uniform_causal_entropy(512), 5.246, 5e-4);
}

TEST(Entropy, OneHotAttentionHasZeroEntropy) {
  const int64_t T = 32;
  auto p = torch::zeros({2, 2, T, T});
  for (int64_t i = 0; i < T; ++i) p.select(2, i).select(-1, i / 2).fill_(1.0);  // each query attends one key
  auto e = headwise_entropy(p);
  EXPECT_EQ(e[0].item<float>(), 0.0f);
  EXPECT_EQ(e[1].item<float>(), 0.0f);
}

// Independent reference: explicit loops in double, skipping zero probabilities.
std::vector<double> reference_entropy(const torch::Tensor& probs) {
  auto p = probs.to(torch::kDouble).contiguous();
  const int64_t B = p.size(0), H = p.size(1), T = p.size(2);
  auto a = p.accessor<double, 4>();
  std::vector<double> out(H, 0.0);
  for (int64_t h = 0; h < H; ++h) {
    double sum = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < T; ++j)
          if (a[b][h][i][j] > 0) sum -= a[b][h][i][j] * std::log(a[b][h][i][j]);
    out[h] = sum / static_cast<double>(B * T);
  }
  return out;
}

TEST(Entropy, RandomLogitsMatchDoublePrecisionReference) {
  torch::manual_seed(0);
  const int64_t B = 3, H = 4, T = 24;
  auto logits = torch::randn({B, H, T, T}) * 3.0;
  auto mask = torch::ones({T, T}, torch::kBool).triu(1);
  auto probs = torch::softmax(logits.masked_fill(mask, -INFINITY), -1);  // float32, as in the model
  auto got = headwise_entropy(probs);
  auto want = reference_entropy(probs);
  // float32 probabilities summed over T terms: relative error ~1e-6; 1e-5 absolute is generous.
  for (int64_t h = 0; h < H; ++h) EXPECT_NEAR(got[h].item<double>(), want[h], 1e-5);
  // In double the two agree to rounding.
  auto got64 = headwise_entropy(probs.to(torch::kDouble));
  for (int64_t h = 0; h < H; ++h) EXPECT_NEAR(got64[h].item<double>(), want[h], 1e-12);
}

TEST(Entropy, IsDifferentiable) {
  auto logits = torch::randn({1, 2, 8, 8}, torch::requires_grad());
  auto e = headwise_entropy(torch::softmax(logits, -1)).sum();
  e.backward();
  EXPECT_TRUE(logits.grad().defined());
  EXPECT_GT(logits.grad().abs().sum().item<double>(), 0.0);
}

TEST(Entropy, NonFiniteEntriesCounted) {
  auto p = uniform_causal(1, 4, 8);
  p[0][1][3][0] = NAN;
  p[0][2][5][1] = INFINITY;
  p[0][2][6][1] = NAN;
  EXPECT_EQ(nonfinite_entries(p), 3);
  // A NaN entry is skipped in its row's sum, so the head's entropy stays finite.
  EXPECT_TRUE(std::isfinite(headwise_entropy(p)[1].item<double>()));
}

TEST(Entropy, QuartileBins) {
  // max 4: bins [0,1) [1,2) [2,3) [3,4]
  std::vector<std::vector<double>> table = {{0.5, 1.0, 2.5, 4.0}, {3.2, 3.9, 1.5, NAN}};
  HeadBins b = bin_heads(table, 4.0);
  EXPECT_DOUBLE_EQ(b.fractions[0], 1.0 / 7);
  EXPECT_DOUBLE_EQ(b.fractions[1], 2.0 / 7);
  EXPECT_DOUBLE_EQ(b.fractions[2], 1.0 / 7);
  EXPECT_DOUBLE_EQ(b.fractions[3], 3.0 / 7);
}

TEST(Entropy, RecordFromLayers) {
  std::vector<torch::Tensor> layers = {uniform_causal(2, 2, 16).to(torch::kFloat), torch::zeros({2, 2, 16, 16})};
  // layer 1: one-hot on the first key
  layers[1].select(-1, 0).fill_(1.0);
  EntropyRecord r = measure_entropy(layers, 5, "val");
  ASSERT_EQ(r.headwise.size(), 2u);
  EXPECT_NEAR(r.headwise[0][1], uniform_causal_entropy(16), 1e-5);
  EXPECT_NEAR(r.layerwise[1], 0.0, 1e-12);
  EXPECT_NEAR(r.max_entropy, std::log(16.0), 1e-12);
  EXPECT_DOUBLE_EQ(r.bins.fractions[3], 0.5);  // the uniform heads sit at the observed max
  EXPECT_DOUBLE_EQ(r.bins.fractions[0], 0.5);  // the one-hot heads at zero
  auto j = to_json(r);
  EXPECT_EQ(j["kind"], "entropy");
  EXPECT_EQ(j["headwise"].size(), 2u);
}

}  // namespace
}  // namespace entropix

namespace entropix {
namespace {

TEST(Entropy, RecordMarksHeadsWithoutFiniteRowsAsNaN) {
  auto p = torch::full({1, 2, 4, 4}, 0.25);
  p.select(1, 1).fill_(NAN);     // head 1: every probability NaN
  p[0][0][2][1] = NAN;           // head 0: one row with a NaN, left out of the mean
  EntropyRecord r = measure_entropy({p}, 3, "train");
  EXPECT_NEAR(r.headwise[0][0], std::log(4.0), 1e-12);
  EXPECT_TRUE(std::isnan(r.headwise[0][1]));
  EXPECT_NEAR(r.layerwise[0], std::log(4.0), 1e-12);  // mean over the finite heads
  EXPECT_EQ(r.nan_counts[0], 17);  // 16 of head 1 + 1 of head 0
  EXPECT_TRUE(to_json(r)["nan_counts"][0].is_number_integer());
  EXPECT_TRUE(to_json(r)["headwise"][0][1].is_null());
}

TEST(Entropy, AllZeroEntropyHeadsAreCollapsed) {
  HeadBins b = bin_heads({{0.0, 0.0}}, 0.0);
  EXPECT_DOUBLE_EQ(b.fractions[0], 1.0);
}

}  // namespace
}  // namespace entropix
