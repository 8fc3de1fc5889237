// The model, the registry, the schedule and gradient accumulation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "entropix/describe/describe.h"
#include "entropix/model/gpt.h"
#include "entropix/model/registry.h"
#include "entropix/train/schedule.h"
#include "entropix/train/trainer.h"
#include "entropix/util/error.h"

namespace entropix {
namespace {

ModelSpec tiny(int64_t L = 2, int64_t H = 2, int64_t d = 16, int64_t T = 8, int64_t V = 32) {
  ModelSpec m;
  m.n_layer = L;
  m.n_head = H;
  m.n_embd = d;
  m.context = T;
  m.vocab_size = V;
  return m;
}

TEST(Model, ForwardShapesAndCausalProbabilities) {
  torch::manual_seed(1);
  GPT model(tiny());
  auto idx = torch::randint(0, 32, {3, 8}, torch::kLong);
  auto out = model->forward(idx, /*keep_attention=*/true);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 8, 32}));
  ASSERT_EQ(out.attn_probs.size(), 2u);
  for (const auto& p : out.attn_probs) {
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{3, 2, 8, 8}));
    EXPECT_TRUE(torch::allclose(p.sum(-1), torch::ones({3, 2, 8}), 1e-5, 1e-6));
    EXPECT_EQ(p.triu(1).abs().sum().item<float>(), 0.0f);  // no weight on future keys
  }
  // Shorter sequences work too.
  EXPECT_EQ(model->forward(idx.narrow(1, 0, 5)).logits.size(1), 5);
}

TEST(Model, CausalityOfLogits) {
  torch::manual_seed(2);
  GPT model(tiny());
  auto a = torch::randint(0, 32, {1, 8}, torch::kLong);
  auto b = a.clone();
  b[0][7] = (a[0][7].item<int64_t>() + 1) % 32;
  auto la = model->forward(a).logits, lb = model->forward(b).logits;
  EXPECT_TRUE(torch::allclose(la.narrow(1, 0, 7), lb.narrow(1, 0, 7)));
  EXPECT_FALSE(torch::allclose(la.narrow(1, 7, 1), lb.narrow(1, 7, 1)));
}

// Parameter count in closed form for the baseline: per block q_k (2d^2 + 2d), v, o (d^2 each),
// two LayerNorms (2d each), FFN (2 * 4d^2); embeddings V d + T d; final LayerNorm 2d.
TEST(Model, ParameterCountMatchesClosedForm) {
  const int64_t L = 3, d = 24, T = 16, V = 40;
  GPT model(tiny(L, 4, d, T, V));
  const int64_t per_block = (2 * d * d + 2 * d) + 2 * d * d + 2 * (2 * d) + 8 * d * d;
  EXPECT_EQ(model->parameter_count(), L * per_block + V * d + T * d + 2 * d);
  EXPECT_EQ(model->non_embedding_parameter_count(), L * per_block + 2 * d);
}

TEST(Model, NormFreeAndFfnFreeVariantsHaveFewerParameters) {
  ModelSpec m = tiny(2, 2, 16, 8, 32);
  m.blocks.norm = "none";
  m.final_norm = "none";
  GPT no_norm(m);
  for (const auto& item : no_norm->named_parameters())
    EXPECT_EQ(item.key().find("norm"), std::string::npos) << item.key();
  m.blocks.ffn = "none";
  GPT attn_only(m);
  EXPECT_LT(attn_only->parameter_count(), no_norm->parameter_count());
}

TEST(Model, Gpt2Initialisation) {
  torch::manual_seed(3);
  ModelSpec m = tiny(4, 4, 256, 8, 64);
  GPT model(m);
  auto stds = [&](const std::string& suffix) {
    for (const auto& item : model->named_parameters())
      if (item.key().size() >= suffix.size() && item.key().substr(item.key().size() - suffix.size()) == suffix)
        return item.value().std().item<double>();
    return -1.0;
  };
  EXPECT_NEAR(stds("h0.attn.v.weight"), 0.02, 0.002);
  EXPECT_NEAR(stds("h0.attn.o.weight"), 0.02 / std::sqrt(8.0), 0.001);
  EXPECT_NEAR(stds("h0.ffn.c_proj.weight"), 0.02 / std::sqrt(8.0), 0.001);
  auto params = model->named_parameters();
  ASSERT_NE(params.find("h0.attn.q.bias"), nullptr);
  EXPECT_EQ(params["h0.attn.q.bias"].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(params.find("h0.attn.v.bias"), nullptr);  // V, O and the FFN have no bias
}

TEST(Registry, UnknownNameListsValidNames) {
  try {
    registry_lookup("norm", "batchnorm");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("valid: layernorm, rmsnorm, none"), std::string::npos) << e.what();
  }
  for (const auto& kind : registry_kinds()) EXPECT_FALSE(registry_names(kind).empty()) << kind;
}

TEST(Describe, InventoryForBaselineGpt2Small) {
  ModelSpec m = tiny(12, 12, 768, 128, 50257);
  auto inv = nonlinearity_inventory(m);
  EXPECT_EQ(inv["softmax"]["count"], 144);
  EXPECT_EQ(inv["softmax"]["elements"], 144 * 128 * 128);
  EXPECT_EQ(inv["layernorm"]["count"], 25);  // 24 in blocks + the final one
  EXPECT_EQ(inv["layernorm"]["final"], 1);
  EXPECT_EQ(inv["layernorm"]["elements"], 25 * 128 * 768);
  EXPECT_EQ(inv["gelu"]["count"], 12);
  EXPECT_EQ(inv["gelu"]["elements"], 12 * 128 * 3072);
  m.blocks.norm = "none";
  m.final_norm = "none";
  m.blocks.activation = "identity";
  EXPECT_EQ(nonlinearity_inventory(m).size(), 1u);  // softmax-only
}

ModelSpec gpt2_small(int64_t L = 12, int64_t T = 128) { return tiny(L, 12, 768, T, 50257); }

// The forward FLOPs the seed papers report for GPT-2 small (docs/science.md, "Forward FLOPs"), to their 3 digits.
TEST(Describe, FlopsMatchThePapers) {
  auto billions = [](const nlohmann::json& f, const char* part) { return f[part].get<double>() / 1e9; };
  auto f = forward_flops(gpt2_small());
  EXPECT_NEAR(billions(f, "ffn"), 14.5, 0.05);
  EXPECT_NEAR(billions(f, "attention"), 7.7, 0.05);
  ModelSpec fused = gpt2_small();
  fused.blocks.ffn = "fused";
  fused.blocks.activation = "identity";
  EXPECT_NEAR(billions(forward_flops(fused), "ffn"), 1.8, 0.05);
  fused.layers.push_back({6, 11, {{"ffn", "none"}}});  // AERO: FFNs kept in 6 of 12 layers
  EXPECT_NEAR(billions(forward_flops(fused), "ffn"), 0.9, 0.05);
  auto t256 = forward_flops(gpt2_small(12, 256));
  EXPECT_NEAR(billions(t256, "ffn"), 29.0, 0.05);
  EXPECT_NEAR(billions(t256, "attention"), 16.3, 0.05);
  auto l18 = forward_flops(gpt2_small(18, 128));
  EXPECT_NEAR(billions(l18, "ffn"), 21.7, 0.05);
  EXPECT_NEAR(billions(l18, "attention"), 11.6, 0.05);
}

TEST(Describe, PerLayerOverridesShowInLayersAndInventory) {
  ModelSpec m = tiny(4, 2, 16, 8, 32);
  m.blocks.norm = "none";
  m.layers.push_back({0, 0, {{"norm", "layernorm"}}});
  m.layers.push_back({2, 3, {{"ffn", "none"}}});
  auto d = describe_model(m);
  EXPECT_EQ(d["layers"][0]["norm_1"], "layernorm");
  EXPECT_EQ(d["layers"][1]["norm_1"], "none");
  EXPECT_EQ(d["layers"][3]["ffn"], "none");
  EXPECT_LT(d["layers"][3]["params"].get<int64_t>(), d["layers"][1]["params"].get<int64_t>());
  auto inv = d["nonlinearities"];
  EXPECT_EQ(inv["layernorm"]["count"], 3);  // layer 0's two + the final norm
  EXPECT_EQ(inv["gelu"]["count"], 2);       // layers 0 and 1 keep an FFN
}

TEST(Schedule, WarmupThenDecay) {
  TrainSpec t;
  t.steps = 101;
  t.warmup = 10;
  t.lr = 1.0;
  t.min_lr_ratio = 0.1;
  t.schedule = "linear";
  EXPECT_DOUBLE_EQ(learning_rate(t, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(t, 9), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(t, 10), 1.0);
  EXPECT_NEAR(learning_rate(t, 100), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(t, 55), 0.55, 1e-12);
  t.schedule = "cosine";
  EXPECT_NEAR(learning_rate(t, 55), 0.55, 1e-12);  // midpoint of a cosine is the mean
  EXPECT_NEAR(learning_rate(t, 100), 0.1, 1e-12);
  EXPECT_LT(learning_rate(t, 30), 1.0);
  t.schedule = "constant";
  EXPECT_DOUBLE_EQ(learning_rate(t, 77), 1.0);
}

// Batch B with 2 accumulation steps must give the gradient of one batch of 2B.
TEST(Training, GradientAccumulationMatchesLargerBatch) {
  torch::manual_seed(4);
  GPT model(tiny(2, 2, 32, 16, 64));
  auto x = torch::randint(0, 64, {8, 16}, torch::kLong);
  auto y = torch::randint(0, 64, {8, 16}, torch::kLong);

  model->zero_grad();
  const double big = accumulate_gradients(model, {{x, y}}).loss;
  std::vector<torch::Tensor> g_big;
  for (const auto& p : model->parameters()) g_big.push_back(p.grad().clone());

  model->zero_grad();
  const double split = accumulate_gradients(model, {{x.narrow(0, 0, 4), y.narrow(0, 0, 4)},
                                                    {x.narrow(0, 4, 4), y.narrow(0, 4, 4)}}).loss;
  EXPECT_NEAR(big, split, 1e-5);
  auto params = model->parameters();
  // float32 sums in a different order: 1e-6 absolute / 1e-4 relative covers the rounding.
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i].grad(), g_big[i], 1e-4, 1e-6)) << i;
}

}  // namespace
}  // namespace entropix
