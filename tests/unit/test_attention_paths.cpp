// The attention computation: the explicit path against its definition, the choice between the
// explicit and the fused (LibTorch 2.x) path, the two paths against each other, and the attention
// probabilities a training step hands back for entropy.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "entropix/entropy/entropy.h"
#include "entropix/model/gpt.h"
#include "entropix/model/hashed_dropout.h"
#include "entropix/train/train_step.h"
#include "entropix/util/torch_compat.h"
#include "support/modules.h"

namespace entropix {
namespace {

ModelSpec attention_model_spec(const std::string& attention = "softmax") {
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 16;
  m.context = 8;
  m.vocab_size = 32;
  m.blocks.attention = attention;
  return m;
}

// The definition, written independently of the model's code: per head h,
// y_h = softmax(mask(q_h k_h^T / sqrt(hs))) v_h, mask = -inf where key j > query i; the heads
// concatenated, then the output projection.
torch::Tensor reference_attention(const CausalSelfAttentionImpl& attn, const torch::Tensor& x, int64_t H) {
  const int64_t B = x.size(0), T = x.size(1), d = x.size(2), hs = d / H;
  auto q = torch::matmul(x, test::param(attn, "q.weight").t()) + test::param(attn, "q.bias");
  auto k = torch::matmul(x, test::param(attn, "k.weight").t()) + test::param(attn, "k.bias");
  auto v = torch::matmul(x, test::param(attn, "v.weight").t());
  auto y = torch::zeros({B, T, d}, x.options());
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      auto qh = q[b].narrow(1, h * hs, hs), kh = k[b].narrow(1, h * hs, hs), vh = v[b].narrow(1, h * hs, hs);
      auto s = torch::matmul(qh, kh.t()) / std::sqrt(static_cast<double>(hs));  // (T, T)
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = i + 1; j < T; ++j) s[i][j] = -std::numeric_limits<double>::infinity();
      y[b].narrow(1, h * hs, hs).copy_(torch::matmul(torch::softmax(s, -1), vh));
    }
  }
  return torch::matmul(y, test::param(attn, "o.weight").t());
}

TEST(AttentionPaths, ExplicitPathMatchesTheDefinition) {
  torch::manual_seed(11);
  GPT model(attention_model_spec());
  model->to(torch::kDouble);
  auto& attn = *model->blocks[0]->attn;
  auto x = torch::randn({3, 8, 16}, torch::kDouble);
  torch::Tensor probs;
  auto y = attn.forward(x, &probs);  // probabilities wanted: always the explicit path
  // Both sides in double: only rounding (~1e-16 relative) separates them.
  EXPECT_TRUE(torch::allclose(y, reference_attention(attn, x, 2), 1e-10, 1e-12));
  EXPECT_EQ(probs.triu(1).abs().sum().item<double>(), 0.0);
  // Shorter sequences than the context use the top-left corner of the mask.
  auto xs = x.narrow(1, 0, 5);
  EXPECT_TRUE(torch::allclose(attn.forward(xs, &probs), reference_attention(attn, xs, 2), 1e-10, 1e-12));
}

// Central differences in double (h = 1e-6: truncation ~1e-12, rounding ~1e-10 for these O(1)
// values) against autograd through the explicit path, for a few entries of the query and key
// matrices, whose gradients pass through the scaled, masked logits.
TEST(AttentionPaths, ExplicitPathGradientsMatchFiniteDifferences) {
  torch::manual_seed(12);
  GPT model(attention_model_spec());
  model->to(torch::kDouble);
  auto& attn = *model->blocks[0]->attn;
  auto x = torch::randn({2, 6, 16}, torch::kDouble);
  auto proj = torch::randn({2, 6, 16}, torch::kDouble);  // a random projection: softmax has zero gradient under a plain sum
  torch::Tensor probs;
  auto loss = [&] { return (attn.forward(x, &probs) * proj).sum(); };
  for (const std::string name : {"q.weight", "k.weight", "q.bias"}) {
    torch::Tensor p = test::param(attn, name);
    const torch::Tensor analytic = torch::autograd::grad({loss()}, {p})[0].contiguous().view({-1});
    ASSERT_GT(analytic.abs().max().item<double>(), 1e-8) << name << ": zero gradient would make the check vacuous";
    torch::NoGradGuard no_grad;
    torch::Tensor flat = p.detach().view({-1});
    for (int64_t i = 0; i < std::min<int64_t>(flat.numel(), 12); ++i) {
      const double x0 = flat[i].item<double>(), h = 1e-6;
      flat[i].fill_(x0 + h);
      const double up = loss().item<double>();
      flat[i].fill_(x0 - h);
      const double down = loss().item<double>();
      flat[i].fill_(x0);
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(analytic[i].item<double>(), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << name << "[" << i << "]";
    }
  }
}

TEST(AttentionPaths, FusedOnlyForPlainSoftmaxWithoutProbabilitiesOnLibTorch2) {
  GPT plain(attention_model_spec("softmax"));
  GPT tempered(attention_model_spec("softmax_temperature"));
  const auto& a = *plain->blocks[0]->attn;
  const auto& t = *tempered->blocks[0]->attn;
  // Whenever entropy is wanted (records, the regulariser) the explicit path runs by default.
  EXPECT_EQ(a.attention_path(/*entropy_wanted=*/true), "explicit");
  EXPECT_EQ(t.attention_path(true), "explicit");
  // A learned temperature is not what the fused kernel computes.
  EXPECT_EQ(t.attention_path(false), "explicit");
  EXPECT_EQ(t.attention_path(true, /*entropy_grad=*/false), "explicit");
#if TORCH_VERSION_MAJOR >= 2
  EXPECT_TRUE(compat::has_fused_sdpa);
  EXPECT_EQ(a.attention_path(false), "fused");
  // A record without gradient: the fused kernel, each row's entropy beside it.
  EXPECT_EQ(a.attention_path(true, /*entropy_grad=*/false), "fused_with_row_entropy");
#else
  // LibTorch 1.13 has no public fused kernel: the explicit path, always.
  EXPECT_FALSE(compat::has_fused_sdpa);
  EXPECT_EQ(a.attention_path(false), "explicit");
  EXPECT_EQ(a.attention_path(true, /*entropy_grad=*/false), "explicit");
#endif
}

// On the CPU, attention dropout while training takes the explicit path, dropping out with
// hashed_dropout (LibTorch's CPU SDPA has no dropout of its own and would fall back to its math
// path); evaluation chooses as without dropout.
TEST(AttentionPaths, CpuAttentionDropoutTakesTheExplicitPathWhileTraining) {
  ModelSpec spec = attention_model_spec();
  spec.dropout.attention = 0.5;
  torch::manual_seed(12);
  GPT model(spec);
  auto& attn = *model->blocks[0]->attn;
  const auto x = torch::randn({2, 8, 16});
  torch::Tensor probs;
  bool rows = true;
  model->train();
  torch::manual_seed(5);
  const auto y = attn.forward(x, &probs, &rows, /*entropy_grad=*/false);
  EXPECT_FALSE(rows);  // probabilities, (B, H, T, T): the explicit path
  ASSERT_EQ(probs.dim(), 4);
  // The same output by hand: the probabilities dropped out with the mask of the same generator
  // state, times v, heads merged, output projection.
  const int64_t B = 2, T = 8, H = 2, hs = 8;
  auto v = torch::matmul(x, test::param(attn, "v.weight").t()).view({B, T, H, hs}).transpose(1, 2);  // (B, H, T, hs)
  torch::manual_seed(5);
  auto heads = torch::matmul(hashed_dropout(probs.detach(), 0.5), v);  // (B, H, T, hs)
  auto want = torch::matmul(heads.transpose(1, 2).reshape({B, T, H * hs}), test::param(attn, "o.weight").t());
  EXPECT_TRUE(torch::allclose(y, want, 1e-5, 1e-6));  // float32, the same operations up to their order
  model->eval();
  attn.forward(x, &probs, &rows, /*entropy_grad=*/false);
  EXPECT_EQ(rows, compat::has_fused_sdpa);  // the record-only fused path, where LibTorch has one
}

// The record-only path ("fused_with_row_entropy" on 2.x, the explicit path on 1.13): the row
// entropies of the explicit path's probabilities, detached from the graph, and the explicit
// path's output. Also taken without grad mode, whatever entropy_grad says.
TEST(AttentionPaths, RecordOnlyPathGivesTheExplicitRowEntropies) {
  torch::manual_seed(15);
  GPT model(attention_model_spec());
  auto& attn = *model->blocks[0]->attn;
  auto x = torch::randn({3, 8, 16});
  torch::Tensor explicit_probs, record, no_grad_record;
  bool explicit_rows = true, record_rows = false, no_grad_rows = false;
  const auto y_explicit = attn.forward(x, &explicit_probs, &explicit_rows);
  const auto y_record = attn.forward(x, &record, &record_rows, /*entropy_grad=*/false);
  {
    torch::NoGradGuard no_grad;
    attn.forward(x, &no_grad_record, &no_grad_rows);
  }
  EXPECT_FALSE(explicit_rows);
  EXPECT_TRUE(explicit_probs.requires_grad());
  EXPECT_EQ(record_rows, compat::has_fused_sdpa);
  EXPECT_EQ(no_grad_rows, compat::has_fused_sdpa);
  if (compat::has_fused_sdpa) {
    EXPECT_FALSE(record.requires_grad());
    EXPECT_EQ(record.sizes(), (std::vector<int64_t>{3, 2, 8}));
    // The explicit probabilities are a float32 softmax (relative error ~1e-7 per entry); the
    // record is the entropy of the same logits in float64. Entropies here are below ln 8 = 2.1,
    // so 1e-5 is far above the float32 rounding and far below any real mistake.
    const auto from_probs = row_entropy_sums(explicit_probs.detach());  // (B, H, T)
    EXPECT_LT((record - from_probs).abs().max().item<double>(), 1e-5);
    EXPECT_TRUE(torch::equal(no_grad_record, record));
  } else {
    EXPECT_TRUE(record.requires_grad());
    EXPECT_TRUE(torch::equal(record, explicit_probs.detach()));
  }
  // Output through the fused kernel on 2.x: float32 rounding as in FusedAndExplicitAgree.
  EXPECT_TRUE(torch::allclose(y_record, y_explicit, 1e-4, 1e-5));
}

// Records from either form are the same record: headwise entropies within float32 rounding and
// equal nan_counts, also when a head's queries are NaN. (The last layer's: LibTorch's CPU fused
// kernel returns zeros for a NaN query row where the explicit path returns NaN, so the layers
// after a poisoned one would see different inputs on the two paths.)
TEST(AttentionPaths, RecordsFromRowsAndFromProbabilitiesAgree) {
  if (!compat::has_fused_sdpa) GTEST_SKIP() << "LibTorch " << compat::torch_version() << " records from probabilities only";
  torch::manual_seed(16);
  GPT model(attention_model_spec());
  auto x = torch::randint(0, 32, {3, 8}, torch::kLong);
  auto compare = [&](const std::string& what) -> EntropyRecord {
    const auto from_probs = measure_entropy(model->forward(x, /*keep_attention=*/true).attn_probs, 1, "step");
    ForwardResult rows_out;
    {
      torch::NoGradGuard no_grad;
      rows_out = model->forward(x, /*keep_attention=*/true);
    }
    EXPECT_TRUE(rows_out.attn_probs.empty()) << what;
    const auto from_rows = measure_row_entropy(rows_out.attn_entropy, 1, "step");
    EXPECT_EQ(from_rows.nan_counts, from_probs.nan_counts) << what;
    for (size_t l = 0; l < from_probs.headwise.size(); ++l)
      for (size_t h = 0; h < from_probs.headwise[l].size(); ++h) {
        const double a = from_rows.headwise[l][h], b = from_probs.headwise[l][h];
        EXPECT_EQ(std::isnan(a), std::isnan(b)) << what << " layer " << l << " head " << h;
        if (!std::isnan(b)) {
          EXPECT_NEAR(a, b, 1e-5) << what << " layer " << l << " head " << h;  // as above
        }
      }
    return from_probs;
  };
  EXPECT_EQ(compare("finite").nan_counts, (std::vector<int64_t>{0, 0}));
  {
    torch::NoGradGuard no_grad;
    test::param(*model->blocks[1]->attn, "q.bias")[3] = std::numeric_limits<float>::quiet_NaN();  // head 0 of layer 1
  }
  const auto poisoned = compare("NaN queries in head 0 of layer 1");
  EXPECT_EQ(poisoned.nan_counts, (std::vector<int64_t>{0, 3 * 8 * 8}));  // B T rows of T probabilities, head 0
  EXPECT_TRUE(std::isnan(poisoned.headwise[1][0]));
  EXPECT_TRUE(std::isfinite(poisoned.headwise[1][1]));
}

TEST(AttentionPaths, FusedAndExplicitAgreeInValueAndGradient) {
  if (!compat::has_fused_sdpa)
    GTEST_SKIP() << "LibTorch " << compat::torch_version()
                 << " has no fused scaled-dot-product attention, so both calls would take the explicit path "
                    "(FusedOnlyForPlainSoftmaxWithoutProbabilitiesOnLibTorch2 checks that choice)";
  torch::manual_seed(13);
  GPT model(attention_model_spec());
  auto& attn = *model->blocks[0]->attn;
  auto x = torch::randn({4, 8, 16});
  auto proj = torch::randn({4, 8, 16});
  auto gradients = [&](bool explicit_path) {
    model->zero_grad();
    torch::Tensor probs;
    auto y = explicit_path ? attn.forward(x, &probs) : attn.forward(x);
    (y * proj).sum().backward();
    std::vector<torch::Tensor> out = {y.detach()};
    for (const auto& p : attn.parameters()) out.push_back(p.grad().clone());
    return out;
  };
  const auto fused = gradients(false), reference = gradients(true);
  // float32, different summation orders (online softmax in blocks): values of O(1) agree to a
  // few ulps times the row length; 1e-4 relative / 1e-5 absolute leaves a wide margin while a
  // wrong mask, scale or transpose would miss by O(1).
  for (size_t i = 0; i < fused.size(); ++i)
    EXPECT_TRUE(torch::allclose(fused[i], reference[i], 1e-4, 1e-5)) << (i == 0 ? "output" : "gradient ") << i;
}

// TrainStep::accumulate hands back the first micro-batch's attention for a record: the same as
// a forward of the unchanged model on that batch, detached (row entropies beside the fused kernel
// on 2.x, float32 probabilities on 1.13).
TEST(AttentionPaths, StepReturnsItsOwnAttention) {
  torch::manual_seed(14);
  GPT model(attention_model_spec());
  auto x = torch::randint(0, 32, {3, 8}, torch::kLong), y = torch::randint(0, 32, {3, 8}, torch::kLong);
  auto x2 = torch::randint(0, 32, {3, 8}, torch::kLong);
  const auto expected = model->forward(x, /*keep_attention=*/true).attn_probs;
  ForwardResult step_attention;
  TrainStep step(model, ExperimentSpec{});
  model->zero_grad();
  const double loss = step.accumulate({{x, y}, {x2, y}}, /*regularise=*/false, &step_attention).loss;
  // Capturing changes nothing about the step itself.
  model->zero_grad();
  EXPECT_DOUBLE_EQ(accumulate_gradients(model, {{x, y}, {x2, y}}).loss, loss);
  EXPECT_FALSE(step_attention.logits.defined());
  const auto& captured = compat::has_fused_sdpa ? step_attention.attn_entropy : step_attention.attn_probs;
  EXPECT_TRUE((compat::has_fused_sdpa ? step_attention.attn_probs : step_attention.attn_entropy).empty());
  ASSERT_EQ(captured.size(), expected.size());
  for (size_t l = 0; l < captured.size(); ++l) {
    EXPECT_FALSE(captured[l].requires_grad());
    if (compat::has_fused_sdpa) {
      // Row entropies of the same logits in float64 against float32 probabilities' (see above).
      EXPECT_LT((captured[l] - row_entropy_sums(expected[l].detach())).abs().max().item<double>(), 1e-5) << "layer " << l;
    } else {
      EXPECT_EQ(captured[l].scalar_type(), torch::kFloat);
      // The same computation on the same input and weights: equal up to float rounding at most.
      EXPECT_TRUE(torch::allclose(captured[l], expected[l].detach(), 1e-6, 1e-7)) << "layer " << l;
    }
  }
}

}  // namespace
}  // namespace entropix
