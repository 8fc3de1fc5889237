// Unit tests for the registry components (lib/entropix/model/{norms,activations,attention_scores,
// ffns,reparam,ffn_scaling}.cpp), built through build_component as the model builds them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "entropix/model/registry.h"
#include "support/modules.h"

namespace entropix {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kB = 2, kH = 2, kT = 3, kD = 4, kMult = 2;

ModelSpec tiny_model() {
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = kH;
  m.n_embd = kD;
  m.context = kT;
  m.ffn_mult = kMult;
  return m;
}

// The context of block `index`; `m` and `l` must outlive it (it holds references).
LayerContext make_ctx(const ModelSpec& m, const LayerSpec& l, int64_t index = 0,
                      SharedParameters* shared = nullptr) {
  LayerContext c{m, l, index, m.n_embd};
  c.shared = shared;
  return c;
}

LayerContext linear_ctx(const ModelSpec& m, const LayerSpec& l, int64_t in, int64_t out, bool bias) {
  LayerContext c = make_ctx(m, l);
  c.in_features = in;
  c.out_features = out;
  c.bias = bias;
  return c;
}

// Causally masked logits (B, H, T, T): -inf above the diagonal, as the attention code hands them over.
torch::Tensor masked_logits(int64_t B, int64_t H, int64_t T, torch::Dtype dtype = torch::kFloat) {
  auto mask = torch::ones({T, T}, torch::kBool).triu(1);                  // (T, T), true = future key
  return torch::randn({B, H, T, T}, dtype).mul(2.0).masked_fill(mask, -kInf);  // (B, H, T, T)
}

torch::Tensor buffer(const torch::nn::Module& m, const std::string& name) {
  auto buffers = m.named_buffers();
  const torch::Tensor* b = buffers.find(name);
  if (!b) throw std::runtime_error("no buffer named " + name);
  return *b;
}

std::set<std::string> param_names(const torch::nn::Module& m) {
  std::set<std::string> names;
  for (const auto& item : m.named_parameters()) names.insert(item.key());
  return names;
}

int64_t param_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// Checks autograd's gradient of the scalar loss() with respect to every element of the double
// tensor `p` against the central difference (loss(p + h e_i) - loss(p - h e_i)) / 2h, h = 1e-6.
// In double precision the truncation error is O(h^2) ~ 1e-12 and the rounding error about
// 1e-16 * |loss| / h ~ 1e-10 for the O(1) losses used here, so the tolerance 1e-6 (absolute, or
// relative for gradients above 1) leaves a wide margin while any real error in a derivative
// (a missing factor, a detached path) is far larger. The gradient must also be non-zero, so the
// check can't pass vacuously.
void expect_gradients_match(const std::function<torch::Tensor()>& loss, const torch::Tensor& p,
                            const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(p.scalar_type(), torch::kDouble);
  ASSERT_TRUE(p.requires_grad());
  const torch::Tensor analytic = torch::autograd::grad({loss()}, {p})[0].contiguous().view({-1});
  EXPECT_GT(analytic.abs().max().item<double>(), 1e-8) << "gradient is zero: the check would be vacuous";
  torch::NoGradGuard no_grad;
  torch::Tensor flat = p.detach().view({-1});  // shares p's storage
  const double h = 1e-6;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double x0 = flat[i].item<double>();
    flat[i].fill_(x0 + h);
    const double up = loss().item<double>();
    flat[i].fill_(x0 - h);
    const double down = loss().item<double>();
    flat[i].fill_(x0);
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(analytic[i].item<double>(), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "element " << i;
  }
}

// Backpropagates a random projection of `out` (a plain sum would give softmax zero gradient) and
// checks every parameter and input received a finite gradient of its own shape.
void expect_backward_shapes(const torch::nn::Module& m, const torch::Tensor& out,
                            const std::vector<torch::Tensor>& inputs) {
  out.mul(torch::randn_like(out)).sum().backward();
  for (const auto& item : m.named_parameters()) {
    const torch::Tensor& g = item.value().grad();
    ASSERT_TRUE(g.defined()) << "no gradient for " << item.key();
    EXPECT_EQ(g.sizes(), item.value().sizes()) << item.key();
    EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << item.key();
  }
  for (const auto& x : inputs) {
    ASSERT_TRUE(x.grad().defined());
    EXPECT_EQ(x.grad().sizes(), x.sizes());
    EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  }
}

// -sum_j p_j ln p_j per row, with 0 ln 0 = 0: (..., T) -> (...).
torch::Tensor row_entropy(const torch::Tensor& p) {
  return -torch::where(p > 0, p * torch::log(p), torch::zeros_like(p)).sum(-1);
}

// ---------------------------------------------------------------------------------------------
// The registry as a whole

TEST(Components, RegistryListsEveryKindWithDocumentedEntries) {
  const std::vector<std::string> kinds = {"norm", "activation", "attention", "ffn", "reparam", "ffn_scaling"};
  EXPECT_EQ(registry_kinds(), kinds);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& e : registry_entries()) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), e.info.kind), kinds.end()) << e.info.kind;
    EXPECT_TRUE(seen.insert({e.info.kind, e.info.name}).second) << "duplicate " << e.info.kind << "/" << e.info.name;
    EXPECT_FALSE(e.info.doc.empty()) << e.info.kind << "/" << e.info.name;
    EXPECT_EQ(e.info.doc.find('\n'), std::string::npos) << e.info.kind << "/" << e.info.name;
  }
  for (const auto& kind : kinds) EXPECT_FALSE(registry_names(kind).empty()) << kind;

  // The nonlinear operations each descriptor's cost names, in a GPT-2 baseline layer (so the mlp
  // reports its default activation, GELU). The PI cost model prices exactly these.
  const std::map<std::pair<std::string, std::string>, std::string> ops = {
      {{"norm", "layernorm"}, "layernorm"},         {{"norm", "rmsnorm"}, "rmsnorm"},
      {{"norm", "none"}, ""},                       {{"activation", "gelu"}, "gelu"},
      {{"activation", "relu"}, "relu"},             {{"activation", "leaky_relu"}, "leaky_relu"},
      {{"activation", "learnable_leaky_relu"}, "leaky_relu"},
      {{"activation", "squared_relu"}, "relu"},
      {{"activation", "identity"}, ""},             {{"attention", "softmax"}, "softmax"},
      {{"attention", "softmax_temperature"}, "softmax"},
      {{"ffn", "mlp"}, "gelu"},                     {{"ffn", "fused"}, ""},
      {{"ffn", "none"}, ""},                        {{"reparam", "none"}, ""},
      {{"reparam", "weight_norm"}, ""},             {{"reparam", "spectral_norm"}, ""},
      {{"ffn_scaling", "none"}, ""},                {{"ffn_scaling", "learnable_scale"}, ""},
  };
  const ModelSpec defaults;
  const LayerSpec baseline;
  for (const auto& [key, op] : ops) {
    const ComponentDescriptor& d = registry_lookup(key.first, key.second);
    LayerContext ctx{defaults, baseline, 0, defaults.n_embd};
    ctx.in_features = ctx.out_features = defaults.n_embd;
    std::string named;
    if (d.cost)
      for (const auto& use : d.cost(ctx).nonlinear) named += (named.empty() ? "" : ",") + use.op;
    EXPECT_EQ(named, op) << key.first << "/" << key.second;
    if (d.caps.builds_nothing) {
      EXPECT_EQ(d.make(ctx), nullptr) << key.first << "/" << key.second;
    }
  }
  EXPECT_EQ(seen.size(), ops.size()) << "an entry without an expectation here";
}

// Every entry of every kind: absent entries build nullptr, the others map inputs to the shape of
// their kind and pass finite gradients of the right shape to every parameter and input.
TEST(Components, EveryEntryForwardAndBackwardShapes) {
  torch::manual_seed(0);
  const ModelSpec m = tiny_model();
  const std::set<std::string> absent = {"norm/none", "activation/identity", "ffn/none", "ffn_scaling/none"};
  for (const auto& e : registry_entries())  // the descriptors say the same
    EXPECT_EQ(e.caps.builds_nothing, absent.count(e.info.kind + "/" + e.info.name) == 1) << e.info.name;
  const auto x_shape = std::vector<int64_t>{kB, kT, kD};
  for (const auto& e : registry_entries()) {
    const std::string id = e.info.kind + "/" + e.info.name;
    SCOPED_TRACE(id);
    LayerSpec l;
    if (e.info.kind == "reparam") {
      for (bool bias : {false, true}) {
        auto lin = build_component<LinearOpImpl>(e.info.kind, e.info.name, linear_ctx(m, l, kD, 5, bias));
        ASSERT_TRUE(lin);
        EXPECT_EQ(lin->weight().sizes(), (std::vector<int64_t>{5, kD}));
        EXPECT_EQ(bool(lin->named_parameters().find("bias")), bias);
        auto x = torch::randn(x_shape).requires_grad_();
        auto y = lin->forward(x);
        EXPECT_EQ(y.sizes(), (std::vector<int64_t>{kB, kT, 5}));
        expect_backward_shapes(*lin, y, {x});
      }
      continue;
    }
    if (e.info.kind == "ffn_scaling") {
      auto mix = build_component<ResidualMixImpl>(e.info.kind, e.info.name, make_ctx(m, l));
      EXPECT_EQ(!mix, absent.count(id) == 1);
      if (!mix) continue;
      auto x = torch::randn(x_shape).requires_grad_(), f = torch::randn(x_shape).requires_grad_();
      auto y = mix->forward(x, f);
      EXPECT_EQ(y.sizes(), x.sizes());
      expect_backward_shapes(*mix, y, {x, f});
      continue;
    }
    if (e.info.kind == "ffn") {
      // Every reparameterisation and every activation the entry accepts.
      for (const auto& reparam : registry_names("reparam")) {
        for (const auto& act : registry_names("activation")) {
          if (e.info.name == "fused" && act != "identity") continue;
          SCOPED_TRACE(reparam + ", " + act);
          LayerSpec fl;
          fl.ffn_reparam = reparam;
          fl.activation = act;
          auto ffn = build_component<UnaryOpImpl>(e.info.kind, e.info.name, make_ctx(m, fl));
          EXPECT_EQ(!ffn, absent.count(id) == 1);
          if (!ffn) continue;
          auto x = torch::randn(x_shape).requires_grad_();
          auto y = ffn->forward(x);
          EXPECT_EQ(y.sizes(), x.sizes());
          expect_backward_shapes(*ffn, y, {x});
        }
      }
      continue;
    }
    auto op = build_component<UnaryOpImpl>(e.info.kind, e.info.name, make_ctx(m, l));
    EXPECT_EQ(!op, absent.count(id) == 1);
    if (!op) continue;
    torch::Tensor x = e.info.kind == "attention" ? masked_logits(kB, kH, kT) : torch::randn(x_shape);
    x.requires_grad_();
    auto y = op->forward(x);
    EXPECT_EQ(y.sizes(), x.sizes());
    if (e.info.kind == "attention") {
      EXPECT_TRUE(torch::allclose(y.sum(-1), torch::ones({kB, kH, kT}), 1e-5, 1e-6)) << "rows sum to 1";
      EXPECT_TRUE((y.masked_select(torch::isneginf(x)) == 0).all().item<bool>()) << "masked stay 0";
    }
    expect_backward_shapes(*op, y, {x});
  }
}

// ---------------------------------------------------------------------------------------------
// Norms and activations

TEST(Components, RmsNormHasUnitRmsAndMatchesTheFormula) {
  torch::manual_seed(1);
  ModelSpec m = tiny_model();
  m.n_embd = 5;
  LayerSpec l;
  auto norm = build_component<UnaryOpImpl>("norm", "rmsnorm", make_ctx(m, l));
  ASSERT_TRUE(norm);
  EXPECT_EQ(param_names(*norm), (std::set<std::string>{"weight"}));
  EXPECT_TRUE(torch::equal(test::param(*norm, "weight"), torch::ones({5})));  // gain init 1
  norm->to(torch::kDouble);
  auto x = torch::randn({2, 3, 5}, torch::kDouble) * 3 + 1;
  auto y = norm->forward(x);
  auto rms = y.pow(2).mean(-1).sqrt();  // (2, 3)
  EXPECT_TRUE(torch::allclose(rms, torch::ones_like(rms), 0, 1e-4)) << rms;

  {
    torch::NoGradGuard no_grad;
    test::param(*norm, "weight").copy_(torch::tensor({1.0, 2.0, -1.0, 0.5, 3.0}, torch::kDouble));
  }
  y = norm->forward(x);
  const double g[5] = {1.0, 2.0, -1.0, 0.5, 3.0};
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 3; ++t) {
      double ms = 0;
      for (int64_t j = 0; j < 5; ++j) ms += std::pow(x[b][t][j].item<double>(), 2) / 5;
      for (int64_t j = 0; j < 5; ++j)
        EXPECT_NEAR(y[b][t][j].item<double>(), x[b][t][j].item<double>() / std::sqrt(ms + 1e-5) * g[j], 1e-12);
    }
}

TEST(Components, LeakyReluMatchesTheFormula) {
  ModelSpec m = tiny_model();
  m.options["leaky_relu.slope"] = "0.1";
  m.options["learnable_leaky_relu.init"] = "0.1";
  LayerSpec l;
  auto x = torch::tensor({-3.0, -0.5, 0.0, 0.25, 2.0});
  for (const std::string name : {"leaky_relu", "learnable_leaky_relu"}) {
    SCOPED_TRACE(name);
    auto act = build_component<UnaryOpImpl>("activation", name, make_ctx(m, l));
    ASSERT_TRUE(act);
    auto y = act->forward(x);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double xi = x[i].item<double>();
      EXPECT_NEAR(y[i].item<double>(), xi >= 0 ? xi : 0.1 * xi, 1e-7) << "x = " << xi;
    }
  }
  // The fixed slope is not a parameter.
  EXPECT_TRUE(build_component<UnaryOpImpl>("activation", "leaky_relu", make_ctx(m, l))->parameters().empty());
}

TEST(Components, LearnableSlopeLayerScopeOwnsOneSlopePerLayer) {
  ModelSpec m = tiny_model();
  m.options["learnable_leaky_relu.init"] = "0.03";
  m.options["learnable_leaky_relu.scope"] = "layer";
  LayerSpec l;
  auto a0 = build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l, 0));
  auto a1 = build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l, 1));
  EXPECT_EQ(param_names(*a0), (std::set<std::string>{"slope"}));
  EXPECT_EQ(test::param(*a0, "slope").sizes(), (std::vector<int64_t>{1}));
  EXPECT_NEAR(test::param(*a0, "slope").item<double>(), 0.03, 1e-9);
  EXPECT_FALSE(test::param(*a0, "slope").is_same(test::param(*a1, "slope")));

  m.options["learnable_leaky_relu.scope"] = "bogus";
  EXPECT_THROW(build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l)), c10::Error);
}

TEST(Components, LearnableSlopeGlobalScopeSharesOneTensor) {
  torch::manual_seed(2);
  ModelSpec m = tiny_model();
  m.options["learnable_leaky_relu.scope"] = "global";
  LayerSpec l;
  l.activation = "learnable_leaky_relu";
  // Without the model's shared slope the component can't be built.
  EXPECT_THROW(build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l)), c10::Error);
  SharedParameters empty;
  EXPECT_THROW(build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l, 0, &empty)),
               c10::Error);

  auto owner = std::make_shared<ComponentModule>();  // stands in for the model
  SharedParameters shared(owner.get());
  m.options["learnable_leaky_relu.init"] = "0.2";
  auto a0 = build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l, 0, &shared));
  auto a1 = build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l, 1, &shared));
  // The owner registers the shared slope once; the activations must not (it would be counted twice).
  EXPECT_TRUE(a0->parameters().empty());
  EXPECT_TRUE(a1->parameters().empty());
  ASSERT_EQ(owner->parameters().size(), 1u);
  const torch::Tensor global_slope = owner->parameters()[0];
  EXPECT_NEAR(global_slope.item<double>(), 0.2, 1e-7);
  ASSERT_EQ(parameter_roles(*owner).size(), 1u);
  EXPECT_EQ(parameter_roles(*owner)[0].role, ParamRole::Scalar);

  // d/ds of the summed outputs is the sum of the negative inputs of both layers.
  auto x0 = torch::randn({3, 7}), x1 = torch::randn({2, 5});
  (a0->forward(x0).sum() + a1->forward(x1).sum()).backward();
  const double expected = x0.clamp_max(0).sum().item<double>() + x1.clamp_max(0).sum().item<double>();
  ASSERT_TRUE(global_slope.grad().defined());
  EXPECT_NEAR(global_slope.grad().item<double>(), expected, 1e-4);

  // Updating the shared tensor in place (as the optimiser does) changes both layers.
  {
    torch::NoGradGuard no_grad;
    global_slope.fill_(0.5);
  }
  auto neg = torch::tensor({-2.0f});
  EXPECT_NEAR(a0->forward(neg).item<double>(), -1.0, 1e-6);
  EXPECT_NEAR(a1->forward(neg).item<double>(), -1.0, 1e-6);

  // Inside FFNs: the mlp's parameters are its two matrices only.
  auto ffn = build_component<UnaryOpImpl>("ffn", "mlp", make_ctx(m, l, 0, &shared));
  EXPECT_EQ(param_count(*ffn), 2 * kMult * kD * kD);
}

// ---------------------------------------------------------------------------------------------
// Attention

TEST(Components, TemperatureParameterShapesAndInitialValue) {
  ModelSpec m = tiny_model();
  m.options["softmax_temperature.init"] = "0.5";
  LayerSpec l;
  auto head = build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l));
  EXPECT_EQ(param_names(*head), (std::set<std::string>{"log_temperature"}));
  EXPECT_EQ(test::param(*head, "log_temperature").sizes(), (std::vector<int64_t>{kH}));
  EXPECT_TRUE(torch::allclose(test::param(*head, "log_temperature").exp(), torch::full({kH}, 0.5)));
  m.options["softmax_temperature.shape"] = "head_query";
  auto hq = build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l));
  EXPECT_EQ(test::param(*hq, "log_temperature").sizes(), (std::vector<int64_t>{kH, kT}));
  m.options["softmax_temperature.shape"] = "bogus";
  EXPECT_THROW(build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l)), c10::Error);

  // t = 1 is exactly softmax.
  m.options["softmax_temperature.shape"] = "head";
  m.options["softmax_temperature.init"] = "1.0";
  auto one = build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l));
  auto logits = masked_logits(kB, kH, kT);
  EXPECT_TRUE(torch::allclose(one->forward(logits), torch::softmax(logits, -1), 1e-6, 1e-7));
}

TEST(Components, HigherTemperatureRaisesAttentionEntropy) {
  torch::manual_seed(3);
  ModelSpec m = tiny_model();
  m.context = 8;
  LayerSpec l;
  m.options["softmax_temperature.init"] = "2.0";
  auto hot = build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l));
  m.options["softmax_temperature.init"] = "0.5";
  auto cold = build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l));
  auto logits = masked_logits(2, kH, 8);
  auto e_hot = row_entropy(hot->forward(logits));    // (B, H, T)
  auto e_cold = row_entropy(cold->forward(logits));  // (B, H, T)
  // Row 0 sees one key (entropy 0 at any temperature); every later row strictly gains entropy.
  using torch::indexing::Slice;
  EXPECT_TRUE((e_hot.index({Slice(), Slice(), Slice(1)}) > e_cold.index({Slice(), Slice(), Slice(1)}))
                  .all()
                  .item<bool>());
  EXPECT_GT(e_hot.sum().item<double>(), e_cold.sum().item<double>());
}

TEST(Components, HeadQueryTemperatureDividesEachQueryRowByItsOwnT) {
  torch::manual_seed(4);
  ModelSpec m = tiny_model();
  m.context = 4;
  m.options["softmax_temperature.shape"] = "head_query";
  LayerSpec l;
  auto scores = build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l));
  scores->to(torch::kDouble);
  const double t[2][4] = {{0.5, 1.0, 2.0, 3.0}, {4.0, 0.25, 1.5, 5.0}};
  {
    torch::NoGradGuard no_grad;
    test::param(*scores, "log_temperature")
        .copy_(torch::log(torch::tensor({0.5, 1.0, 2.0, 3.0, 4.0, 0.25, 1.5, 5.0}, torch::kDouble).view({2, 4})));
  }
  for (int64_t Tq : {4, 2}) {  // fewer query rows than model.context use the first Tq temperatures
    SCOPED_TRACE("T' = " + std::to_string(Tq));
    auto logits = masked_logits(2, 2, Tq, torch::kDouble);
    auto p = scores->forward(logits);  // (2, 2, Tq, Tq)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t i = 0; i < Tq; ++i) {
          double z = 0;
          for (int64_t j = 0; j <= i; ++j) z += std::exp(logits[b][h][i][j].item<double>() / t[h][i]);
          for (int64_t j = 0; j < Tq; ++j) {
            const double expected = j <= i ? std::exp(logits[b][h][i][j].item<double>() / t[h][i]) / z : 0.0;
            EXPECT_NEAR(p[b][h][i][j].item<double>(), expected, 1e-12) << b << h << i << j;
          }
        }
  }
  EXPECT_THROW(scores->forward(masked_logits(1, 2, 5, torch::kDouble)), c10::Error);  // T' > context
}

// ---------------------------------------------------------------------------------------------
// FFNs

TEST(Components, FfnParameterCountsAndNames) {
  ModelSpec m = tiny_model();
  m.n_embd = 8;
  m.ffn_mult = 4;
  LayerSpec l;
  l.activation = "gelu";
  auto mlp = build_component<UnaryOpImpl>("ffn", "mlp", make_ctx(m, l));
  EXPECT_EQ(param_count(*mlp), 2 * 4 * 8 * 8);
  EXPECT_EQ(param_names(*mlp), (std::set<std::string>{"c_fc.weight", "c_proj.weight"}));
  EXPECT_EQ(test::param(*mlp, "c_fc.weight").sizes(), (std::vector<int64_t>{32, 8}));

  l.activation = "identity";
  auto fused = build_component<UnaryOpImpl>("ffn", "fused", make_ctx(m, l));
  EXPECT_EQ(param_count(*fused), 8 * 8);
  EXPECT_EQ(param_names(*fused), (std::set<std::string>{"c_fused.weight"}));

  // The layer's reparam applies to every FFN matrix.
  l.ffn_reparam = "weight_norm";
  EXPECT_EQ(param_names(*build_component<UnaryOpImpl>("ffn", "fused", make_ctx(m, l))),
            (std::set<std::string>{"c_fused.v", "c_fused.g"}));
  l.activation = "relu";
  EXPECT_EQ(param_names(*build_component<UnaryOpImpl>("ffn", "mlp", make_ctx(m, l))),
            (std::set<std::string>{"c_fc.v", "c_fc.g", "c_proj.v", "c_proj.g"}));
  l.ffn_reparam = "spectral_norm";
  auto sn = build_component<UnaryOpImpl>("ffn", "mlp", make_ctx(m, l));
  EXPECT_EQ(param_names(*sn), (std::set<std::string>{"c_fc.weight_orig", "c_proj.weight_orig"}));
  EXPECT_EQ(buffer(*sn, "c_proj.u").sizes(), (std::vector<int64_t>{8}));

  // fused is linear only: any activation is refused.
  l.activation = "relu";
  EXPECT_THROW(build_component<UnaryOpImpl>("ffn", "fused", make_ctx(m, l)), c10::Error);
}

TEST(Components, MlpUsesTheLayersActivationAndReparam) {
  torch::manual_seed(5);
  ModelSpec m = tiny_model();
  m.blocks.activation = "gelu";  // the model-wide default; the layer's own value must win
  m.options["leaky_relu.slope"] = "0.1";
  LayerSpec l;
  l.activation = "leaky_relu";
  l.ffn_reparam = "weight_norm";
  auto ffn = build_component<UnaryOpImpl>("ffn", "mlp", make_ctx(m, l));
  auto named = ffn->named_children();
  auto c_fc = std::dynamic_pointer_cast<LinearOpImpl>(named["c_fc"]);
  auto c_proj = std::dynamic_pointer_cast<LinearOpImpl>(named["c_proj"]);
  ASSERT_TRUE(c_fc && c_proj);
  auto x = torch::randn({kB, kT, kD});
  auto h = torch::matmul(x, c_fc->weight().t());                         // (B, T, mult*d)
  auto expected = torch::matmul(torch::where(h >= 0, h, 0.1 * h), c_proj->weight().t());  // (B, T, d)
  EXPECT_TRUE(torch::allclose(ffn->forward(x), expected, 1e-5, 1e-7));
}

// ---------------------------------------------------------------------------------------------
// Reparameterisations

TEST(Components, WeightNormLeavesTheFunctionUnchangedAtInit) {
  torch::manual_seed(6);
  const ModelSpec m = tiny_model();
  const LayerSpec l;
  auto wn = build_component<LinearOpImpl>("reparam", "weight_norm", linear_ctx(m, l, 5, 3, true));
  auto plain = build_component<LinearOpImpl>("reparam", "none", linear_ctx(m, l, 5, 3, true));
  EXPECT_EQ(param_names(*wn), (std::set<std::string>{"v", "g", "bias"}));
  EXPECT_EQ(param_names(*plain), (std::set<std::string>{"weight", "bias"}));
  const torch::Tensor v = test::param(*wn, "v");
  EXPECT_TRUE(torch::allclose(test::param(*wn, "g"), v.norm(2, {1})));
  EXPECT_NEAR(v.std().item<double>(), 0.02, 0.01);  // N(0, 0.02), like the plain weight
  {
    torch::NoGradGuard no_grad;
    test::param(*plain, "weight").copy_(v);
    test::param(*plain, "bias").normal_();
    test::param(*wn, "bias").copy_(test::param(*plain, "bias"));
  }
  EXPECT_TRUE(torch::allclose(wn->weight(), v, 1e-6, 1e-8));
  auto x = torch::randn({4, 2, 5});
  EXPECT_TRUE(torch::allclose(wn->forward(x), plain->forward(x), 1e-5, 1e-7));
}

TEST(Components, SpectralNormConvergesToUnitSpectralNorm) {
  torch::manual_seed(7);
  const ModelSpec m = tiny_model();
  const LayerSpec l;
  auto sn = build_component<LinearOpImpl>("reparam", "spectral_norm", linear_ctx(m, l, 8, 6, false));
  EXPECT_EQ(param_names(*sn), (std::set<std::string>{"weight_orig"}));
  torch::Tensor W = test::param(*sn, "weight_orig"), u = buffer(*sn, "u");
  EXPECT_NEAR(u.norm().item<double>(), 1.0, 1e-6);
  {
    torch::NoGradGuard no_grad;
    W.mul_(250.0);  // sigma(W) far from 1
  }
  auto unit = [](const torch::Tensor& t) { return t / t.norm(); };
  auto x = torch::randn({4, 8});

  // One training-mode forward is exactly one power-iteration step, then w = W / (u . W v).
  sn->train();
  const auto u0 = u.clone();
  const auto v1 = unit(torch::mv(W.detach().t(), u0));
  const auto u1 = unit(torch::mv(W.detach(), v1));
  const auto sigma1 = torch::dot(u1, torch::mv(W.detach(), v1));
  auto y = sn->forward(x);
  EXPECT_TRUE(torch::allclose(u, u1, 1e-5, 1e-7)) << "u advanced by one step";
  EXPECT_TRUE(torch::allclose(y, torch::matmul(x, (W.detach() / sigma1).t()), 1e-5, 1e-6));

  // The gradient reaches W; u is a buffer.
  y.sum().backward();
  ASSERT_TRUE(W.grad().defined());
  EXPECT_TRUE(torch::isfinite(W.grad()).all().item<bool>());
  EXPECT_FALSE(u.requires_grad());

  for (int i = 0; i < 20; ++i) sn->forward(x);
  sn->eval();
  const auto sv = at::linalg_svdvals(sn->weight().detach());  // descending; at:: exists in 1.13 and 2.x
  EXPECT_NEAR(sv[0].item<double>(), 1.0, 1e-2);

  // Eval mode doesn't advance u, and weight() is what forward uses.
  const auto u_eval = u.clone();
  auto y_eval = sn->forward(x);
  EXPECT_TRUE(torch::equal(u, u_eval));
  EXPECT_TRUE(torch::allclose(y_eval, torch::matmul(x, sn->weight().t()), 1e-5, 1e-7));
}

// ---------------------------------------------------------------------------------------------
// FFN scaling

TEST(Components, FfnScalingMixesResidualAndUpdate) {
  ModelSpec m = tiny_model();
  m.options["learnable_scale.alpha_init"] = "2.0";
  m.options["learnable_scale.beta_init"] = "0.5";
  LayerSpec l;
  auto mix = build_component<ResidualMixImpl>("ffn_scaling", "learnable_scale", make_ctx(m, l));
  EXPECT_EQ(param_names(*mix), (std::set<std::string>{"alpha", "beta"}));
  EXPECT_EQ(test::param(*mix, "alpha").sizes(), (std::vector<int64_t>{1}));
  EXPECT_DOUBLE_EQ(test::param(*mix, "alpha").item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(test::param(*mix, "beta").item<double>(), 0.5);
  auto x = torch::randn({kB, kT, kD}), f = torch::randn({kB, kT, kD});
  EXPECT_TRUE(torch::allclose(mix->forward(x, f), 0.5 * x + f / 2.0));
}

// ---------------------------------------------------------------------------------------------
// Gradients against finite differences (double precision, tiny sizes)

TEST(ComponentGradients, TemperaturePerHead) {
  torch::manual_seed(10);
  ModelSpec m = tiny_model();
  m.options["softmax_temperature.init"] = "0.7";
  LayerSpec l;
  auto scores = build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l));
  scores->to(torch::kDouble);
  // Masked logits included: their -inf must not turn the temperature's gradient into NaN.
  auto logits = masked_logits(kB, kH, kT, torch::kDouble);
  auto w = torch::randn({kB, kH, kT, kT}, torch::kDouble);
  expect_gradients_match([&] { return (scores->forward(logits) * w).sum(); }, test::param(*scores, "log_temperature"),
                         "log_temperature (H)");
}

TEST(ComponentGradients, TemperaturePerHeadAndQuery) {
  torch::manual_seed(11);
  ModelSpec m = tiny_model();
  m.options["softmax_temperature.init"] = "1.3";
  m.options["softmax_temperature.shape"] = "head_query";
  LayerSpec l;
  auto scores = build_component<UnaryOpImpl>("attention", "softmax_temperature", make_ctx(m, l));
  scores->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    test::param(*scores, "log_temperature").add_(torch::randn({kH, kT}, torch::kDouble) * 0.3);  // distinct t
  }
  auto logits = masked_logits(kB, kH, kT, torch::kDouble);
  auto w = torch::randn({kB, kH, kT, kT}, torch::kDouble);
  expect_gradients_match([&] { return (scores->forward(logits) * w).sum(); }, test::param(*scores, "log_temperature"),
                         "log_temperature (H, T)");
}

TEST(ComponentGradients, LearnableSlopeLayerScope) {
  torch::manual_seed(12);
  ModelSpec m = tiny_model();
  m.options["learnable_leaky_relu.init"] = "0.05";
  LayerSpec l;
  auto act = build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l));
  act->to(torch::kDouble);
  auto x = torch::randn({kB, kT, kD}, torch::kDouble), w = torch::randn({kB, kT, kD}, torch::kDouble);
  expect_gradients_match([&] { return (act->forward(x) * w).sum(); }, test::param(*act, "slope"), "slope (layer)");
}

TEST(ComponentGradients, LearnableSlopeGlobalScope) {
  torch::manual_seed(13);
  ModelSpec m = tiny_model();
  m.options["learnable_leaky_relu.scope"] = "global";
  LayerSpec l;
  m.options["learnable_leaky_relu.init"] = "0.05";
  auto owner = std::make_shared<ComponentModule>();
  SharedParameters shared(owner.get());
  auto a0 = build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l, 0, &shared));
  auto a1 = build_component<UnaryOpImpl>("activation", "learnable_leaky_relu", make_ctx(m, l, 1, &shared));
  owner->to(torch::kDouble);
  auto x = torch::randn({kB, kT, kD}, torch::kDouble), w = torch::randn({kB, kT, kD}, torch::kDouble);
  // Two layers in sequence, both reading the one slope.
  expect_gradients_match([&] { return (a1->forward(a0->forward(x) * 1.5 - 0.2) * w).sum(); },
                         owner->parameters()[0], "slope (global)");
}

TEST(ComponentGradients, WeightNormGainAndDirection) {
  torch::manual_seed(14);
  const ModelSpec m = tiny_model();
  const LayerSpec l;
  auto lin = build_component<LinearOpImpl>("reparam", "weight_norm", linear_ctx(m, l, 3, 2, true));
  lin->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    test::param(*lin, "g").mul_(torch::tensor({1.5, 0.7}, torch::kDouble));  // g away from ||v||
  }
  auto x = torch::randn({4, 3}, torch::kDouble), w = torch::randn({4, 2}, torch::kDouble);
  auto loss = [&] { return (lin->forward(x) * w).sum(); };
  expect_gradients_match(loss, test::param(*lin, "g"), "g");
  expect_gradients_match(loss, test::param(*lin, "v"), "v");
}

TEST(ComponentGradients, FfnScalingAlphaAndBeta) {
  torch::manual_seed(15);
  ModelSpec m = tiny_model();
  m.options["learnable_scale.alpha_init"] = "1.3";
  m.options["learnable_scale.beta_init"] = "0.8";
  LayerSpec l;
  auto mix = build_component<ResidualMixImpl>("ffn_scaling", "learnable_scale", make_ctx(m, l));
  mix->to(torch::kDouble);
  auto x = torch::randn({kB, kT, kD}, torch::kDouble), f = torch::randn({kB, kT, kD}, torch::kDouble);
  auto w = torch::randn({kB, kT, kD}, torch::kDouble);
  auto loss = [&] { return (mix->forward(x, f) * w).sum(); };
  expect_gradients_match(loss, test::param(*mix, "alpha"), "alpha");
  expect_gradients_match(loss, test::param(*mix, "beta"), "beta");
}

TEST(ComponentGradients, RmsNormGain) {
  torch::manual_seed(16);
  const ModelSpec m = tiny_model();
  const LayerSpec l;
  auto norm = build_component<UnaryOpImpl>("norm", "rmsnorm", make_ctx(m, l));
  norm->to(torch::kDouble);
  auto x = torch::randn({kB, kT, kD}, torch::kDouble), w = torch::randn({kB, kT, kD}, torch::kDouble);
  expect_gradients_match([&] { return (norm->forward(x) * w).sum(); }, test::param(*norm, "weight"), "rmsnorm gain");
}

}  // namespace
}  // namespace entropix
