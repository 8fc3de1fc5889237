// The online-softmax attention that carries row entropies (model/online_entropy_attention.h)
// against causal attention written out in full: outputs, entropies and the gradients of both
// with respect to q, k and v, across block sizes, dtypes and logit scales.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/model/online_entropy_attention.h"
#include "entropix/train/train_step.h"
#include "entropix/util/error.h"

namespace entropix {
namespace {

struct Reference {
  torch::Tensor out, entropy;
};

// softmax(q k^T + causal mask) v and -sum_j p ln p per row, with every probability materialised;
// differentiable by autograd. ln p is taken from log_softmax and zeroed where p = 0 (future
// keys), so 0 ln 0 contributes 0 and its gradient stays finite.
Reference full_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t T = q.size(2);
  auto future = torch::ones({T, T}, torch::kBool).triu(1);
  auto logits = torch::matmul(q, k.transpose(-2, -1)).masked_fill(future, -std::numeric_limits<double>::infinity());
  auto p = torch::softmax(logits, -1);                                   // (B, H, T, T)
  auto log_p = torch::log_softmax(logits, -1).masked_fill(future, 0.0);  // (B, H, T, T)
  return {torch::matmul(p, v), -(p * log_p).sum(-1)};
}

struct Grads {
  torch::Tensor out, entropy, dq, dk, dv;
};

// Outputs and the gradients of sum(out * g_out) + sum(entropy * g_ent); an undefined weight
// leaves that output out of the loss.
template <typename F>
Grads run(F attention, const torch::Tensor& q0, const torch::Tensor& k0, const torch::Tensor& v0,
          const torch::Tensor& g_out, const torch::Tensor& g_ent) {
  auto q = q0.detach().clone().requires_grad_(true);
  auto k = k0.detach().clone().requires_grad_(true);
  auto v = v0.detach().clone().requires_grad_(true);
  auto [out, entropy] = attention(q, k, v);
  torch::Tensor loss = torch::zeros({}, torch::kDouble);
  if (g_out.defined()) loss = loss + (out.to(torch::kDouble) * g_out).sum();
  if (g_ent.defined()) loss = loss + (entropy.to(torch::kDouble) * g_ent).sum();
  loss.backward();
  auto grad_or_zero = [](const torch::Tensor& t) { return t.grad().defined() ? t.grad() : torch::zeros_like(t); };
  return {out.detach(), entropy.detach(), grad_or_zero(q), grad_or_zero(k), grad_or_zero(v)};
}

Grads online(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t block,
             const torch::Tensor& g_out, const torch::Tensor& g_ent) {
  return run(
      [block](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c) {
        auto r = online_entropy_attention(a, b, c, block);
        return std::make_pair(r.out, r.entropy);
      },
      q, k, v, g_out, g_ent);
}

Grads reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& g_out,
                const torch::Tensor& g_ent) {
  return run(
      [](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c) {
        auto r = full_attention(a, b, c);
        return std::make_pair(r.out, r.entropy);
      },
      q, k, v, g_out, g_ent);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

void expect_close(const Grads& got, const Grads& want, double tol, const std::string& what) {
  EXPECT_LT(max_abs_diff(got.out, want.out), tol) << what << ": out";
  EXPECT_LT(max_abs_diff(got.entropy, want.entropy), tol) << what << ": entropy";
  EXPECT_LT(max_abs_diff(got.dq, want.dq), tol) << what << ": dq";
  EXPECT_LT(max_abs_diff(got.dk, want.dk), tol) << what << ": dk";
  EXPECT_LT(max_abs_diff(got.dv, want.dv), tol) << what << ": dv";
}

// In double both sides differ by rounding only (~1e-15 relative on O(1) values, summed over at
// most 37 terms per entry): 1e-10 leaves a wide margin and still catches any wrong term.
TEST(OnlineEntropyAttention, MatchesFullAttentionInDoubleForEveryBlockSize) {
  torch::manual_seed(21);
  const int64_t B = 2, H = 3, T = 37, hs = 5;  // T a multiple of no block size below but 1 and 37
  auto q = torch::randn({B, H, T, hs}, torch::kDouble), k = torch::randn({B, H, T, hs}, torch::kDouble);
  auto v = torch::randn({B, H, T, hs}, torch::kDouble);
  auto g_out = torch::randn({B, H, T, hs}, torch::kDouble), g_ent = torch::randn({B, H, T}, torch::kDouble);
  const auto want = reference(q, k, v, g_out, g_ent);
  for (int64_t block : {1, 4, 8, 16, 36, 37, 128}) {
    expect_close(online(q, k, v, block, g_out, g_ent), want, 1e-10, "block " + std::to_string(block));
  }
}

// Only one of the two outputs reaching the loss: the other's gradient arrives undefined and
// must count as zero.
TEST(OnlineEntropyAttention, EitherOutputAloneGivesItsOwnGradient) {
  torch::manual_seed(22);
  const int64_t B = 1, H = 2, T = 20, hs = 4;
  auto q = torch::randn({B, H, T, hs}, torch::kDouble), k = torch::randn({B, H, T, hs}, torch::kDouble);
  auto v = torch::randn({B, H, T, hs}, torch::kDouble);
  auto g_out = torch::randn({B, H, T, hs}, torch::kDouble), g_ent = torch::randn({B, H, T}, torch::kDouble);
  expect_close(online(q, k, v, 6, g_out, {}), reference(q, k, v, g_out, {}), 1e-10, "out only");
  const auto entropy_only = online(q, k, v, 6, {}, g_ent);
  expect_close(entropy_only, reference(q, k, v, {}, g_ent), 1e-10, "entropy only");
  EXPECT_EQ(entropy_only.dv.abs().max().item<double>(), 0.0);  // entropy does not depend on v
}

// Where every key gets the same logit, row i (0-based) is uniform over i + 1 keys: entropy
// ln(i + 1) and output the running mean of v. Known in closed form, independent of any code.
TEST(OnlineEntropyAttention, UniformRowsHaveEntropyLnOfTheirLength) {
  const int64_t T = 50;
  auto q = torch::zeros({1, 1, T, 3}, torch::kDouble), k = torch::randn({1, 1, T, 3}, torch::kDouble);
  auto v = torch::randn({1, 1, T, 3}, torch::kDouble);
  auto r = online_entropy_attention(q, k, v, 7);
  auto counts = torch::arange(1, T + 1, torch::kDouble);
  EXPECT_LT(max_abs_diff(r.entropy.view({T}), counts.log()), 1e-12);
  auto running_mean = v.view({T, 3}).cumsum(0) / counts.view({T, 1});
  EXPECT_LT(max_abs_diff(r.out.view({T, 3}), running_mean), 1e-12);
}

// Logits of several hundred: exp would overflow without the running maximum. Heads near one-hot
// (entropy ~0, the collapse the logs watch for) must come out finite and right. Compared in
// double; 1e-8 absolute allows for the larger logits (rounding ~1e-13 relative to ~500).
TEST(OnlineEntropyAttention, StaysFiniteAndExactWithLargeLogits) {
  torch::manual_seed(23);
  const int64_t B = 2, H = 2, T = 33, hs = 8;
  auto q = 8.0 * torch::randn({B, H, T, hs}, torch::kDouble), k = 8.0 * torch::randn({B, H, T, hs}, torch::kDouble);
  auto v = torch::randn({B, H, T, hs}, torch::kDouble);
  auto g_out = torch::randn({B, H, T, hs}, torch::kDouble), g_ent = torch::randn({B, H, T}, torch::kDouble);
  const auto got = online(q, k, v, 8, g_out, g_ent);
  EXPECT_TRUE(torch::isfinite(got.entropy).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(got.dq).all().item<bool>());
  EXPECT_LT(got.entropy.min().item<double>(), 1e-3);  // some rows are effectively one-hot
  expect_close(got, reference(q, k, v, g_out, g_ent), 1e-8, "large logits");
}

// float32 against the double reference: float32 rounding (6e-8 relative) accumulated over the
// 64-term sums and the products of O(1) values stays below 1e-5 absolute; 1e-4 keeps a margin
// for the recomputed probabilities in backward.
TEST(OnlineEntropyAttention, Float32MatchesTheDoubleReference) {
  torch::manual_seed(24);
  const int64_t B = 2, H = 4, T = 64, hs = 16;
  auto q = torch::randn({B, H, T, hs}, torch::kDouble) / 4.0, k = torch::randn({B, H, T, hs}, torch::kDouble);
  auto v = torch::randn({B, H, T, hs}, torch::kDouble);
  auto g_out = torch::randn({B, H, T, hs}, torch::kDouble), g_ent = torch::randn({B, H, T}, torch::kDouble);
  const auto got = online(q.to(torch::kFloat), k.to(torch::kFloat), v.to(torch::kFloat), 16, g_out, g_ent);
  EXPECT_EQ(got.out.scalar_type(), torch::kFloat);
  EXPECT_EQ(got.entropy.scalar_type(), torch::kFloat);
  expect_close(got, reference(q, k, v, g_out, g_ent), 1e-4, "float32");
}

// bfloat16 inputs (8-bit mantissa, relative rounding 4e-3): the products run in bf16, the
// statistics in float32. The entropy of a row of 64 keys then stays within 0.02 nats of the
// exact value, and every output and gradient within 3% of the largest reference entry.
TEST(OnlineEntropyAttention, BFloat16KeepsStatisticsInFloat32) {
  torch::manual_seed(25);
  const int64_t B = 1, H = 2, T = 64, hs = 16;
  auto q = (torch::randn({B, H, T, hs}, torch::kDouble) / 4.0).to(torch::kBFloat16).to(torch::kDouble);
  auto k = torch::randn({B, H, T, hs}, torch::kDouble).to(torch::kBFloat16).to(torch::kDouble);
  auto v = torch::randn({B, H, T, hs}, torch::kDouble).to(torch::kBFloat16).to(torch::kDouble);
  auto g_out = torch::randn({B, H, T, hs}, torch::kDouble), g_ent = torch::randn({B, H, T}, torch::kDouble);
  const auto want = reference(q, k, v, g_out, g_ent);
  const auto got = online(q.to(torch::kBFloat16), k.to(torch::kBFloat16), v.to(torch::kBFloat16), 16, g_out, g_ent);
  EXPECT_EQ(got.out.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(got.entropy.scalar_type(), torch::kFloat);
  EXPECT_EQ(got.dq.scalar_type(), torch::kBFloat16);
  EXPECT_LT(max_abs_diff(got.entropy, want.entropy), 0.02);
  auto relative = [](const torch::Tensor& a, const torch::Tensor& b) {
    return max_abs_diff(a, b) / b.abs().max().item<double>();
  };
  EXPECT_LT(relative(got.out, want.out), 0.03);
  EXPECT_LT(relative(got.dq, want.dq), 0.03);
  EXPECT_LT(relative(got.dk, want.dk), 0.03);
  EXPECT_LT(relative(got.dv, want.dv), 0.03);
}

TEST(OnlineEntropyAttention, RejectsMismatchedInputs) {
  auto a = torch::randn({1, 2, 4, 3});
  EXPECT_THROW(online_entropy_attention(a, torch::randn({1, 2, 5, 3}), a), c10::Error);
  EXPECT_THROW(online_entropy_attention(a, a.to(torch::kDouble), a), c10::Error);
  EXPECT_THROW(online_entropy_attention(a, a, a, 0), c10::Error);
}

// ---- The kernel inside the model -------------------------------------------------------------

ModelSpec tiny_model(const std::string& attention, const std::string& temperature_shape = "head") {
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 16;
  m.context = 12;
  m.vocab_size = 32;
  m.blocks.attention = attention;
  m.options["softmax_temperature.shape"] = temperature_shape;
  return m;
}

AttentionKernel online_kernel(int64_t block) {
  AttentionKernel k;
  k.online_entropy = true;
  k.block = block;
  return k;
}

// Temperatures away from 1 (and different per head and query), so that folding 1/t into the
// queries is actually exercised.
void spread_temperatures(GPT& model) {
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters())
    if (item.key().find("log_temperature") != std::string::npos) item.value().uniform_(-0.7, 0.7);
}

TEST(OnlineEntropyKernel, ChosenOnlyWhenEntropyIsWantedAndRejectsBadBlocks) {
  GPT model(tiny_model("softmax"));
  auto& attn = *model->blocks[0]->attn;
  EXPECT_EQ(attn.attention_path(/*entropy_wanted=*/true), "explicit");
  model->set_attention_kernel(online_kernel(4));
  EXPECT_EQ(attn.attention_path(true), "online_entropy");
  EXPECT_NE(attn.attention_path(false), "online_entropy");  // fused or explicit: no entropy, no need
  EXPECT_THROW(model->set_attention_kernel(online_kernel(0)), InputError);
}

// The same double-precision model through both kernels: logits, entropy records and the
// regularised step's gradients (every parameter, temperatures and thresholds included) agree to
// rounding, for plain softmax and both temperature shapes and both regulariser reductions.
TEST(OnlineEntropyKernel, SameLogitsEntropyRecordsAndRegularisedGradientsAsExplicit) {
  struct Case {
    std::string attention, shape, reduction;
  };
  for (const Case& c : {Case{"softmax", "head", "mean"}, Case{"softmax_temperature", "head", "sum"},
                        Case{"softmax_temperature", "head_query", "mean"}}) {
    const std::string what = c.attention + "/" + c.shape + "/" + c.reduction;
    torch::manual_seed(31);
    EntropyRegSpec reg;
    reg.enabled = true;
    reg.reduction = c.reduction;
    reg.tolerance = 0.05;  // a narrow band, so that most heads are penalised
    GPT model = build_model(tiny_model(c.attention, c.shape), reg);
    model->to(torch::kDouble);
    spread_temperatures(model);
    auto x = torch::randint(0, 32, {3, 12}, torch::kLong), y = torch::randint(0, 32, {3, 12}, torch::kLong);

    auto run_kernel = [&](const AttentionKernel& kernel) {
      model->set_attention_kernel(kernel);
      auto out = model->forward(x, /*keep_attention=*/true);
      const auto record = measure_attention_entropy(out, 5, "train", "observed");
      model->zero_grad();
      ExperimentSpec spec;
      spec.entropy_reg = reg;
      spec.entropy_reg.coeff = 0.5;  // large, so that a wrong entropy gradient shows in every weight
      TrainStep(model, spec).accumulate({{x, y}}, /*regularise=*/true);
      std::vector<torch::Tensor> grads;
      for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
      return std::make_tuple(out, record, grads);
    };
    const auto [ref_out, ref_record, ref_grads] = run_kernel(AttentionKernel{});
    const auto [out, record, grads] = run_kernel(online_kernel(5));  // 12 keys: blocks of 5, 5, 2

    EXPECT_TRUE(out.attn_probs.empty()) << what;
    ASSERT_EQ(out.attn_entropy.size(), 2u) << what;
    EXPECT_LT(max_abs_diff(out.logits, ref_out.logits), 1e-10) << what;
    for (size_t l = 0; l < 2; ++l) {
      EXPECT_EQ(out.attn_entropy[l].sizes(), (std::vector<int64_t>{3, 2, 12})) << what;
      for (size_t h = 0; h < 2; ++h)
        EXPECT_NEAR(record.headwise[l][h], ref_record.headwise[l][h], 1e-10) << what << " layer " << l << " head " << h;
      EXPECT_EQ(record.nan_counts[l], 0.0) << what;
    }
    EXPECT_DOUBLE_EQ(record.max_entropy, ref_record.max_entropy) << what;
    EXPECT_EQ(record.bins.fractions, ref_record.bins.fractions) << what;
    ASSERT_EQ(grads.size(), ref_grads.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      // Gradients of O(0.01 - 1) from sums of at most a few hundred terms: rounding ~1e-14.
      EXPECT_LT(max_abs_diff(grads[i], ref_grads[i]), 1e-9) << what << " parameter " << i;
    }
  }
}

// Under bf16 autocast (train.precision: bf16) the queries, keys and values arrive in bf16 while a
// learned temperature is float32: the step must run, keep float32 gradients and land near the
// explicit kernel's step (both in bf16: relative rounding 4e-3 per product; 5% of the largest
// gradient entry leaves room for the two kernels' different bf16 products).
TEST(OnlineEntropyKernel, Bf16AutocastStepMatchesTheExplicitKernel) {
  torch::manual_seed(32);
  EntropyRegSpec reg;
  reg.enabled = true;
  reg.tolerance = 0.05;
  GPT model = build_model(tiny_model("softmax_temperature", "head_query"), reg);
  spread_temperatures(model);
  auto x = torch::randint(0, 32, {4, 12}, torch::kLong), y = torch::randint(0, 32, {4, 12}, torch::kLong);
  auto step = [&](const AttentionKernel& kernel) {
    model->set_attention_kernel(kernel);
    model->zero_grad();
    ExperimentSpec spec;
    spec.entropy_reg = reg;
    spec.entropy_reg.coeff = 0.5;
    spec.train.precision = "bf16";
    const auto losses = TrainStep(model, spec).accumulate({{x, y}}, /*regularise=*/true);
    std::vector<torch::Tensor> grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(losses, grads);
  };
  const auto [ref_losses, ref_grads] = step(AttentionKernel{});
  const auto [losses, grads] = step(online_kernel(5));
  EXPECT_NEAR(losses.loss, ref_losses.loss, 0.02 * ref_losses.loss);
  EXPECT_NEAR(losses.ereg_loss, ref_losses.ereg_loss, 0.05 * ref_losses.ereg_loss + 1e-6);
  // Some gradients are zero in exact arithmetic (the key bias: softmax ignores a shift shared by
  // a whole row) and pure rounding noise here, so none is compared below a floor of 1e-3 of the
  // largest gradient entry of the step.
  double largest = 0;
  for (const auto& g : ref_grads) largest = std::max(largest, g.abs().max().item<double>());
  for (size_t i = 0; i < grads.size(); ++i) {
    EXPECT_EQ(grads[i].scalar_type(), torch::kFloat) << "parameter " << i;
    EXPECT_TRUE(torch::isfinite(grads[i]).all().item<bool>()) << "parameter " << i;
    const double scale = std::max(ref_grads[i].abs().max().item<double>(), 1e-3 * largest);
    EXPECT_LT(max_abs_diff(grads[i], ref_grads[i]), 0.05 * scale) << "parameter " << i;
  }
}

// A row whose entropy is not finite counts in nan_counts as the T probabilities softmax would
// have made NaN (a count over the heads), and its head's mean skips it.
TEST(OnlineEntropyKernel, RowRecordsCountNonFiniteRows) {
  auto rows = torch::full({2, 2, 4}, 1.0);  // (B, H, T)
  rows[0][1][2] = std::numeric_limits<float>::quiet_NaN();
  const auto rec = measure_row_entropy({rows}, 0, "train");
  EXPECT_EQ(rec.nan_counts[0], 4);  // one bad row of T = 4 keys
  EXPECT_DOUBLE_EQ(rec.headwise[0][1], 1.0);
  EXPECT_DOUBLE_EQ(rec.max_entropy, std::log(4.0));
}

}  // namespace
}  // namespace entropix
