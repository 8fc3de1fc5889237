// TrainStep (train/train_step.h): the step `run` takes and `bench` times. The regulariser's
// start step, the learning-rate schedule, and a non-finite step that must not update.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "entropix/train/schedule.h"
#include "entropix/train/setup.h"
#include "entropix/train/train_step.h"

namespace entropix {
namespace {

ExperimentSpec tiny_spec() {
  ExperimentSpec spec;
  spec.seed = 11;
  spec.model.n_layer = 2;
  spec.model.n_head = 2;
  spec.model.n_embd = 32;
  spec.model.context = 16;
  spec.model.vocab_size = 64;
  spec.train.steps = 10;
  spec.train.warmup = 3;
  spec.train.lr = 1e-2;
  spec.train.schedule = "cosine";
  spec.train.device = "cpu";
  return spec;
}

Batch random_batch(int64_t rows = 4) {
  return {torch::randint(0, 64, {rows, 16}, torch::kLong), torch::randint(0, 64, {rows, 16}, torch::kLong)};
}

std::vector<torch::Tensor> snapshot(GPT& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  return out;
}

// entropy_reg.start_step: the regulariser's term (and its thresholds' gradient) is absent before
// it and present from it on, as in a run.
TEST(TrainStep, RegulariserActsFromItsStartStep) {
  ExperimentSpec spec = tiny_spec();
  spec.entropy_reg.enabled = true;
  spec.entropy_reg.coeff = 0.5;
  spec.entropy_reg.tolerance = 0.01;  // a narrow band: almost every head is penalised
  spec.entropy_reg.start_step = 3;
  TrainingModel built = build_training_model(spec, torch::kCPU);
  TrainStep step(built.model, spec, built.optimizer.get());
  EXPECT_FALSE(step.regularises(2));
  EXPECT_TRUE(step.regularises(3));
  torch::Tensor threshold;
  for (const auto& p : built.model->named_parameters())
    if (p.key().find("entropy_reg") != std::string::npos) threshold = p.value();
  ASSERT_TRUE(threshold.defined());
  for (int64_t s = 1; s <= 4; ++s) {
    const StepResult r = step.run(s, {random_batch()});
    ASSERT_TRUE(r.divergence.empty()) << r.divergence;
    if (s < 3) {
      EXPECT_EQ(r.ereg_loss, 0.0) << "step " << s;
      EXPECT_TRUE(!threshold.grad().defined() || threshold.grad().abs().sum().item<double>() == 0.0) << "step " << s;
    } else {
      EXPECT_GT(r.ereg_loss, 0.0) << "step " << s;
      EXPECT_GT(threshold.grad().abs().sum().item<double>(), 0.0) << "step " << s;
    }
  }
}

// Each step sets the scheduled learning rate of its own number before updating.
TEST(TrainStep, UsesTheScheduledLearningRateOfItsStep) {
  const ExperimentSpec spec = tiny_spec();
  TrainingModel built = build_training_model(spec, torch::kCPU);
  TrainStep step(built.model, spec, built.optimizer.get());
  for (int64_t s : {1, 2, 5, 9}) {
    const StepResult r = step.run(s, {random_batch()});
    EXPECT_DOUBLE_EQ(r.lr, learning_rate(spec.train, s - 1)) << "step " << s;
    for (auto& group : built.optimizer->param_groups())
      EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(group.options()).lr(), r.lr);
  }
  EXPECT_NE(learning_rate(spec.train, 0), learning_rate(spec.train, 8));  // the schedule does change
}

// A step whose loss is not finite reports why and leaves every parameter as it was.
TEST(TrainStep, NonFiniteLossSkipsTheUpdate) {
  const ExperimentSpec spec = tiny_spec();
  TrainingModel built = build_training_model(spec, torch::kCPU);
  TrainStep step(built.model, spec, built.optimizer.get());
  ASSERT_TRUE(step.run(1, {random_batch()}).divergence.empty());
  {
    torch::NoGradGuard no_grad;
    built.model->wpe->weight[0][0] = std::numeric_limits<float>::quiet_NaN();  // every sequence's position 0
  }
  const auto before = snapshot(built.model);
  const StepResult r = step.run(2, {random_batch()});
  EXPECT_EQ(r.divergence, "loss is NaN");
  EXPECT_TRUE(std::isnan(r.loss));
  const auto after = snapshot(built.model);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_TRUE(torch::equal(torch::nan_to_num(before[i]), torch::nan_to_num(after[i]))) << "parameter " << i;
}

// A finite step does update (the check above is not vacuous), and the loss it reports is the
// forward_loss of its batch before the update.
TEST(TrainStep, ReportsTheLossOfItsForwardAndUpdates) {
  const ExperimentSpec spec = tiny_spec();
  TrainingModel built = build_training_model(spec, torch::kCPU);
  TrainStep step(built.model, spec, built.optimizer.get());
  const Batch batch = random_batch();
  double expected = 0;
  {
    torch::NoGradGuard no_grad;
    expected = forward_loss(built.model, batch, /*keep_attention=*/false).loss.item<double>();
  }
  const auto before = snapshot(built.model);
  const StepResult r = step.run(1, {batch});
  EXPECT_DOUBLE_EQ(r.loss, expected);
  EXPECT_TRUE(std::isfinite(r.grad_norm));
  EXPECT_FALSE(torch::equal(before.front(), snapshot(built.model).front()));
}

// build_model is deterministic in the spec's seed: `run`, `bench` and `eval` start from the same
// weights.
TEST(TrainStep, BuildModelIsSeededBySpec) {
  ExperimentSpec spec = tiny_spec();
  GPT a = build_model(spec);
  torch::randn({100});  // moves the global generator on
  GPT b = build_model(spec);
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
  spec.seed = 12;
  EXPECT_FALSE(torch::equal(build_model(spec)->parameters().front(), pa.front()));
}

}  // namespace
}  // namespace entropix
