// The entropy regulariser against hand-computed values, and its gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "entropix/entropy/entropy.h"
#include "entropix/entropy/regulariser.h"
#include "entropix/train/optimizer.h"
#include "entropix/model/gpt.h"

namespace entropix {
namespace {

// Attention over T = 4 keys (no mask, to keep the hand computation short) where every query row
// of head h is the same distribution `rows[h]`.
torch::Tensor constant_rows(const std::vector<std::vector<double>>& rows, int64_t B = 2) {
  const int64_t H = static_cast<int64_t>(rows.size()), T = static_cast<int64_t>(rows[0].size());
  auto p = torch::zeros({B, H, T, T}, torch::kDouble);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t j = 0; j < T; ++j) p.select(1, h).select(-1, j).fill_(rows[h][j]);
  return p;
}

double entropy_of(const std::vector<double>& row) {
  double e = 0;
  for (double p : row)
    if (p > 0) e -= p * std::log(p);
  return e;
}

EntropyRegSpec reg_spec(const std::string& reduction, double gamma, double theta) {
  EntropyRegSpec s;
  s.enabled = true;
  s.reduction = reduction;
  s.tolerance = gamma;
  s.threshold_init = theta;
  return s;
}

TEST(Regulariser, BandedSquareHasADeadBand) {
  auto d = torch::tensor({-0.5, -0.2, 0.0, 0.19, 0.21, 1.0}, torch::kDouble);
  auto p = banded_square(d, 0.2);
  std::vector<double> want = {0.25, 0.0, 0.0, 0.0, 0.21 * 0.21, 1.0};  // |-0.2| is not > 0.2
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(p[i].item<double>(), want[i], 1e-15) << i;
}

// Two heads: one uniform (E = ln 4), one peaked. theta = 0.5, gamma = 0.1, E_max = ln 4.
TEST(Regulariser, MeanReductionMatchesHandComputation) {
  const std::vector<double> uniform = {0.25, 0.25, 0.25, 0.25}, peaked = {0.97, 0.01, 0.01, 0.01};
  auto probs = constant_rows({uniform, peaked});
  EntropyRegulariser reg(1, 2, reg_spec("mean", 0.1, 0.5));
  reg->to(torch::kDouble);
  const double e_max = std::log(4.0);
  double want = 0;
  for (const auto& row : {uniform, peaked}) {
    const double delta = entropy_of(row) - 0.5 * e_max;
    want += std::abs(delta) > 0.1 * e_max ? delta * delta : 0.0;
  }
  want /= 2;  // mean over heads; one layer
  EXPECT_NEAR(reg->forward({probs}).item<double>(), want, 1e-12);
}

// The sum reduction penalises every (sequence, query) entropy and sums them: B * T times the
// per-row penalty when all rows agree.
TEST(Regulariser, SumReductionScalesWithBatchTimesQueries) {
  const std::vector<double> uniform = {0.25, 0.25, 0.25, 0.25}, peaked = {0.97, 0.01, 0.01, 0.01};
  const int64_t B = 3, T = 4;
  auto probs = constant_rows({uniform, peaked}, B);
  EntropyRegulariser mean(1, 2, reg_spec("mean", 0.1, 0.5)), sum(1, 2, reg_spec("sum", 0.1, 0.5));
  mean->to(torch::kDouble);
  sum->to(torch::kDouble);
  EXPECT_NEAR(sum->forward({probs}).item<double>(), B * T * mean->forward({probs}).item<double>(), 1e-9);
}

TEST(Regulariser, NoPenaltyInsideTheBandAndLayersAreAveraged) {
  const double e_max = std::log(4.0);
  const std::vector<double> uniform = {0.25, 0.25, 0.25, 0.25};
  // theta = 1 puts the uniform head exactly on its threshold: zero penalty.
  EntropyRegulariser reg(2, 1, reg_spec("mean", 0.2, 1.0));
  reg->to(torch::kDouble);
  auto on_target = constant_rows({uniform});
  EXPECT_EQ(reg->forward({on_target, on_target}).item<double>(), 0.0);
  // Layer 2 one-hot: E = 0, delta = -ln 4, penalty ln^2 4; mean over 2 layers.
  auto one_hot = constant_rows({{1.0, 0.0, 0.0, 0.0}});
  EXPECT_NEAR(reg->forward({on_target, one_hot}).item<double>(), e_max * e_max / 2, 1e-12);
}

// Gradients reach the thresholds and, through attention, the learned temperature.
TEST(Regulariser, GradientsReachThresholdsAndTemperature) {
  torch::manual_seed(5);
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 16;
  m.context = 8;
  m.vocab_size = 32;
  m.blocks.attention = "softmax_temperature";
  EntropyRegSpec ereg = reg_spec("mean", 0.0, 0.9);  // no band: every head is penalised
  GPT model = build_model(m, ereg);
  auto idx = torch::randint(0, 32, {2, 8}, torch::kLong);
  auto out = model->forward(idx, /*keep_attention=*/true);
  attached_entropy_regulariser(model)->forward(out.attn_probs).backward();
  auto params = model->named_parameters();
  const auto& theta_grad = params["entropy_reg.threshold"].grad();
  ASSERT_TRUE(theta_grad.defined());
  EXPECT_GT(theta_grad.abs().sum().item<double>(), 0.0);
  const auto& t_grad = params["h0.attn.scores.log_temperature"].grad();
  ASSERT_TRUE(t_grad.defined());
  EXPECT_GT(t_grad.abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::isfinite(t_grad).all().item<bool>());
  // Thresholds are logged with the learned parameters, shaped [L][H].
  auto learned = model->learned_parameters();
  ASSERT_TRUE(learned.contains("threshold"));
  EXPECT_EQ(learned["threshold"].size(), 2u);
  EXPECT_NEAR(learned["threshold"][1][1].get<double>(), 0.9, 1e-6);
  // The thresholds carry their role, which the optimizer never decays.
  const torch::Tensor theta = attached_entropy_regulariser(model)->threshold;
  bool found = false;
  for (const auto& r : parameter_roles(*model))
    if (r.tensor.is_same(theta)) {
      found = true;
      EXPECT_EQ(r.role, ParamRole::Threshold);
    }
  EXPECT_TRUE(found);
  EXPECT_FALSE(decays(ParamRole::Threshold));
}

// Masked (p = 0) positions must not turn the gradient into NaN.
TEST(Regulariser, RowEntropyGradientIsFiniteUnderCausalMask) {
  auto logits = torch::randn({1, 2, 6, 6}, torch::requires_grad());
  auto mask = torch::ones({6, 6}, torch::kBool).triu(1);
  auto p = torch::softmax(logits.masked_fill(mask, -INFINITY), -1);
  row_entropy(p).sum().backward();
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());
  // And it equals entr where it is defined.
  auto direct = torch::special::entr(p.detach()).sum(-1);
  EXPECT_TRUE(torch::allclose(row_entropy(p.detach()), direct, 1e-6, 1e-7));
}

}  // namespace
}  // namespace entropix
