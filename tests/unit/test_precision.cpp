// train.precision and train.tf32: the autocast guard of the compatibility header, a bf16
// training step, and the spec keys.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"
#include "entropix/train/train_step.h"
#include "entropix/util/error.h"
#include "entropix/util/torch_compat.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {

// mm is on autocast's lower-precision list for the CPU in LibTorch 1.13 and 2.x alike, so its
// result dtype shows whether autocast is on.
torch::ScalarType mm_dtype() {
  auto a = torch::randn({4, 4});
  return torch::mm(a, a).scalar_type();
}

TEST(Precision, AutocastGuardTurnsBf16OnAndRestoresTheState) {
  const torch::Device cpu(torch::kCPU);
  ASSERT_FALSE(compat::AutocastGuard::is_enabled(c10::DeviceType::CPU));
  EXPECT_EQ(mm_dtype(), torch::kFloat);
  {
    compat::AutocastGuard guard(cpu, /*enabled=*/true);
    EXPECT_TRUE(compat::AutocastGuard::is_enabled(c10::DeviceType::CPU));
    EXPECT_EQ(mm_dtype(), torch::kBFloat16);
    {
      compat::AutocastGuard nested(cpu, true);
      EXPECT_EQ(mm_dtype(), torch::kBFloat16);
    }
    // Leaving the inner guard keeps the outer one's state.
    EXPECT_TRUE(compat::AutocastGuard::is_enabled(c10::DeviceType::CPU));
    EXPECT_EQ(mm_dtype(), torch::kBFloat16);
  }
  EXPECT_FALSE(compat::AutocastGuard::is_enabled(c10::DeviceType::CPU));
  EXPECT_EQ(mm_dtype(), torch::kFloat);
  {
    compat::AutocastGuard off(cpu, /*enabled=*/false);  // fp32: the guard does nothing
    EXPECT_EQ(mm_dtype(), torch::kFloat);
  }
}

TEST(Precision, Bf16StepKeepsFp32ParametersAndGradientsAndALossCloseToFp32) {
  torch::manual_seed(21);
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 32;
  m.context = 16;
  m.vocab_size = 64;
  GPT model(m);
  auto x = torch::randint(0, 64, {4, 16}, torch::kLong), y = torch::randint(0, 64, {4, 16}, torch::kLong);
  model->zero_grad();
  const double fp32 = accumulate_gradients(model, {{x, y}}).loss;
  model->zero_grad();
  ExperimentSpec spec;
  spec.train.precision = "bf16";
  const double low = TrainStep(model, spec).accumulate({{x, y}}, /*regularise=*/false).loss;
  EXPECT_FALSE(compat::AutocastGuard::is_enabled(c10::DeviceType::CPU)) << "the step must leave autocast off";
  // bf16 keeps 8 significant bits (relative rounding 2^-9 ~ 0.002 per value); at initialisation the
  // loss is ~ln 64 = 4.16 and the logits are small, so the two losses agree to ~1e-2. A step that
  // ignored the flag would agree to ~1e-7, hence the second check.
  EXPECT_NEAR(low, fp32, 0.05);
  EXPECT_NE(low, fp32) << "the bf16 step computed exactly what fp32 did: autocast was not applied";
  for (const auto& p : model->parameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat);
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
  }
}

TEST(Precision, Tf32SwitchSetsTheGlobalFlag) {
  const bool before = compat::tf32_allowed();
  compat::set_tf32(true);
  EXPECT_TRUE(compat::tf32_allowed());
  compat::set_tf32(false);
  EXPECT_FALSE(compat::tf32_allowed());
  compat::set_tf32(before);
}

TEST(Precision, SpecAcceptsFp32AndBf16AndTf32) {
  auto spec = parse_spec("name: p\ntrain:\n  precision: bf16\n  tf32: true\n", "p.yaml");
  EXPECT_EQ(spec.train.precision, "bf16");
  EXPECT_TRUE(spec.train.tf32);
  auto defaults = parse_spec("name: p\n", "p.yaml");
  EXPECT_EQ(defaults.train.precision, "fp32");
  EXPECT_FALSE(defaults.train.tf32);
  try {
    parse_spec("name: p\ntrain:\n  precision: fp16\n", "p.yaml");
    FAIL() << "fp16 was accepted";
  } catch (const InputError& e) {
    const std::string msg = join_lines(e.problems());
    EXPECT_NE(msg.find("train.precision"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bf16"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace entropix
