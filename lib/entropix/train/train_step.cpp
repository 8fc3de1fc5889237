#include "entropix/train/train_step.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "entropix/model/lm_head_loss.h"
#include "entropix/train/optimizer.h"
#include "entropix/train/schedule.h"
#include "entropix/util/torch_compat.h"

namespace entropix {
namespace {

std::string describe_nonfinite(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"; }

}  // namespace

ForwardLoss forward_loss(GPT& model, const Batch& batch, bool keep_attention, bool attention_grad) {
  ForwardLoss out;
  // The head and the loss in one function: the (B T, V) logits exist once (model/lm_head_loss.h).
  out.out = model->forward(batch.first, keep_attention, attention_grad, /*head=*/false);  // hidden (B, T, d)
  out.loss = lm_head_cross_entropy(out.out.hidden, model->head_weight(), batch.second);   // ()
  return out;
}

EntropyRecord batch_entropy(GPT& model, const Batch& batch, int64_t step, const std::string& split,
                            const std::string& bin_max_mode) {
  EvalScope scope(model);
  return measure_attention_entropy(forward_loss(model, batch, /*keep_attention=*/true).out, step, split, bin_max_mode);
}

TrainStep::TrainStep(GPT model, const ExperimentSpec& spec, torch::optim::AdamW* optimizer,
                     std::shared_ptr<dist::Communicator> comm, int64_t bucket_bytes)
    : model_(std::move(model)),
      train_(spec.train),
      ereg_(spec.entropy_reg),
      bf16_(spec.train.precision == "bf16"),
      optimizer_(optimizer),
      comm_(std::move(comm)) {
  // The one place the step reaches the regulariser's module (learned thresholds, registered on the
  // model so that they are optimised, checkpointed and logged with it).
  if (ereg_.enabled) regulariser_ = attached_entropy_regulariser(model_);
  params_ = model_->parameters();
  if (comm_) sync_ = std::make_unique<dist::GradientSync>(params_, comm_, bucket_bytes);
}

TrainStep::~TrainStep() = default;

bool TrainStep::regularises(int64_t step) const {
  return !regulariser_.is_empty() && step >= ereg_.start_step;
}

StepLosses TrainStep::accumulate(const std::vector<Batch>& micro_batches, bool regularise, ForwardResult* attention) {
  const bool penalise = regularise && !regulariser_.is_empty() && ereg_.coeff > 0;
  int64_t total_rows = 0;
  for (const auto& b : micro_batches) total_rows += b.first.size(0);
  StepLosses sum;
  for (size_t m = 0; m < micro_batches.size(); ++m) {
    const Batch& batch = micro_batches[m];
    const double weight = static_cast<double>(batch.first.size(0)) / static_cast<double>(total_rows);
    const bool capture = m == 0 && attention;
    torch::Tensor loss, objective;  // () each
    {
      // Forward and losses under autocast; backward outside it, as PyTorch's AMP recipe.
      compat::AutocastGuard autocast(batch.first.device(), bf16_);
      // A record alone reads the attention without differentiating it (attention_grad false).
      ForwardLoss fl = forward_loss(model_, batch, /*keep_attention=*/penalise || capture, /*attention_grad=*/penalise);
      loss = fl.loss;
      objective = loss;
      if (penalise) {
        auto term = ereg_.coeff * entropy_penalty(*regulariser_, fl.out);  // ()
        objective = objective + term;
        sum.ereg_loss += term.item<double>() * weight;
      }
      if (capture) *attention = detached_attention(fl.out);
    }
    if (sync_ && m + 1 == micro_batches.size()) sync_->arm();  // this backward completes the gradients
    (objective * weight).backward();
    sum.loss += loss.item<double>() * weight;
  }
  if (sync_) sync_->finish();
  return sum;
}

StepResult TrainStep::run(int64_t step, const std::vector<Batch>& micro_batches, ForwardResult* attention) {
  if (!optimizer_) throw std::logic_error("TrainStep::run needs an optimizer");
  StepResult r;
  r.lr = learning_rate(train_, step - 1);
  set_learning_rate(*optimizer_, r.lr);
  optimizer_->zero_grad();
  const StepLosses losses = accumulate(micro_batches, regularises(step), attention);
  r.grad_norm = compat::clip_grad_norm(
      params_, train_.grad_clip > 0 ? train_.grad_clip : std::numeric_limits<double>::infinity());
  // The mean of the ranks' losses is the loss of the whole batch (equal shares); a non-finite
  // value on any rank makes every rank skip this update.
  std::vector<double> agreed = {losses.loss, losses.ereg_loss, std::isfinite(r.grad_norm) ? 0.0 : 1.0};
  const int world = comm_ ? comm_->world_size() : 1;
  if (comm_) agreed = comm_->sum(agreed);
  r.loss = agreed[0] / world;
  r.ereg_loss = agreed[1] / world;
  if (!std::isfinite(r.loss)) r.divergence = "loss is " + describe_nonfinite(r.loss);
  else if (!std::isfinite(r.grad_norm)) r.divergence = "gradient norm is " + describe_nonfinite(r.grad_norm);
  else if (agreed[2] > 0) r.divergence = "gradient norm is not finite on another rank";
  // The fused update where LibTorch has it (compat::adamw_step), AdamW::step otherwise.
  if (r.divergence.empty()) compat::adamw_step(*optimizer_);
  return r;
}

StepLosses accumulate_gradients(GPT& model, const std::vector<Batch>& micro_batches) {
  return TrainStep(model, ExperimentSpec{}).accumulate(micro_batches, /*regularise=*/false);
}

}  // namespace entropix
