// compat::adamw_step (util/torch_compat.h): the fused AdamW update of LibTorch 2.4+ against
// torch::optim::AdamW::step, the update it replaces. Same parameters, gradients and options in
// two optimizers; after several steps the parameters and the moments kept in the optimizer's own
// state must agree, so that checkpoints (which save that state) and resumes see the same thing.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <type_traits>
#include <vector>

#include "entropix/util/torch_compat.h"

namespace entropix {
namespace {

using torch::optim::AdamW;
using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;

// Two groups as make_optimizer builds them: decay on the matrix, none on the bias.
AdamW make(std::vector<torch::Tensor>& params) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{params[0]},
                      std::make_unique<AdamWOptions>(AdamWOptions(1e-2).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1)));
  groups.emplace_back(std::vector<torch::Tensor>{params[1], params[2]},
                      std::make_unique<AdamWOptions>(AdamWOptions(1e-2).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.0)));
  return AdamW(groups, AdamWOptions(1e-2));
}

const AdamWParamState& state_of(AdamW& opt, const torch::Tensor& p) {
  auto& state = opt.state();
  using Key = typename std::decay_t<decltype(state)>::key_type;
  return static_cast<const AdamWParamState&>(*state.at(compat::detail::optimizer_state_key<Key>(p)));
}

TEST(FusedAdamW, MatchesAdamWStepInParametersAndState) {
  torch::manual_seed(5);
  std::vector<torch::Tensor> init = {torch::randn({8, 16}), torch::randn({16}), torch::randn({3})};
  std::vector<torch::Tensor> a, b;
  for (const auto& t : init) {
    a.push_back(t.clone().set_requires_grad(true));
    b.push_back(t.clone().set_requires_grad(true));
  }
  AdamW reference = make(a), fused = make(b);
  for (int step = 1; step <= 5; ++step) {
    for (size_t i = 0; i < init.size(); ++i) {
      // The third parameter gets no gradient at step 2: it must keep its state unchanged then,
      // as AdamW::step leaves a parameter without gradient alone.
      if (i == 2 && step == 2) {
        a[i].mutable_grad() = torch::Tensor();
        b[i].mutable_grad() = torch::Tensor();
        continue;
      }
      const auto g = torch::randn(init[i].sizes());
      a[i].mutable_grad() = g.clone();
      b[i].mutable_grad() = g.clone();
    }
    reference.step();
    compat::adamw_step(fused);
  }
  // fp32 throughout; the fused kernel orders its float operations differently (lerp for the first
  // moment, one expression for the update), so values agree to a few ulps of O(1) numbers per
  // step, not bit for bit: 1e-6 absolute after five steps.
  for (size_t i = 0; i < init.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i], b[i], /*rtol=*/1e-5, /*atol=*/1e-6)) << "parameter " << i;
    EXPECT_FALSE(torch::equal(a[i], init[i])) << "parameter " << i << " did not move";
    const auto& sa = state_of(reference, a[i]);
    const auto& sb = state_of(fused, b[i]);
    EXPECT_EQ(sa.step(), sb.step()) << "parameter " << i;
    EXPECT_EQ(sb.step(), i == 2 ? 4 : 5) << "parameter " << i;
    EXPECT_TRUE(torch::allclose(sa.exp_avg(), sb.exp_avg(), 1e-5, 1e-7)) << "parameter " << i;
    EXPECT_TRUE(torch::allclose(sa.exp_avg_sq(), sb.exp_avg_sq(), 1e-5, 1e-7)) << "parameter " << i;
  }
}

TEST(FusedAdamW, FirstStepOfAParameterWithoutGradientCreatesNoState) {
  std::vector<torch::Tensor> p = {torch::ones({2, 2}).set_requires_grad(true), torch::ones({2}).set_requires_grad(true),
                                  torch::ones({1}).set_requires_grad(true)};
  AdamW opt = make(p);
  p[0].mutable_grad() = torch::ones({2, 2});
  compat::adamw_step(opt);
  EXPECT_EQ(opt.state().size(), 1u);
  EXPECT_TRUE(torch::equal(p[1], torch::ones({2})));
  // lr 1e-2, decay 0.1: 1 * (1 - 1e-3), then Adam's first step moves by lr (m/sqrt(v) = 1).
  EXPECT_NEAR(p[0][0][0].item<double>(), 1.0 * (1 - 1e-3) - 1e-2, 1e-6);
}

}  // namespace
}  // namespace entropix
