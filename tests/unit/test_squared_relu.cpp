// Squared ReLU (lib/entropix/model/squared_relu.cpp): the component added as one file plus one
// registration line, as docs/architecture.md describes. Checked here against its formula and
// its derivative, through a spec, in describe's inventory and in a short real training run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "entropix/describe/describe.h"
#include "entropix/model/gpt.h"
#include "entropix/model/registry.h"
#include "support/test_util.h"

namespace entropix {
namespace {

TEST(SquaredRelu, MatchesTheFormulaAndItsDerivative) {
  ModelSpec m;
  LayerSpec l;
  const LayerContext ctx{m, l, 0, 8};
  auto act = build_component<UnaryOpImpl>("activation", "squared_relu", ctx);
  ASSERT_TRUE(act);
  EXPECT_TRUE(act->parameters().empty());
  auto x = torch::tensor({-2.0, -0.5, 0.0, 0.5, 3.0}, torch::kDouble).requires_grad_();
  auto y = act->forward(x);
  const double xs[5] = {-2.0, -0.5, 0.0, 0.5, 3.0};
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(y[i].item<double>(), xs[i] > 0 ? xs[i] * xs[i] : 0.0);
  y.sum().backward();
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(x.grad()[i].item<double>(), xs[i] > 0 ? 2 * xs[i] : 0.0);
}

TEST(SquaredRelu, SpecDescribeAndInventory) {
  const ExperimentSpec spec = parse_spec("model: {n_layer: 2, n_head: 2, n_embd: 16, context: 8, activation: squared_relu}",
                                         "inline");
  EXPECT_EQ(spec.model.layer(1).activation, "squared_relu");
  const nlohmann::json d = describe_model(spec.model);
  EXPECT_EQ(d["layers"][0]["activation"], "squared_relu");
  // Priced as a ReLU per FFN-hidden element: 2 layers x T x 4d.
  const nlohmann::json inv = nonlinearity_inventory(spec.model);
  ASSERT_TRUE(inv.contains("relu"));
  EXPECT_EQ(inv["relu"]["elements"].get<int64_t>(), 2 * 8 * 4 * 16);
  EXPECT_FALSE(inv.contains("gelu"));
  // An unknown activation names it among the valid ones.
  try {
    parse_spec("model: {activation: squared_relux}", "inline");
    FAIL() << "accepted an unknown activation";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("squared_relu"), std::string::npos) << e.what();
  }
}

TEST(SquaredRelu, TrainsThroughTheCli) {
  test::TempDir dir;
  const auto r = test::run_entropix("run " + test::q(test::source_dir() / "experiments" / "smoke.yaml") +
                                    " --set model.activation=squared_relu --quiet --out " + test::q(dir / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(test::read_text(dir / "run" / "summary.json"));
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_TRUE(summary["final_val_loss"].is_number());
}

}  // namespace
}  // namespace entropix
