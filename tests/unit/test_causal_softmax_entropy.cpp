// causal_softmax_row_entropy (row entropies straight from q and k, for records beside the fused
// kernel) against the definition: LibTorch's float64 softmax over the masked logits, then entr.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "entropix/model/causal_softmax_entropy.h"

namespace entropix {
namespace {

// The definition, from the float32 logits q k^T: scaled and masked in float64, softmax, -sum p ln p.
torch::Tensor defined_row_entropy(const torch::Tensor& q, const torch::Tensor& k, double scale) {
  const int64_t T = q.size(2);
  auto logits = torch::matmul(q, k.transpose(-2, -1)).to(torch::kDouble) * scale;  // (B, H, T, T)
  logits.masked_fill_(torch::ones({T, T}, torch::kBool).triu(1), -std::numeric_limits<double>::infinity());
  return torch::special::entr(torch::softmax(logits, -1)).sum(-1);  // (B, H, T)
}

// Small integers: every q.k is exact in float32, so any two ways of computing the logits agree
// bit for bit and the comparison measures the entropy arithmetic alone.
torch::Tensor small_integers(std::vector<int64_t> sizes) {
  return torch::randint(-4, 5, sizes, torch::kLong).to(torch::kFloat);
}

void expect_same_rows(const torch::Tensor& got, const torch::Tensor& want, double tolerance) {
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_EQ(got.scalar_type(), torch::kDouble);
  const auto finite = torch::isfinite(want);
  EXPECT_TRUE(torch::equal(torch::isfinite(got), finite)) << "non-finite rows differ";
  EXPECT_TRUE(torch::equal(torch::isnan(got), torch::isnan(want))) << "NaN rows differ";
  const double worst = (got - want).masked_fill(finite.logical_not(), 0).abs().max().item<double>();
  EXPECT_LT(worst, tolerance);
}

TEST(CausalSoftmaxEntropy, EqualsTheDefinitionOnFiniteLogits) {
  torch::manual_seed(41);
  // T = 37: rows of 1..37 keys, so full vector blocks, partial ones and rows shorter than a block.
  const int64_t B = 2, H = 3, T = 37, hs = 8;
  auto q = small_integers({B, H, T, hs}), k = small_integers({B, H, T, hs});
  // Scales from nearly uniform rows to nearly one-hot ones (logits up to several hundred).
  for (double scale : {0.01, 0.37, 1.0, 6.0}) {
    // Both are float64 from equal logits: the exponentials (libmvec: at most 4 ulp) and the
    // summation order differ, ~1e-15 on values up to ln 37 = 3.6. 1e-12 leaves room for that,
    // while a wrong shift, mask or missing key changes a row by far more.
    expect_same_rows(causal_softmax_row_entropy(q, k, scale), defined_row_entropy(q, k, scale), 1e-12);
  }
}

TEST(CausalSoftmaxEntropy, UniformRowsGiveLnOfTheirKeyCount) {
  const int64_t T = 50;
  auto q = torch::zeros({1, 2, T, 4}), k = torch::randn({1, 2, T, 4});  // q = 0: every logit 0
  const auto rows = causal_softmax_row_entropy(q, k, 0.5);
  for (int64_t i = 0; i < T; ++i)
    EXPECT_NEAR(rows[0][1][i].item<double>(), std::log(static_cast<double>(i + 1)), 1e-13) << "row " << i;
}

// Non-finite logits as softmax treats them: NaN or +inf among a row's keys makes the row NaN; a
// -inf logit is probability 0; keys after the query (masked) never matter.
TEST(CausalSoftmaxEntropy, NonFiniteLogitsFollowSoftmax) {
  torch::manual_seed(42);
  const int64_t B = 2, H = 2, T = 21, hs = 4;
  auto q = small_integers({B, H, T, hs}), k = small_integers({B, H, T, hs});
  q[0][1][5][2] = std::numeric_limits<float>::quiet_NaN();  // row 5 of head (0, 1): NaN
  k[1][0][9].fill_(1e20f);                                   // key 9 of head (1, 0): overflows to +-inf
  q[1][0][12].fill_(1e20f);                                  // and query 12 meets it as +inf
  q[1][0][15].fill_(-1e20f);                                 // query 15 as -inf: p = 0 there
  q[1][1][3].zero_();
  k[1][1][7] = std::numeric_limits<float>::infinity();  // a masked key for rows < 7 only
  const auto got = causal_softmax_row_entropy(q, k, 0.5);
  expect_same_rows(got, defined_row_entropy(q, k, 0.5), 1e-12);
  EXPECT_TRUE(std::isnan(got[0][1][5].item<double>()));
  EXPECT_TRUE(std::isnan(got[1][0][12].item<double>()));
  EXPECT_TRUE(std::isfinite(got[1][0][15].item<double>()));
  EXPECT_TRUE(std::isfinite(got[1][1][6].item<double>()));  // key 7 is in its future
  EXPECT_EQ(torch::isnan(got).sum().item<int64_t>(), torch::isnan(defined_row_entropy(q, k, 0.5)).sum().item<int64_t>());
}

// Any other dtype goes through LibTorch's float64 softmax: the same rows as the float32 pass.
TEST(CausalSoftmaxEntropy, Float64InputsGiveTheSameRows) {
  torch::manual_seed(43);
  auto q = small_integers({2, 2, 19, 8}), k = small_integers({2, 2, 19, 8});
  q[0][0][4][1] = std::numeric_limits<float>::quiet_NaN();
  const auto from_float = causal_softmax_row_entropy(q, k, 0.8);
  const auto from_double = causal_softmax_row_entropy(q.to(torch::kDouble), k.to(torch::kDouble), 0.8);
  expect_same_rows(from_float, from_double, 1e-12);
}

TEST(CausalSoftmaxEntropy, NeedsNoGraphAndRejectsBadShapes) {
  auto q = torch::randn({1, 2, 6, 4}, torch::requires_grad()), k = torch::randn({1, 2, 6, 4});
  EXPECT_FALSE(causal_softmax_row_entropy(q, k, 1.0).requires_grad());
  EXPECT_THROW(causal_softmax_row_entropy(q, torch::randn({1, 2, 5, 4}), 1.0), c10::Error);
  EXPECT_THROW(causal_softmax_row_entropy(q, k, 0.0), c10::Error);
}

}  // namespace
}  // namespace entropix
