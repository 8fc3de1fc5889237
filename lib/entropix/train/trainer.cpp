#include "entropix/data/background_token_check.h"
#include "entropix/train/trainer.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "entropix/data/batches.h"
#include "entropix/data/sampling.h"
#include "entropix/dist/communicator.h"
#include "entropix/dist/rank_stats.h"
#include "entropix/train/checkpoint.h"
#include "entropix/train/evaluation.h"
#include "entropix/train/run_plan.h"
#include "entropix/train/run_recorder.h"
#include "entropix/train/step_timer.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/openblas.h"
#include "entropix/util/signals.h"
#include "entropix/util/torch_compat.h"
#include "entropix/version.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

// One training run; run() is the loop.
//
// In a data-parallel run every rank runs this same loop in lockstep: each trains on its share of
// every batch, gradients are averaged (TrainStep), and whatever is logged or decides the course
// of the run (losses, entropy, divergence, a stop) is agreed over the ranks first. Only rank 0
// writes files and prints; comm_->... calls are identities for one process.
class Training {
 public:
  Training(const ExperimentSpec& spec, const RunOptions& options, RunPlan plan, torch::Device device,
           std::shared_ptr<dist::Communicator> comm)
      : spec_(spec),
        options_(options),
        plan_(std::move(plan)),
        device_(device),
        comm_(std::move(comm)),
        tokens_per_step_(spec.train.batch_size * spec.train.grad_accum * spec.model.context * comm_->world_size()),
        recorder_(spec, options, plan_.run_dir, comm_->is_main()),
        timer_(tokens_per_step_) {}

  RunResult run();
  // Writes summary.json with status "failed" after an unexpected error; never throws.
  void record_failure(const std::string& message) noexcept { recorder_.fail(step_, message, totals()); }
  // The set-up is done and steps are running (an input error now is bad data met while training).
  bool stepping() const { return stepping_; }

 private:
  // Model, optimizer, samplers and step, from the checkpoint when resuming; opens the records.
  // Returns the step training continues after (0 for a fresh run).
  int64_t set_up();
  // Every rank must continue from the same checkpoint and the same weights.
  void align_ranks(int64_t resumed_step);
  RunTotals totals() const { return {tokens_, timer_.tokens_per_s()}; }
  Batch to_device(const Batch& b) const { return {b.first.to(device_), b.second.to(device_)}; }
  void evaluate(int64_t step);
  // Entropy records: on the fixed validation batch (val batch 0), on a training batch (`warn` =
  // false on the diverged step, whose event says it all), from the step's own training forward.
  void record_val_entropy(int64_t step);
  void record_batch_entropy(int64_t step, const Batch& batch, bool warn);
  void record_step_entropy(int64_t step, const ForwardResult& attention);
  // Merges a record over the ranks, adds the learned parameters and writes it.
  void write_entropy(EntropyRecord record, bool warn);
  void checkpoint(int64_t step);
  // train.checkpoint_minutes have passed since the last checkpoint (or the start of this process),
  // agreed over the ranks.
  bool checkpoint_due();
  // Temporary files of an earlier process that was killed or ran out of space (rank 0).
  void remove_stale_temp_files();
  // Why the run stops after `step` (a signal on any rank, or --stop-after); empty when it goes on.
  // Throws InputError when the background token check of any rank has found a token outside the
  // vocabulary: all ranks stop at the same step.
  std::string stop_reason(int64_t step);

  const ExperimentSpec& spec_;
  const RunOptions& options_;
  RunPlan plan_;
  torch::Device device_;
  std::shared_ptr<dist::Communicator> comm_;
  const int64_t tokens_per_step_;  // of the whole batch, all ranks
  RunRecorder recorder_;
  StepTimer timer_;
  GPT model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<TrainStep> step_fn_;
  std::unique_ptr<BatchSampler> train_sampler_, val_sampler_;
  std::unique_ptr<BackgroundTokenCheck> token_check_;  // shards load_tokens left unchecked
  bool stepping_ = false;
  int64_t tokens_ = 0;  // since step 0, across resumes
  int64_t step_ = 0;    // optimizer steps completed
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
};

int64_t Training::set_up() {
  const auto& t = spec_.train;
  TrainingModel built = build_training_model(spec_, device_);
  model_ = built.model;
  optimizer_ = std::move(built.optimizer);

  // Training batches come from stream 0, validation (eval and entropy) from stream 1. Each rank
  // draws rows [rank * B, (rank + 1) * B) of every batch, so together the ranks see exactly the
  // batches one process with batch size world * B would.
  const int64_t first_row = comm_->rank() * t.batch_size;
  const int64_t world = comm_->world_size();
  train_sampler_ = std::make_unique<BatchSampler>(plan_.data.train, t.batch_size, spec_.model.context, spec_.seed,
                                                  /*stream=*/0, first_row, sampling_for(spec_, *plan_.data.train, world));
  val_sampler_ = std::make_unique<BatchSampler>(plan_.data.val, t.batch_size, spec_.model.context, spec_.seed,
                                                /*stream=*/1, first_row, sampling_for(spec_, *plan_.data.val, world));

  token_check_ = std::make_unique<BackgroundTokenCheck>(
      std::vector<std::shared_ptr<const TokenData>>{plan_.data.train, plan_.data.val}, comm_->is_main());

  remove_stale_temp_files();
  std::optional<Resumed> resumed;
  if (!plan_.candidates.empty()) {
    const fs::path metrics = comm_->is_main() ? plan_.run_dir / "metrics.jsonl" : fs::path();  // rank 0 keeps them
    resumed = resume_from_checkpoint(plan_.candidates, spec_, *model_, *optimizer_, metrics, plan_.warnings);
    train_sampler_->set_position(resumed->point.meta.sampler_position);
  }
  const int64_t step = resumed ? resumed->point.meta.step : 0;
  const bool data_parallel = comm_->world_size() > 1;
  if (data_parallel) align_ranks(step);
  step_fn_ = std::make_unique<TrainStep>(model_, spec_, optimizer_.get(), data_parallel ? comm_ : nullptr);

  RunFacts facts;
  facts.params_total = model_->parameter_count();
  facts.params_non_embedding = model_->non_embedding_parameter_count();
  facts.device = device_.str();
  facts.threads = torch::get_num_threads();
  facts.world_size = comm_->world_size();
  if (resumed) facts.resumed_from = SummaryRecord::ResumedFrom{resumed->point.checkpoint.string(), step};
  recorder_.open(facts, resumed ? &resumed->log : nullptr, plan_.warnings, step);
  step_ = step;
  tokens_ = step * tokens_per_step_;
  if (resumed)
    recorder_.resumed(step, "resumed from " + resumed->point.checkpoint.string() + " at step " + std::to_string(step) +
                                " of " + std::to_string(t.steps));
  else
    record_val_entropy(0);
  return step;
}

void Training::align_ranks(int64_t resumed_step) {
  const double latest = comm_->max(static_cast<double>(resumed_step));
  const double earliest = -comm_->max(-static_cast<double>(resumed_step));
  if (latest != earliest)
    throw std::runtime_error("rank " + std::to_string(comm_->rank()) + " resumed at step " + std::to_string(resumed_step) +
                             " but other ranks at steps from " + std::to_string(static_cast<int64_t>(earliest)) +
                             " to " + std::to_string(static_cast<int64_t>(latest)) +
                             ": all ranks must see the same run directory");
  // Same seed, same initialisation; copying rank 0's weights (and float buffers, e.g. spectral
  // norm's power-iteration vectors; masks are constants) makes that a guarantee.
  std::vector<torch::Tensor> state = model_->parameters();
  for (const auto& b : model_->buffers())
    if (b.is_floating_point()) state.push_back(b);
  comm_->broadcast_from_main(state);
}

void Training::evaluate(int64_t step) {
  const double loss = evaluate_loss(model_, *val_sampler_, spec_.train.eval_batches, device_);
  recorder_.eval(step, comm_->sum({loss}).front() / comm_->world_size(), tokens_);  // the mean over the ranks
}

void Training::write_entropy(EntropyRecord record, bool warn) {
  dist::merge_entropy_over_ranks(record, *comm_, spec_.model.context);
  record.learned = model_->learned_parameters();
  recorder_.entropy(record, warn);
}

void Training::record_val_entropy(int64_t step) {
  write_entropy(evaluate_entropy(model_, *val_sampler_, 1, device_, step, spec_.log.bin_max), /*warn=*/true);
}

void Training::record_batch_entropy(int64_t step, const Batch& batch, bool warn) {
  write_entropy(batch_entropy(model_, batch, step, "train", spec_.log.bin_max), warn);
}

void Training::record_step_entropy(int64_t step, const ForwardResult& attention) {
  write_entropy(measure_attention_entropy(attention, step, "step", spec_.log.bin_max), /*warn=*/true);
}

void Training::remove_stale_temp_files() {
  if (!comm_->is_main()) return;  // only rank 0 writes into the run directory
  std::vector<fs::path> removed = entropix::remove_stale_temp_files(plan_.run_dir);
  for (auto& p : entropix::remove_stale_temp_files(plan_.run_dir / "checkpoints")) removed.push_back(std::move(p));
  if (removed.empty()) return;
  std::string names;
  for (const auto& p : removed) names += (names.empty() ? "" : ", ") + p.filename().string();
  plan_.warnings.push_back("removed " + std::to_string(removed.size()) +
                           " temporary file(s) left by an earlier process that was stopped while writing: " + names);
}

void Training::checkpoint(int64_t step) {
  last_checkpoint_ = std::chrono::steady_clock::now();
  if (!comm_->is_main()) return;  // the ranks hold the same model and optimizer state
  CheckpointMeta meta;
  meta.step = step;
  meta.sampler_position = train_sampler_->position();
  meta.spec_yaml = spec_to_yaml(spec_);
  meta.entropix_version = ENTROPIX_VERSION;
  meta.libtorch_version = compat::torch_version();
  meta.world_size = comm_->world_size();
  const fs::path dir = plan_.run_dir / "checkpoints";
  const auto started = std::chrono::steady_clock::now();
  const fs::path file = save_checkpoint(dir, meta, *model_, optimizer_.get());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  prune_checkpoints(dir, spec_.train.keep_checkpoints);
  std::error_code ec;
  const double mib = static_cast<double>(fs::file_size(file, ec)) / (1024.0 * 1024.0);
  char took[80];
  std::snprintf(took, sizeof(took), " (%.1f MiB in %.2f s)", ec ? 0.0 : mib, seconds);
  recorder_.event(step, "checkpoint", "wrote " + file.string() + took);
}

bool Training::checkpoint_due() {
  const double minutes = spec_.train.checkpoint_minutes;
  if (minutes <= 0) return false;
  const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_checkpoint_).count();
  // Clocks differ slightly between ranks: they checkpoint together when any of them is due.
  return comm_->max(since >= minutes * 60.0 ? 1.0 : 0.0) > 0;
}

std::string Training::stop_reason(int64_t step) {
  // A signal reaches the ranks at slightly different times: they stop at the first step where
  // any of them has one. The same reduction carries a bad token found by a background check, as a
  // value above every signal number, so a step costs one agreement, not two.
  constexpr int kBadToken = 1 << 10;
  const std::string bad_token = token_check_->failure();
  const int flag = bad_token.empty() ? StopSignals::requested() : kBadToken;
  const int agreed = static_cast<int>(comm_->max(flag));
  if (agreed >= kBadToken)
    throw InputError(bad_token.empty() ? "another rank found a token outside the vocabulary in the training data (see its log)"
                                       : bad_token);
  const int signal = agreed;
  if (signal) return "interrupted by signal " + std::to_string(signal);
  if (step == options_.stop_after) return "stopped as asked (--stop-after)";
  return "";
}

RunResult Training::run() {
  const auto& t = spec_.train;
  const int64_t first = set_up() + 1;
  stepping_ = true;
  for (int64_t step = first; step <= t.steps; ++step) {
    timer_.begin_step();
    std::vector<Batch> micro;
    for (int64_t m = 0; m < t.grad_accum; ++m) micro.push_back(to_device(train_sampler_->next()));
    const bool entropy_now = step % spec_.log.entropy_every == 0 || step == t.steps;
    ForwardResult step_attention;  // log.entropy_split: step
    const bool capture = entropy_now && spec_.log.entropy_split == "step";
    const StepResult result = step_fn_->run(step, micro, capture ? &step_attention : nullptr);
    if (!result.divergence.empty()) {
      const std::string message = "training diverged at step " + std::to_string(step) + ": " + result.divergence;
      recorder_.diverged(step, result.divergence, message);
      record_batch_entropy(step, micro.front(), /*warn=*/false);
      return recorder_.finish(RunStatus::diverged, step, message, totals());
    }
    timer_.end_step();
    step_ = step;
    tokens_ += tokens_per_step_;

    const bool last = step == t.steps;
    if (step % spec_.log.every == 0 || last) {
      const StepTimer::Window window = timer_.take_window();
      TrainRecord record;
      record.step = step;
      record.tokens = tokens_;
      record.loss = result.loss;
      record.lr = result.lr;
      record.grad_norm = result.grad_norm;
      record.ms_per_step = window.ms_per_step;
      record.tokens_per_s = window.tokens_per_s;
      record.elapsed_s = recorder_.elapsed_s();
      if (spec_.entropy_reg.enabled) record.ereg_loss = result.ereg_loss;
      recorder_.train(record, timer_.eta_seconds(t.steps - step));
    }
    if (step_fn_->regularises(step)) recorder_.regulariser_term(step, result.loss, result.ereg_loss);
    if (step % t.eval_every == 0 || last) evaluate(step);
    if (entropy_now) {
      if (spec_.log.entropy_split == "train") record_batch_entropy(step, micro.front(), /*warn=*/true);
      else if (capture) record_step_entropy(step, step_attention);
      else record_val_entropy(step);
    }
    const std::string stop = stop_reason(step);
    const bool every = t.checkpoint_every > 0 && step % t.checkpoint_every == 0;
    if (last || every || !stop.empty() || checkpoint_due()) checkpoint(step);
    if (!stop.empty() && !last) {
      const std::string message = stop + " after step " + std::to_string(step) + "; a checkpoint of that step was written";
      recorder_.event(step, "interrupted", message, /*print=*/true);
      return recorder_.finish(RunStatus::interrupted, step, message, totals());
    }
  }
  return recorder_.finish(RunStatus::completed, t.steps, "", totals());
}

}  // namespace

RunResult run_experiment(const ExperimentSpec& spec, const RunOptions& options) {
  // From here on TERM, INT and USR1 (any number) stop the run cleanly: one that arrives while the
  // run is being set up (a preemption right after a requeue) stops it after its first step, with
  // a checkpoint, instead of killing it. SIGQUIT leaves at once (docs/reliability.md,
  // "Preemption and signals").
  StopSignals signals(QuitAction::exit_now);
  // Everything that can be wrong with the input is checked before the run directory is touched.
  const dist::LaunchEnv launch = dist::read_launch_env();
  torch::Device device = resolve_device(options.device.empty() ? spec.train.device : options.device);
  if (launch.distributed() && device.is_cuda())  // one GPU per rank on each machine
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch.local_rank % torch::cuda::device_count()));
  set_compute_threads(resolve_threads(spec.train.threads));
  compat::set_tf32(spec.train.tf32);
  if (options.dist_timeout_s < 1) throw InputError("--dist-timeout: must be at least 1 second");
  const auto comm = dist::Communicator::connect(launch, device, std::chrono::seconds(options.dist_timeout_s));
  RunPlan plan = plan_and_prepare(spec, options, *comm);
  if (plan.already_completed) {
    // Printed even with --quiet: it is the whole outcome of this invocation (e.g. a requeued job).
    if (comm->is_main())
      std::cout << plan.run_dir.string() << ": already completed at step " << spec.train.steps << "; nothing to do\n";
    return {RunStatus::completed, kExitOk, plan.run_dir};
  }

  Training training(spec, options, std::move(plan), device, comm);
  try {
    return training.run();
  } catch (const InputError& e) {
    // Before the first step (a checkpoint that could not be resumed) the run directory keeps what
    // it had; bad data met while training (a token outside the vocabulary) leaves a summary.
    if (training.stepping()) training.record_failure(e.what());
    throw;
  } catch (const std::exception& e) {
    // Leave a summary behind so a crashed run is recognisable, then let the caller report it.
    training.record_failure(e.what());
    throw;
  }
}

}  // namespace entropix
