// hashed_dropout: the vectorised, parallel kernel against the mask's element-by-element
// definition (hashed_dropout_detail::word), the mask's statistics, its gradient, and its
// dependence on the default CPU generator (what seeding and checkpoints rely on).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "entropix/model/hashed_dropout.h"

namespace entropix {
namespace {

namespace detail = hashed_dropout_detail;

// The seed hashed_dropout will draw after torch::manual_seed(s): the generator's first random64.
uint64_t first_draw_after(uint64_t s) {
  torch::manual_seed(s);
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

// x * mask * scale from the definition, one element at a time.
torch::Tensor expected_output(const torch::Tensor& x, uint64_t seed, double p) {
  auto xc = x.contiguous();
  auto y = torch::empty_like(xc);
  const float* src = xc.data_ptr<float>();
  float* dst = y.data_ptr<float>();
  const uint32_t limit = detail::threshold(p);
  const float scale = 1.0f / static_cast<float>(1.0 - p);
  for (int64_t i = 0; i < xc.numel(); ++i) dst[i] = src[i] * (detail::word(seed, i) >= limit ? scale : 0.0f);
  return y;
}

bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::equal(a.view(torch::kInt), b.view(torch::kInt));
}

// Restores the thread count a test changes.
struct ThreadCount {
  int saved = at::get_num_threads();
  ~ThreadCount() { at::set_num_threads(saved); }
};

TEST(HashedDropout, EqualsItsDefinitionElementByElementAtAnyThreadCount) {
  ThreadCount restore;
  // 100003 elements: a partial last block of 16; (7, 14287, 1): a batch-like shape.
  torch::manual_seed(1);
  const auto x = torch::randn({7, 14287, 1}).view({-1}).narrow(0, 0, 100003).clone();
  for (double p : {0.1, 0.5, 0.9}) {
    const uint64_t seed = first_draw_after(11);
    const auto want = expected_output(x, seed, p);
    for (int threads : {1, 2}) {
      at::set_num_threads(threads);
      torch::manual_seed(11);
      EXPECT_TRUE(bitwise_equal(hashed_dropout(x, p), want)) << "p " << p << ", " << threads << " thread(s)";
    }
  }
}

TEST(HashedDropout, KeepsOneMinusPOfTheElementsIndependently) {
  // n = 2^20 elements; every bound below is 6 binomial standard deviations, so a correct mask
  // fails one of them with probability below 1e-8.
  const int64_t n = int64_t{1} << 20;
  const auto ones = torch::ones({n});
  for (double p : {0.1, 0.5, 0.9}) {
    torch::manual_seed(23);
    const auto kept = hashed_dropout(ones, p).ne(0).to(torch::kDouble);  // (n) 1 where kept
    const auto again = hashed_dropout(ones, p).ne(0).to(torch::kDouble);  // the next call's mask
    const double q = 1 - p;
    auto near = [&](const torch::Tensor& indicator, double probability, const std::string& what) {
      const double count = indicator.sum().item<double>(), m = static_cast<double>(indicator.numel());
      EXPECT_NEAR(count / m, probability, 6 * std::sqrt(probability * (1 - probability) / m)) << what << ", p " << p;
    };
    near(kept, q, "kept fraction");
    // Neighbours, and elements 8 apart (the two halves of one 64-bit hash), are kept together
    // with probability q^2; element i of two calls likewise.
    near(kept.narrow(0, 0, n - 1) * kept.narrow(0, 1, n - 1), q * q, "neighbours both kept");
    near(kept.narrow(0, 0, n - 8) * kept.narrow(0, 8, n - 8), q * q, "elements 8 apart both kept");
    near(kept * again, q * q, "kept in two successive calls");
  }
}

TEST(HashedDropout, WordsAreUniform) {
  // Chi-square of the top byte of 2^20 words over 256 bins: 255 degrees of freedom, mean 255,
  // standard deviation 22.6; P(chi2 > 420) < 1e-9.
  std::vector<double> bins(256, 0.0);
  const int64_t n = int64_t{1} << 20;
  for (int64_t i = 0; i < n; ++i) bins[detail::word(0x1234567887654321ull, i) >> 24] += 1;
  const double expected = static_cast<double>(n) / 256;
  double chi2 = 0;
  for (double c : bins) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 420.0);
  EXPECT_GT(chi2, 130.0);  // P(chi2 < 130) < 1e-9 as well: suspiciously even counts
}

TEST(HashedDropout, GradientGoesThroughTheSameMaskAndScale) {
  torch::manual_seed(2);
  const auto x = torch::randn({5, 37, 9}).requires_grad_();
  const auto upstream = torch::randn({5, 37, 9});
  const double p = 0.3;
  const uint64_t seed = first_draw_after(5);
  torch::manual_seed(5);
  auto y = hashed_dropout(x, p);
  y.backward(upstream);
  EXPECT_TRUE(bitwise_equal(x.grad(), expected_output(upstream, seed, p)));
  EXPECT_TRUE(bitwise_equal(y.detach(), expected_output(x.detach(), seed, p)));
}

TEST(HashedDropout, TheGeneratorStateDecidesTheMaskAndOneDrawIsUsed) {
  const auto x = torch::randn({4096});
  torch::manual_seed(9);
  const auto first = hashed_dropout(x, 0.2), second = hashed_dropout(x, 0.2);
  EXPECT_FALSE(torch::equal(first, second));  // 4096 elements: equal masks by chance ~ 2^-2700
  torch::manual_seed(9);
  EXPECT_TRUE(torch::equal(hashed_dropout(x, 0.2), first));
  // Exactly one random64 per call: the draw after it is the generator's second.
  torch::manual_seed(9);
  auto gen = at::detail::getDefaultCPUGenerator();
  uint64_t second_draw = 0;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    auto* impl = gen.get<at::CPUGeneratorImpl>();
    impl->random64();
    second_draw = impl->random64();
  }
  torch::manual_seed(9);
  (void)hashed_dropout(x, 0.2);
  std::lock_guard<std::mutex> lock(gen.mutex());
  EXPECT_EQ(gen.get<at::CPUGeneratorImpl>()->random64(), second_draw);
}

TEST(HashedDropout, NonContiguousInputsUseTheirLogicalOrder) {
  torch::manual_seed(4);
  const auto x = torch::randn({33, 65});
  torch::manual_seed(8);
  const auto from_view = hashed_dropout(x.t(), 0.25);
  torch::manual_seed(8);
  EXPECT_TRUE(bitwise_equal(from_view, hashed_dropout(x.t().contiguous(), 0.25)));
}

TEST(HashedDropout, NonFiniteValuesAsLibTorchsDropout) {
  // LibTorch multiplies by the mask: a dropped NaN or infinity is NaN, a kept one stays.
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const auto x = torch::tensor({nan, inf, -inf}).repeat({64});  // (192)
  const double p = 0.5;
  const uint64_t seed = first_draw_after(3);
  torch::manual_seed(3);
  const auto y = hashed_dropout(x, p);
  const uint32_t limit = detail::threshold(p);
  int dropped = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float got = y[i].item<float>(), in = x[i].item<float>();
    if (detail::word(seed, i) >= limit) {
      EXPECT_TRUE(std::isnan(in) ? std::isnan(got) : got == in) << i;
    } else {
      ++dropped;
      EXPECT_TRUE(std::isnan(got)) << i;
    }
  }
  EXPECT_GT(dropped, 0);
}

TEST(HashedDropout, EdgeProbabilitiesOtherDtypesAndBadP) {
  const auto x = torch::randn({257});
  EXPECT_TRUE(hashed_dropout(x, 0.0).is_same(x));
  EXPECT_TRUE(torch::equal(hashed_dropout(x, 1.0), torch::zeros_like(x)));
  EXPECT_THROW(hashed_dropout(x, -0.1), c10::Error);
  EXPECT_THROW(hashed_dropout(x, 1.5), c10::Error);
  EXPECT_THROW(hashed_dropout(x, std::nan("")), c10::Error);
  // float64 goes to LibTorch's dropout: zeros and x / (1 - p), nothing else.
  const auto xd = torch::randn({4096}, torch::kDouble);
  const auto yd = hashed_dropout(xd, 0.5);
  const auto kept = yd.ne(0);
  EXPECT_TRUE(torch::allclose(yd.masked_select(kept), xd.masked_select(kept) * 2.0));
  EXPECT_GT(kept.sum().item<int64_t>(), 0);
  EXPECT_LT(kept.sum().item<int64_t>(), 4096);
  // The threshold rounds p * 2^32 and saturates.
  EXPECT_EQ(detail::threshold(0.5), 0x80000000u);
  EXPECT_EQ(detail::threshold(1.0 - 1e-12), 0xFFFFFFFFu);
}

}  // namespace
}  // namespace entropix
