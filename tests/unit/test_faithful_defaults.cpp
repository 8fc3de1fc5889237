// The science defaults of issue #13 (docs/science.md, docs/entropy.md): the regulariser in the
// released code's summed form, bins on the uniform causal ceiling, dropout, the released decay
// groups and the temperature's parameterisation.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cmath>
#include <map>
#include <set>

#include "entropix/entropy/attention_entropy.h"
#include "entropix/entropy/entropy.h"
#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/model/registry.h"
#include "entropix/train/optimizer.h"
#include "entropix/util/error.h"
#include "support/records.h"
#include "support/published.h"
#include "support/test_util.h"

namespace entropix {
namespace {

// ---------------------------------------------------------------------------------------------
// The regulariser at its defaults

TEST(FaithfulDefaults, RegulariserDefaultsAreTheReleasedCodesSumForm) {
  const EntropyRegSpec d;
  EXPECT_EQ(d.reduction, "sum");
  EXPECT_DOUBLE_EQ(d.coeff, 1e-5);
  EXPECT_DOUBLE_EQ(d.tolerance, 0.2);
  EXPECT_DOUBLE_EQ(d.threshold_init, 0.5);
  // And a parsed spec resolves to them.
  const ExperimentSpec s = parse_spec("entropy_reg: {enabled: true}", "inline");
  EXPECT_EQ(s.entropy_reg.reduction, "sum");
}

// One layer, two heads, two sequences of T = 4 query rows with fixed entropies. With T = 4:
// E_max = ln 4 = 1.3862944, theta E_max = 0.5 ln 4 = 0.6931472, band = 0.2 ln 4 = 0.2772589.
// Head 0 rows (b0) 0, ln 2, ln 4, 0.8 and (b1) ln 2 twice, 1.0, 0.4:
//   deltas -0.6931472, 0, 0.6931472, 0.1068528 | 0, 0, 0.3068528, -0.2931472
//   outside the band: -0.6931, 0.6931, 0.3069, -0.2931 -> squares 0.4804530 x 2 + 0.0941587 + 0.0859353
//   head 0 sum = 1.1410000 (to 7 digits)
// Head 1 rows all ln 2 (on target): 0.
// L_ent = mean over heads = 0.5705000; the objective's term is lambda x that = 5.705e-6.
TEST(FaithfulDefaults, RegulariserValueAtDefaultsMatchesAHandComputedSum) {
  EntropyRegulariser reg(1, 2, EntropyRegSpec{});
  const double ln2 = std::log(2.0), ln4 = std::log(4.0);
  auto rows = torch::tensor({0.0, ln2, ln4, 0.8, ln2, ln2, ln2, ln2,    // b0: head 0, head 1
                             ln2, ln2, 1.0, 0.4, ln2, ln2, ln2, ln2},  // b1
                            torch::kDouble)
                  .view({2, 2, 4});  // (B, H, T)
  reg->to(torch::kDouble);
  const double l_ent = reg->forward_rows({rows}).item<double>();
  const double hand = (2 * 0.4804530 + 0.0941587 + 0.0859353) / 2;  // 0.5705000
  EXPECT_NEAR(l_ent, hand, 2e-7);  // the hand figures carry 7 decimals
  EXPECT_NEAR(EntropyRegSpec{}.coeff * l_ent, 5.705e-6, 1e-11);
}

// A regulariser too weak to matter is reported once, early: an event and one stderr line.
TEST(FaithfulDefaults, NegligibleRegulariserIsWarnedAboutEarly) {
  test::TempDir dir;
  const std::string base = "run " + test::q(test::source_dir() / "experiments" / "smoke.yaml") +
                           " --quiet --set train.steps=12 --set entropy_reg.enabled=true";
  // Algorithm 1's mean form with the lambda tuned for the summed form: about 1e-6 of the loss.
  const auto weak = test::run_entropix(base + " --set entropy_reg.reduction=mean --out " + test::q(dir / "weak"));
  ASSERT_EQ(weak.exit_code, 0) << weak.err;
  EXPECT_NE(weak.err.find("regulariser's term is negligible"), std::string::npos) << weak.err;
  int warnings = 0;
  for (const auto& e : test::run_records(dir / "weak", "event"))
    warnings += e["name"] == "warning" && e["message"].get<std::string>().find("negligible") != std::string::npos;
  EXPECT_EQ(warnings, 1);
  // A strong term is not.
  const auto strong = test::run_entropix(base + " --set entropy_reg.reduction=mean --set entropy_reg.coeff=0.5 --out " +
                                         test::q(dir / "strong"));
  ASSERT_EQ(strong.exit_code, 0) << strong.err;
  EXPECT_EQ(strong.err.find("negligible"), std::string::npos) << strong.err;
}

// ---------------------------------------------------------------------------------------------
// Bins on the uniform causal ceiling by default

// The default bin scale (log.bin_max) is the causal ceiling, 3.878 at T = 128; on the six
// published tables it gives the published shares (percent of heads per bin, from
// tests/fixtures/published_tables.yaml) within one point.
TEST(FaithfulDefaults, DefaultBinsReproduceThePublishedShares) {
  EXPECT_EQ(LogSpec{}.bin_max, "causal");
  const auto tables = test::published_headwise_tables();
  ASSERT_EQ(tables.size(), 6u);
  const YAML::Node fixture = YAML::LoadFile((test::source_dir() / "tests" / "fixtures" / "published_tables.yaml").string());
  const YAML::Node rows = fixture["bin_shares"]["rows"];
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& row : rows) {
    const std::string name = row["name"].as<std::string>();
    SCOPED_TRACE(name);
    ASSERT_TRUE(tables.count(name));
    EntropyRecord rec;
    rec.headwise = tables.at(name);
    rec.bin_max_mode = LogSpec{}.bin_max;
    rebin(rec, 128);
    EXPECT_NEAR(rec.bins.max, 3.878, 5e-4);
    const auto lower = row["shares"].as<std::vector<double>>();
    const auto upper = row["shares_upper"] ? row["shares_upper"].as<std::vector<double>>() : lower;  // a published range
    for (int b = 0; b < 4; ++b) {
      const double got = 100 * rec.bins.fractions[b];
      EXPECT_GE(got, lower[b] - 1.0) << "bin " << b;
      EXPECT_LE(got, upper[b] + 1.0) << "bin " << b;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dropout

ModelSpec faithful_model_spec() {
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 16;
  m.context = 8;
  m.vocab_size = 32;
  return m;
}

TEST(FaithfulDefaults, DropoutIsOffByDefaultAndInEvalMode) {
  EXPECT_EQ(ModelSpec{}.dropout.embedding, 0.0);
  EXPECT_EQ(ModelSpec{}.dropout.attention, 0.0);
  EXPECT_EQ(ModelSpec{}.dropout.residual, 0.0);
  ModelSpec with = faithful_model_spec();
  with.dropout = {0.3, 0.3, 0.3};
  torch::manual_seed(1);
  GPT plain(faithful_model_spec());
  torch::manual_seed(1);
  GPT dropped(with);
  auto idx = torch::randint(0, 32, {3, 8}, torch::kLong);
  plain->eval();
  dropped->eval();
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(plain->forward(idx).logits, dropped->forward(idx).logits));  // eval: no dropout
    dropped->train();
    plain->train();
    EXPECT_FALSE(torch::allclose(plain->forward(idx).logits, dropped->forward(idx).logits));
    // Entropy is measured on the probabilities before dropout: rows still sum to 1.
    auto out = dropped->forward(idx, /*keep_attention=*/true);
    for (const auto& p : out.attn_probs)
      EXPECT_TRUE(torch::allclose(p.sum(-1), torch::ones_like(p.sum(-1)), 1e-5, 1e-6));
  }
  // The online-entropy kernel keeps no probabilities to drop out.
  AttentionKernel online;
  online.online_entropy = true;
  EXPECT_THROW(dropped->set_attention_kernel(online), InputError);
}

// A run with dropout stopped and resumed is bit-identical to an uninterrupted one: the RNG that
// draws the masks is checkpointed with the model.
TEST(FaithfulDefaults, DropoutRunsAreBitIdenticalAfterAResume) {
  test::TempDir dir;
  const std::string base = "run " + test::q(test::source_dir() / "experiments" / "smoke.yaml") +
                           " --quiet --set model.dropout.embedding=0.1 --set model.dropout.attention=0.1"
                           " --set model.dropout.residual=0.1 --set train.steps=20 --set log.every=1";
  ASSERT_EQ(test::run_entropix(base + " --out " + test::q(dir / "full")).exit_code, 0);
  ASSERT_EQ(test::run_entropix(base + " --out " + test::q(dir / "split") + " --stop-after 9").exit_code, 4);
  const auto resumed = test::run_entropix(base + " --out " + test::q(dir / "split") + " --resume auto");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  auto losses = [](const std::filesystem::path& run) {
    std::vector<std::pair<int64_t, double>> out;
    for (const auto& r : test::run_records(run, "train")) out.emplace_back(r["step"].get<int64_t>(), r["loss"].get<double>());
    return out;
  };
  const auto full = losses(dir / "full"), split = losses(dir / "split");
  ASSERT_EQ(full.size(), 20u);
  EXPECT_EQ(full, split);  // exact: same CPU, one thread, same operations and masks
  auto evals = [](const std::filesystem::path& run) {
    auto rs = test::run_records(run, "eval");
    for (auto& r : rs) r.erase("elapsed_s");  // wall time differs between runs
    return rs;
  };
  EXPECT_EQ(evals(dir / "full"), evals(dir / "split"));
  // And dropout did something: the same run without it trains differently.
  const std::string plain = "run " + test::q(test::source_dir() / "experiments" / "smoke.yaml") +
                            " --quiet --set train.steps=20 --set log.every=1 --out " + test::q(dir / "plain");
  ASSERT_EQ(test::run_entropix(plain).exit_code, 0);
  EXPECT_NE(losses(dir / "plain"), full);
}

// ---------------------------------------------------------------------------------------------
// Weight-decay groups

TEST(FaithfulDefaults, ReleasedDecayGroupsDecaySlopesAndScalesButNotGainsOrTemperatures) {
  ModelSpec m = faithful_model_spec();
  m.blocks.activation = "learnable_leaky_relu";
  m.blocks.ffn_scaling = "learnable_scale";
  m.blocks.attention = "softmax_temperature";
  GPT model = build_model(m, EntropyRegSpec{true});
  for (const std::string groups : {"matrices", "released"}) {
    TrainSpec t;
    t.decay_groups = groups;
    auto opt = make_optimizer(model, t);
    std::set<const void*> decayed;
    for (const auto& p : opt.param_groups()[0].params()) decayed.insert(p.unsafeGetTensorImpl());
    std::map<ParamRole, std::set<bool>> seen;
    for (const auto& r : parameter_roles(*model)) seen[r.role].insert(decayed.count(r.tensor.unsafeGetTensorImpl()) == 1);
    EXPECT_EQ(seen[ParamRole::Matrix], std::set<bool>{true}) << groups;
    EXPECT_EQ(seen[ParamRole::Scalar], std::set<bool>{groups == "released"}) << groups;  // slopes, alpha, beta
    EXPECT_EQ(seen[ParamRole::Gain], std::set<bool>{false}) << groups;
    EXPECT_EQ(seen[ParamRole::Bias], std::set<bool>{false}) << groups;
    EXPECT_EQ(seen[ParamRole::Temperature], std::set<bool>{false}) << groups;
    EXPECT_EQ(seen[ParamRole::Threshold], std::set<bool>{false}) << groups;
  }
  EXPECT_EQ(TrainSpec{}.decay_groups, "matrices");
}

// ---------------------------------------------------------------------------------------------
// Temperature parameterisation

// One AdamW step moves log t by about lr (t by a factor e^lr) but a direct t by about lr itself:
// from t = 0.01 at lr 1e-3, 0.1% against 10%.
TEST(FaithfulDefaults, DirectTemperatureTakesAdditiveSteps) {
  std::map<std::string, double> change;
  for (const std::string param : {"log", "direct"}) {
    ModelSpec m = faithful_model_spec();
    m.blocks.attention = "softmax_temperature";
    m.options["softmax_temperature.init"] = "0.01";
    m.options["softmax_temperature.param"] = param;
    torch::manual_seed(5);
    GPT model(m);
    const auto before = model->learned_parameters()["temperature"][0][0].get<double>();
    EXPECT_NEAR(before, 0.01, 1e-9) << param;
    TrainSpec t;
    t.lr = 1e-3;
    auto opt = make_optimizer(model, t);
    auto idx = torch::randint(0, 32, {4, 8}, torch::kLong);
    next_token_loss(model->forward(idx).logits, idx).backward();
    opt.step();
    change[param] = model->learned_parameters()["temperature"][0][0].get<double>() / before - 1;
  }
  EXPECT_NEAR(std::abs(change["log"]), 1e-3, 2e-4);    // |e^{+-lr} - 1| ~ lr
  EXPECT_NEAR(std::abs(change["direct"]), 0.1, 0.02);  // lr / t0
}

}  // namespace
}  // namespace entropix
