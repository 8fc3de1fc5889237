// One training step, as `run` takes it and `bench` times it: forward, loss, the entropy
// regulariser's term, backward over the micro-batches (with bf16 autocast and gradient averaging
// over the ranks of a data-parallel run), gradient clipping and the AdamW update. `eval` and the
// trainer's evaluations use the same forward and loss (forward_loss).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "entropix/dist/communicator.h"
#include "entropix/dist/grad_sync.h"
#include "entropix/entropy/attention_entropy.h"
#include "entropix/entropy/entropy.h"
#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/spec/spec.h"

namespace entropix {

using Batch = std::pair<torch::Tensor, torch::Tensor>;  // (x, y), each (B, T) int64

// A forward and its loss.
struct ForwardLoss {
  ForwardResult out;  // hidden (B, T, d), no logits; attention too when it was kept
  torch::Tensor loss;  // () mean next-token cross-entropy, nats
};

// The forward and loss of every training micro-batch, evaluation and entropy measurement: x (B, T)
// through the model, mean next-token cross-entropy against y (B, T). `keep_attention`: `out` also
// holds what entropy needs (ForwardResult). Gradients and autocast are the caller's: TrainStep
// records gradients and autocasts under train.precision bf16; evaluations run without either.
// `attention_grad`: what entropy needs stays attached to the graph (the regulariser); false when it
// is only read (records), which lets attention take the fused kernel (GPTImpl::forward).
ForwardLoss forward_loss(GPT& model, const Batch& batch, bool keep_attention, bool attention_grad = true);

// Evaluation mode and no gradients for the scope's lifetime; the model's previous mode after.
class EvalScope {
 public:
  explicit EvalScope(GPT& model) : model_(model), was_training_(model->is_training()) { model_->eval(); }
  ~EvalScope() { model_->train(was_training_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  torch::NoGradGuard no_grad_;
  GPT& model_;
  bool was_training_;
};

// The entropy record of a batch measured by a forward of its own (eval mode, no gradients):
// evaluations, `run`'s records for log.entropy_split val and train, `bench --entropy forward`.
// learned parameters are not filled in.
EntropyRecord batch_entropy(GPT& model, const Batch& batch, int64_t step, const std::string& split,
                            const std::string& bin_max_mode);

struct StepLosses {
  double loss = 0;       // mean next-token cross-entropy of the step's sequences
  double ereg_loss = 0;  // lambda * L_ent, the regulariser's term (0 when off)
};

// What one optimizer step did.
struct StepResult {
  double loss = 0;       // cross-entropy, mean over the ranks (= over the whole batch)
  double ereg_loss = 0;  // the regulariser's term, mean over the ranks; 0 when it was off
  double lr = 0;         // learning rate of the step
  double grad_norm = 0;  // global L2 norm of the (averaged) gradient before clipping
  // Empty when the update was applied. Otherwise why not, e.g. "loss is NaN": the loss or a
  // gradient norm was not finite on some rank, and every rank skipped the update alike.
  std::string divergence;
};

// One training step for a model and its optimizer under a spec (train.* and entropy_reg.*).
//
// Data-parallel runs give it their communicator: the last micro-batch's backward then averages the
// gradients over the ranks (GradientSync), and the ranks agree on losses and on divergence.
class TrainStep {
 public:
  // `optimizer`: null for a TrainStep that only accumulates gradients. `comm`: the ranks of a
  // data-parallel run; null for one process without gradient averaging. `bucket_bytes`: the
  // gradient averaging's bucket size.
  TrainStep(GPT model, const ExperimentSpec& spec, torch::optim::AdamW* optimizer = nullptr,
            std::shared_ptr<dist::Communicator> comm = nullptr, int64_t bucket_bytes = dist::kDefaultBucketBytes);
  ~TrainStep();
  TrainStep(const TrainStep&) = delete;
  TrainStep& operator=(const TrainStep&) = delete;

  // Optimizer step `step` (1-based, as the run counts) on `micro_batches` (train.grad_accum of
  // them): the scheduled learning rate, zeroed gradients, accumulate(), the global-norm clip
  // (train.grad_clip), and the update unless the loss or gradient norm is not finite on any rank.
  // `attention` as in accumulate().
  StepResult run(int64_t step, const std::vector<Batch>& micro_batches, ForwardResult* attention = nullptr);

  // Forward and backward over the micro-batches of one step, into the parameters' .grad. Each
  // micro-batch's loss is weighted by its share of the step's sequences, so the accumulated
  // gradient equals that of one batch holding all of them. With `regularise` (and the regulariser
  // enabled) the objective is cross-entropy + entropy_reg.coeff * L_ent. `attention`, when not
  // null, receives the first micro-batch's attention from the training forward itself, detached
  // (detached_attention), taken before the update.
  StepLosses accumulate(const std::vector<Batch>& micro_batches, bool regularise, ForwardResult* attention = nullptr);

  // Whether step `step` includes the regulariser's term (entropy_reg.enabled, from start_step on).
  bool regularises(int64_t step) const;

  // The gradient averaging of a data-parallel step; null without a communicator.
  const dist::GradientSync* gradient_sync() const { return sync_.get(); }

 private:
  GPT model_;
  TrainSpec train_;
  EntropyRegSpec ereg_;
  bool bf16_;
  torch::optim::AdamW* optimizer_;
  std::shared_ptr<dist::Communicator> comm_;
  std::unique_ptr<dist::GradientSync> sync_;
  EntropyRegulariser regulariser_{nullptr};  // the model's, when enabled
  std::vector<torch::Tensor> params_;
};

// accumulate() of a TrainStep without regulariser, precision or ranks: the plain objective's
// gradients (kept for tests written against it).
StepLosses accumulate_gradients(GPT& model, const std::vector<Batch>& micro_batches);

}  // namespace entropix
