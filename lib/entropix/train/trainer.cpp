#include "entropix/train/trainer.h"

#include <sched.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <limits>
#include <optional>

#include "entropix/data/batches.h"
#include "entropix/data/source.h"
#include "entropix/describe/describe.h"
#include "entropix/dist/communicator.h"
#include "entropix/entropy/attention_entropy.h"
#include "entropix/dist/grad_sync.h"
#include "entropix/dist/rank_stats.h"
#include "entropix/metrics/run_dir.h"
#include "entropix/train/checkpoint.h"
#include "entropix/train/console.h"
#include "entropix/train/evaluation.h"
#include "entropix/train/optimizer.h"
#include "entropix/train/resume.h"
#include "entropix/train/schedule.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/openblas.h"
#include "entropix/util/signals.h"
#include "entropix/util/torch_compat.h"
#include "entropix/version.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

AttentionKernel attention_kernel(const TrainSpec& train) {
  AttentionKernel kernel;
  kernel.online_entropy = train.attention_kernel == "online_entropy";
  kernel.block = train.attention_block;
  return kernel;
}

torch::Device resolve_device(const std::string& requested) {
  if (requested == "cpu") return torch::kCPU;
  if (requested == "cuda") {
    if (!compat::cuda_available())
      throw InputError("train.device: cuda requested but LibTorch sees no CUDA device (valid here: auto, cpu)");
    return torch::kCUDA;
  }
  if (requested == "auto" || requested.empty()) return compat::cuda_available() ? torch::kCUDA : torch::kCPU;
  throw InputError("--device: unknown device '" + requested + "'; valid: auto, cpu, cuda");
}

int resolve_threads(int64_t requested) {
  if (requested > 0) return static_cast<int>(requested);
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

StepLosses accumulate_gradients(GPT& model, const std::vector<Batch>& micro_batches, double ereg_coeff,
                                dist::GradientSync* sync) {
  StepOptions options;
  options.ereg_coeff = ereg_coeff;
  options.sync = sync;
  return accumulate_gradients(model, micro_batches, options);
}

StepLosses accumulate_gradients(GPT& model, const std::vector<Batch>& micro_batches, const StepOptions& options) {
  const double ereg_coeff = options.ereg_coeff;
  dist::GradientSync* sync = options.sync;
  const EntropyRegulariser regulariser = attached_entropy_regulariser(model);
  const bool regularise = ereg_coeff > 0 && regulariser;
  int64_t total_rows = 0;
  for (const auto& b : micro_batches) total_rows += b.first.size(0);
  StepLosses sum;
  bool first = true;
  for (size_t m = 0; m < micro_batches.size(); ++m) {
    const auto& [x, y] = micro_batches[m];
    const double weight = static_cast<double>(x.size(0)) / static_cast<double>(total_rows);
    const bool keep_attention = regularise || (first && options.attention);
    torch::Tensor loss, objective;
    {
      compat::AutocastGuard autocast(x.device(), options.bf16);
      auto out = model->forward(x, keep_attention);
      loss = next_token_loss(out.logits, y);
      objective = loss;
      if (regularise) {
        auto term = ereg_coeff * entropy_penalty(*regulariser, out);
        objective = objective + term;
        sum.ereg_loss += term.item<double>() * weight;
      }
      if (first && options.attention) *options.attention = detached_attention(out);
    }
    if (sync && m + 1 == micro_batches.size()) sync->arm();  // this backward completes the gradients
    (objective * weight).backward();
    sum.loss += loss.item<double>() * weight;
    first = false;
  }
  if (sync) sync->finish();
  return sum;
}

namespace {

std::string iso_time_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string describe_nonfinite(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"; }

// Everything one training run holds; run() is the loop.
//
// In a data-parallel run every rank runs this same loop in lockstep: each trains on its share of
// every batch, gradients are averaged (GradientSync), and whatever is logged or decides the course
// of the run (losses, entropy, divergence, a stop) is agreed over the ranks first. Only rank 0
// writes files and prints; comm_->... calls are identities for one process.
class Training {
 public:
  // `resume_from`: checkpoints to try, newest first (empty: train from scratch); `warnings`:
  // problems met while finding them, written as events once metrics.jsonl is open.
  Training(const ExperimentSpec& spec, const RunOptions& options, LoadedData data, torch::Device device,
           fs::path run_dir, std::vector<ResumePoint> resume_from, std::vector<std::string> warnings,
           std::shared_ptr<dist::Communicator> comm)
      : spec_(spec),
        options_(options),
        data_(std::move(data)),
        device_(device),
        run_dir_(std::move(run_dir)),
        resume_from_(std::move(resume_from)),
        pending_warnings_(std::move(warnings)),
        comm_(std::move(comm)),
        console_(options.quiet, /*silent=*/!comm_->is_main()) {}

  RunResult run();
  // Writes summary.json with status "failed" after an unexpected error; never throws.
  void record_failure(const std::string& message) noexcept;

 private:
  Batch to_device(Batch b) const { return {b.first.to(device_), b.second.to(device_)}; }
  // Appends to metrics.jsonl (rank 0; the other ranks have no metrics file).
  void write_record(const nlohmann::json& record) {
    if (metrics_) metrics_->write(record);
  }
  // The mean over the ranks (the value itself for one process).
  double rank_mean(double value) { return comm_->sum({value}).front() / comm_->world_size(); }
  double evaluate(int64_t step);
  void write_entropy(const EntropyRecord& rec, bool warn);
  // The entropy record on the fixed validation batch (val batch 0).
  void record_val_entropy(int64_t step);
  // The entropy record on a training batch; `warn` = false on the diverged step, whose event says it all.
  void record_batch_entropy(int64_t step, const torch::Tensor& x, bool warn);
  // The entropy record from the step's own training forward (log.entropy_split: step).
  void record_step_entropy(int64_t step, const ForwardResult& attention);
  void checkpoint(int64_t step, torch::optim::Optimizer& optimizer, const BatchSampler& train_sampler);
  // The early warning: an event (once per layer) when a layer's mean entropy drops below
  // log.collapse_warning * ln T while its attention is still finite.
  void warn_on_collapse(const EntropyRecord& rec);
  // Loads the newest loadable checkpoint of resume_from_ into the model, optimizer, RNG and
  // sampler, cuts metrics.jsonl back to its step and restores the run's counters from what is
  // left. Returns the step it continues after.
  int64_t resume(torch::optim::Optimizer& optimizer, BatchSampler& train_sampler);
  void restore_from_metrics(const std::vector<nlohmann::json>& records);
  void warn(int64_t step, const std::string& message);
  RunResult finish(const std::string& status, int64_t step, const std::string& message);
  nlohmann::json summary(const std::string& status, int64_t step, const std::string& message) const;

  const ExperimentSpec& spec_;
  const RunOptions& options_;
  LoadedData data_;
  torch::Device device_;
  fs::path run_dir_;
  std::vector<ResumePoint> resume_from_;
  std::vector<std::string> pending_warnings_;
  std::shared_ptr<dist::Communicator> comm_;
  std::unique_ptr<dist::GradientSync> grad_sync_;  // data-parallel runs only
  std::unique_ptr<MetricsWriter> metrics_;  // opened once a resume has cut the file back; rank 0 only
  Console console_;
  GPT model_{nullptr};
  std::unique_ptr<BatchSampler> val_sampler_;

  Clock::time_point start_ = Clock::now();
  std::string started_at_ = iso_time_now();
  double train_seconds_ = 0;  // time inside optimizer steps, for tokens/s
  int64_t tokens_ = 0;          // since step 0, across resumes
  int64_t segment_tokens_ = 0;  // in this process, for tokens/s
  std::optional<ResumePoint> resumed_;
  nlohmann::json restored_entropy_;  // the last entropy record before a resume
  double final_val_loss_ = std::numeric_limits<double>::quiet_NaN();
  double best_val_loss_ = std::numeric_limits<double>::quiet_NaN();
  int64_t best_step_ = -1;
  int64_t step_ = 0;  // optimizer steps completed
  EntropyRecord last_entropy_;
  bool have_entropy_ = false;
  std::vector<bool> warned_collapse_;
};

void Training::warn_on_collapse(const EntropyRecord& rec) {
  warned_collapse_.resize(rec.layerwise.size(), false);
  const double limit = spec_.log.collapse_warning * rec.max_entropy;
  for (size_t l = 0; l < rec.layerwise.size(); ++l) {
    const double e = rec.layerwise[l];
    if (warned_collapse_[l] || !std::isfinite(e) || e >= limit || rec.nan_counts[l] > 0) continue;
    warned_collapse_[l] = true;
    char msg[200];
    std::snprintf(msg, sizeof(msg), "layer %zu mean attention entropy %.4f nats is below %.4f (%.3g x ln T): entropy collapse",
                  l, e, limit, spec_.log.collapse_warning);
    write_record({{"kind", "event"}, {"step", rec.step}, {"name", "collapse_warning"}, {"layer", l}, {"message", msg}});
    console_.warning(rec.step, msg);
  }
}

double Training::evaluate(int64_t step) {
  const double loss = rank_mean(evaluate_loss(model_, *val_sampler_, spec_.train.eval_batches, device_));
  final_val_loss_ = loss;
  if (std::isfinite(loss) && (best_step_ < 0 || loss < best_val_loss_)) best_val_loss_ = loss, best_step_ = step;
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  write_record({{"kind", "eval"}, {"step", step}, {"val_loss", num(loss)}, {"val_ppl", num(std::exp(loss))}});
  console_.eval_line(step, loss);
  return loss;
}

void Training::write_entropy(const EntropyRecord& rec, bool warn) {
  write_record(to_json(rec));
  last_entropy_ = rec;
  have_entropy_ = true;
  if (warn) warn_on_collapse(rec);
}

void Training::record_val_entropy(int64_t step) {
  EntropyRecord rec = evaluate_entropy(model_, *val_sampler_, 1, device_, step, spec_.log.bin_max);
  dist::merge_entropy_over_ranks(rec, *comm_, spec_.model.context);
  write_entropy(rec, /*warn=*/true);
}

void Training::record_batch_entropy(int64_t step, const torch::Tensor& x, bool warn) {
  torch::NoGradGuard no_grad;
  model_->eval();
  auto out = model_->forward(x, /*keep_attention=*/true);
  model_->train();
  EntropyRecord rec = measure_attention_entropy(out, step, "train", spec_.log.bin_max);
  dist::merge_entropy_over_ranks(rec, *comm_, spec_.model.context);
  rec.learned = model_->learned_parameters();
  write_entropy(rec, warn);
}

void Training::record_step_entropy(int64_t step, const ForwardResult& attention) {
  EntropyRecord rec = measure_attention_entropy(attention, step, "step", spec_.log.bin_max);
  dist::merge_entropy_over_ranks(rec, *comm_, spec_.model.context);
  rec.learned = model_->learned_parameters();
  write_entropy(rec, /*warn=*/true);
}

void Training::checkpoint(int64_t step, torch::optim::Optimizer& optimizer, const BatchSampler& train_sampler) {
  if (!comm_->is_main()) return;  // the ranks hold the same model and optimizer state
  CheckpointMeta meta;
  meta.step = step;
  meta.sampler_position = train_sampler.position();
  meta.spec_yaml = spec_to_yaml(spec_);
  meta.entropix_version = ENTROPIX_VERSION;
  meta.libtorch_version = compat::torch_version();
  meta.world_size = comm_->world_size();
  const fs::path dir = run_dir_ / "checkpoints";
  const fs::path file = save_checkpoint(dir, meta, *model_, &optimizer);
  prune_checkpoints(dir, spec_.train.keep_checkpoints);
  write_record({{"kind", "event"}, {"step", step}, {"name", "checkpoint"}, {"message", "wrote " + file.string()}});
}

nlohmann::json Training::summary(const std::string& status, int64_t step, const std::string& message) const {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  const double wall = std::chrono::duration<double>(Clock::now() - start_).count();
  nlohmann::json s = {
      {"status", status},
      {"name", spec_.name},
      {"steps", step},
      {"tokens", tokens_},
      {"final_val_loss", num(final_val_loss_)},
      {"final_val_ppl", num(std::exp(final_val_loss_))},
      {"best_val_loss", num(best_val_loss_)},
      {"best_val_ppl", num(std::exp(best_val_loss_))},
      {"best_step", best_step_ >= 0 ? nlohmann::json(best_step_) : nlohmann::json(nullptr)},
      {"wall_time_s", wall},
      {"tokens_per_s", train_seconds_ > 0 ? segment_tokens_ / train_seconds_ : 0.0},
      {"params", {{"total", model_->parameter_count()}, {"non_embedding", model_->non_embedding_parameter_count()}}},
      {"nonlinearities", nonlinearity_inventory(spec_.model)},
      {"device", device_.str()},
      {"threads", torch::get_num_threads()},
      {"world_size", comm_->world_size()},
      {"versions", {{"entropix", ENTROPIX_VERSION}, {"libtorch", compat::torch_version()}}},
      {"command", options_.command_line},
      {"started_at", started_at_},
      {"finished_at", iso_time_now()},
      {"final_entropy", have_entropy_ ? to_json(last_entropy_) : restored_entropy_},
  };
  if (!message.empty()) s["message"] = message;
  if (resumed_) s["resumed_from"] = {{"checkpoint", resumed_->checkpoint.string()}, {"step", resumed_->meta.step}};
  return s;
}

RunResult Training::finish(const std::string& status, int64_t step, const std::string& message) {
  nlohmann::json s = summary(status, step, message);
  if (status == "diverged") {
    s["diverged_step"] = step;
    nlohmann::json nan_layers = nlohmann::json::array();
    for (size_t l = 0; l < last_entropy_.nan_counts.size(); ++l)
      if (last_entropy_.nan_counts[l] > 0) nan_layers.push_back(l);
    s["nan_layers"] = nan_layers;
  }
  if (comm_->is_main()) write_json_atomic(run_dir_ / "summary.json", s);
  RunResult r;
  r.status = status;
  r.exit_code = status == "completed" ? kExitOk : status == "interrupted" ? kExitInterrupted : kExitDiverged;
  r.run_dir = run_dir_;
  return r;
}

void Training::record_failure(const std::string& message) noexcept {
  if (!metrics_) return;  // failed before training started: the directory keeps what it had
  try {
    metrics_->write({{"kind", "event"}, {"step", step_}, {"name", "failure"}, {"message", message}});
    write_json_atomic(run_dir_ / "summary.json", summary("failed", step_, message));
  } catch (...) {
    // Reporting the original error matters more than this one.
  }
}

void Training::warn(int64_t step, const std::string& message) {
  write_record({{"kind", "event"}, {"step", step}, {"name", "warning"}, {"message", message}});
  console_.warning(step, message);
}

int64_t Training::resume(torch::optim::Optimizer& optimizer, BatchSampler& train_sampler) {
  for (const auto& candidate : resume_from_) {
    const auto differences =
        resume_spec_differences(parse_spec(candidate.meta.spec_yaml, candidate.checkpoint.string()), spec_);
    if (!differences.empty()) break;  // older checkpoints of another spec: reported below
    try {
      load_checkpoint(candidate.checkpoint, *model_, &optimizer, /*restore_rng=*/true);
    } catch (const InputError& e) {
      pending_warnings_.push_back("skipping checkpoint " + candidate.checkpoint.string() + ": " + e.problems().front());
      continue;
    }
    resumed_ = candidate;
    break;
  }
  if (!resumed_) {
    std::vector<std::string> problems = {"no checkpoint to resume from could be loaded"};
    problems.insert(problems.end(), pending_warnings_.begin(), pending_warnings_.end());
    throw InputError(problems);
  }
  const int64_t step = resumed_->meta.step;
  train_sampler.set_position(resumed_->meta.sampler_position);
  if (!comm_->is_main()) return step;  // rank 0 alone keeps the metrics
  const RetainedMetrics kept = cut_metrics_back(run_dir_ / "metrics.jsonl", step);
  restore_from_metrics(kept.records);
  if (kept.dropped > 0)
    pending_warnings_.push_back("dropped " + std::to_string(kept.dropped) + " metrics records past step " +
                                std::to_string(step) + " (their training is redone from the checkpoint)");
  return step;
}

void Training::restore_from_metrics(const std::vector<nlohmann::json>& records) {
  for (const auto& r : records) {
    const std::string kind = r.value("kind", "");
    if (kind == "eval" && r["val_loss"].is_number()) {
      const double loss = r["val_loss"].get<double>();
      const int64_t step = r.value("step", int64_t{0});
      final_val_loss_ = loss;
      if (best_step_ < 0 || loss < best_val_loss_) best_val_loss_ = loss, best_step_ = step;
    } else if (kind == "entropy") {
      restored_entropy_ = r;
    } else if (kind == "event" && r.value("name", "") == "collapse_warning" && r.contains("layer")) {
      const size_t layer = r["layer"].get<size_t>();
      if (warned_collapse_.size() <= layer) warned_collapse_.resize(layer + 1, false);
      warned_collapse_[layer] = true;
    }
  }
}

RunResult Training::run() {
  const auto& t = spec_.train;
  torch::manual_seed(spec_.seed);
  model_ = GPT(spec_.model);
  attach_entropy_regulariser(model_, spec_.entropy_reg);
  model_->set_attention_kernel(attention_kernel(spec_.train));
  model_->to(device_);
  model_->train();
  auto optimizer = make_optimizer(model_, t);
  auto params = model_->parameters();
  const int world = comm_->world_size();

  // Training batches come from stream 0, validation (eval and entropy) from stream 1. Each rank
  // draws rows [rank * B, (rank + 1) * B) of every batch, so together the ranks see exactly the
  // batches one process with batch size world * B would.
  const int64_t first_row = comm_->rank() * t.batch_size;
  BatchSampler train_sampler(data_.train, t.batch_size, spec_.model.context, spec_.seed, /*stream=*/0, first_row);
  val_sampler_ = std::make_unique<BatchSampler>(data_.val, t.batch_size, spec_.model.context, spec_.seed, 1, first_row);

  const int64_t tokens_per_step = t.batch_size * t.grad_accum * spec_.model.context * world;
  const int64_t resumed_step = resume_from_.empty() ? 0 : resume(optimizer, train_sampler);
  if (world > 1) {
    // Every rank must continue from the same checkpoint, i.e. see the same run directory.
    const double latest = comm_->max(static_cast<double>(resumed_step));
    const double earliest = -comm_->max(-static_cast<double>(resumed_step));
    if (latest != earliest)
      throw std::runtime_error("rank " + std::to_string(comm_->rank()) + " resumed at step " +
                               std::to_string(resumed_step) + " but other ranks at steps from " +
                               std::to_string(static_cast<int64_t>(earliest)) + " to " +
                               std::to_string(static_cast<int64_t>(latest)) +
                               ": all ranks must see the same run directory");
    // Same seed, same initialisation; copying rank 0's weights (and float buffers, e.g. spectral
    // norm's power-iteration vectors; masks are constants) makes that a guarantee.
    std::vector<torch::Tensor> state = model_->parameters();
    for (const auto& b : model_->buffers())
      if (b.is_floating_point()) state.push_back(b);
    comm_->broadcast_from_main(state);
    grad_sync_ = std::make_unique<dist::GradientSync>(params, comm_);
  }
  if (!metrics_ && comm_->is_main()) metrics_ = std::make_unique<MetricsWriter>(run_dir_ / "metrics.jsonl");
  for (const auto& w : pending_warnings_) warn(resumed_step, w);
  step_ = resumed_step;
  tokens_ = resumed_step * tokens_per_step;

  console_.start(spec_, run_dir_, model_->parameter_count(), device_.str(), torch::get_num_threads());
  if (resumed_) {
    const std::string message = "resumed from " + resumed_->checkpoint.string() + " at step " +
                                std::to_string(resumed_step) + " of " + std::to_string(t.steps);
    write_record({{"kind", "event"}, {"step", resumed_step}, {"name", "resume"}, {"message", message}});
    if (!options_.quiet && comm_->is_main()) std::cout << message << std::endl;
  } else {
    record_val_entropy(0);
  }

  double window_seconds = 0;
  int64_t window_steps = 0;
  for (int64_t step = resumed_step + 1; step <= t.steps; ++step) {
    const auto step_start = Clock::now();
    const double lr = learning_rate(t, step - 1);
    set_learning_rate(optimizer, lr);
    optimizer.zero_grad();
    std::vector<Batch> micro;
    for (int64_t m = 0; m < t.grad_accum; ++m) micro.push_back(to_device(train_sampler.next()));
    const bool regularise = spec_.entropy_reg.enabled && step >= spec_.entropy_reg.start_step;
    const bool entropy_now = step % spec_.log.entropy_every == 0 || step == t.steps;
    ForwardResult step_attention;  // log.entropy_split: step
    StepOptions step_options;
    step_options.ereg_coeff = regularise ? spec_.entropy_reg.coeff : 0.0;
    step_options.bf16 = t.precision == "bf16";
    step_options.sync = grad_sync_.get();
    if (entropy_now && spec_.log.entropy_split == "step") step_options.attention = &step_attention;
    StepLosses losses = accumulate_gradients(model_, micro, step_options);
    const double grad_norm =
        compat::clip_grad_norm(params, t.grad_clip > 0 ? t.grad_clip : std::numeric_limits<double>::infinity());
    // The mean of the ranks' losses is the loss of the whole batch (equal shares); a non-finite
    // value on any rank makes every rank stop at this step.
    const auto agreed = comm_->sum({losses.loss, losses.ereg_loss, std::isfinite(grad_norm) ? 0.0 : 1.0});
    losses.loss = agreed[0] / world;
    losses.ereg_loss = agreed[1] / world;
    const double loss = losses.loss;

    if (!std::isfinite(loss) || agreed[2] > 0) {
      const std::string what = !std::isfinite(loss)        ? "loss is " + describe_nonfinite(loss)
                               : !std::isfinite(grad_norm) ? "gradient norm is " + describe_nonfinite(grad_norm)
                                                           : "gradient norm is not finite on another rank";
      const std::string message = "training diverged at step " + std::to_string(step) + ": " + what;
      write_record({{"kind", "event"}, {"step", step}, {"name", "divergence"}, {"message", message}});
      record_batch_entropy(step, micro.front().first, /*warn=*/false);
      console_.diverged(step, what);
      return finish("diverged", step, message);
    }
    optimizer.step();
    step_ = step;

    const double seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    train_seconds_ += seconds;
    window_seconds += seconds;
    ++window_steps;
    tokens_ += tokens_per_step;
    segment_tokens_ += tokens_per_step;

    const bool last = step == t.steps;
    if (step % spec_.log.every == 0 || last) {
      const double ms = 1000.0 * window_seconds / window_steps;
      const double tps = tokens_per_step * window_steps / window_seconds;
      const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      nlohmann::json record = {{"kind", "train"}, {"step", step}, {"tokens", tokens_}, {"loss", loss}, {"lr", lr},
                               {"grad_norm", grad_norm}, {"ms_per_step", ms}, {"tokens_per_s", tps}, {"elapsed_s", elapsed}};
      if (spec_.entropy_reg.enabled) record["ereg_loss"] = losses.ereg_loss;
      write_record(record);
      const double eta = (t.steps - step) * (elapsed / step);
      console_.train_line(step, t.steps, loss, lr, tps, ms, eta);
      window_seconds = 0;
      window_steps = 0;
    }
    if (step % t.eval_every == 0 || last) evaluate(step);
    if (entropy_now) {
      if (spec_.log.entropy_split == "train") record_batch_entropy(step, micro.front().first, /*warn=*/true);
      else if (spec_.log.entropy_split == "step") record_step_entropy(step, step_attention);
      else record_val_entropy(step);
    }
    const int64_t every = t.checkpoint_every;
    // A signal reaches the ranks at slightly different times: they stop at the first step where
    // any of them has one.
    const int stop_signal = static_cast<int>(comm_->max(StopSignals::requested()));
    const bool stop_asked = step == options_.stop_after;
    if (last || (every > 0 && step % every == 0) || stop_signal || stop_asked)
      checkpoint(step, optimizer, train_sampler);
    if ((stop_signal || stop_asked) && !last) {
      const std::string why =
          stop_signal ? "interrupted by signal " + std::to_string(stop_signal) : std::string("stopped as asked (--stop-after)");
      const std::string message =
          why + " after step " + std::to_string(step) + "; a checkpoint of that step was written";
      write_record({{"kind", "event"}, {"step", step}, {"name", "interrupted"}, {"message", message}});
      console_.warning(step, message);
      return finish("interrupted", step, message);
    }
  }
  RunResult result = finish("completed", t.steps, "");
  if (have_entropy_) console_.finished(result.run_dir, final_val_loss_, last_entropy_);
  else if (!options_.quiet && comm_->is_main()) std::cout << "done: " << result.run_dir.string() << " (the checkpoint was at train.steps already)\n";
  return result;
}

}  // namespace

namespace {

// Where a resumed run lives: --out when given; else the run directory holding the checkpoint
// named by --resume PATH; else runs/<name>.
fs::path resumed_run_dir(const ExperimentSpec& spec, const RunOptions& options) {
  if (!options.out_dir.empty()) return options.out_dir;
  if (options.resume != "auto") {
    const fs::path p = fs::absolute(options.resume).lexically_normal();
    if (fs::is_directory(p / "checkpoints")) return options.resume;
    if (p.parent_path().filename() == "checkpoints") return p.parent_path().parent_path();
    if (fs::is_directory(p) && p.filename() == "checkpoints") return p.parent_path();
  }
  return fs::path("runs") / spec.name;
}

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

std::string summary_status(const fs::path& run_dir) {
  try {
    return nlohmann::json::parse(read_file(run_dir / "summary.json")).value("status", "");
  } catch (...) {
    return "";
  }
}

// The checks a resume must pass before anything is written: the newest checkpoint's spec
// differs from `spec` only in resumable keys, its step is not past train.steps, and it was written
// by as many ranks as resume it (the global batch is world_size x train.batch_size).
void check_resumable(const ResumePoint& point, const ExperimentSpec& spec, int world_size) {
  const auto differences = resume_spec_differences(parse_spec(point.meta.spec_yaml, point.checkpoint.string()), spec);
  if (!differences.empty()) {
    std::vector<std::string> problems = {
        "cannot resume from " + point.checkpoint.string() +
        ": the spec differs from the checkpoint's in keys that must match (docs/cli.md, \"Resuming\", lists the keys that may change):"};
    for (const auto& d : differences) problems.push_back("  " + d);
    throw InputError(problems);
  }
  if (point.meta.step > spec.train.steps)
    throw InputError(point.checkpoint.string() + ": checkpoint is at step " + std::to_string(point.meta.step) +
                     ", past train.steps " + std::to_string(spec.train.steps) + "; raise train.steps to continue it");
  if (point.meta.world_size != world_size)
    throw InputError(point.checkpoint.string() + ": written by a run of " + std::to_string(point.meta.world_size) +
                     " rank(s), resumed by " + std::to_string(world_size) + "; resume it with " +
                     std::to_string(point.meta.world_size) + " (each batch holds ranks x train.batch_size rows)");
}

// What a run starts from, once everything that can be wrong with the input has been checked.
// Finding it writes nothing.
struct RunPlan {
  LoadedData data;
  fs::path run_dir;
  std::vector<ResumePoint> candidates;  // checkpoints to resume from, newest first
  std::vector<std::string> warnings;    // unreadable checkpoints met on the way
  bool already_completed = false;       // --resume of a run that finished: nothing to do
};

RunPlan plan_run(const ExperimentSpec& spec, const RunOptions& options, int world_size) {
  RunPlan plan;
  plan.data = load_data(spec);
  for (const auto& t : {plan.data.train, plan.data.val})
    BatchSampler(t, spec.train.batch_size, spec.model.context, spec.seed, 0);  // throws if too short

  const bool resuming = !options.resume.empty();
  if (resuming && options.overwrite)
    throw InputError("--resume and --overwrite exclude each other: --overwrite starts the run again from scratch");
  if (options.stop_after < 0) throw InputError("--stop-after: must be a step >= 1");
  const fs::path run_dir = resuming ? resumed_run_dir(spec, options)
                           : options.out_dir.empty() ? fs::path("runs") / spec.name
                                                     : options.out_dir;
  plan.run_dir = run_dir;

  std::vector<ResumePoint>& candidates = plan.candidates;
  std::vector<std::string>& warnings = plan.warnings;
  if (resuming) {
    const fs::path source = options.resume == "auto" ? run_dir : fs::path(options.resume);
    std::error_code ec;
    if (options.resume != "auto" && !fs::exists(source, ec))
      throw InputError("--resume " + options.resume + ": no such file or directory (expected a checkpoint file, a run directory or auto)");
    if (options.resume == "auto" && !fs::is_directory(run_dir, ec)) {
      // Nothing to resume: a fresh start, as "auto" promises.
    } else {
      // Printed (stderr) and logged as events once the run starts.
      candidates = resume_candidates(source, [&](const std::string& w) { warnings.push_back(w); });
    }
    if (candidates.empty() && !warnings.empty()) {
      // Never start afresh over checkpoints that exist but cannot be read: someone should look.
      std::vector<std::string> problems = {run_dir.string() + ": no readable checkpoint to resume from:"};
      for (const auto& w : warnings) problems.push_back("  " + w);
      throw InputError(problems);
    }
    if (candidates.empty() && options.resume != "auto")
      throw InputError("--resume " + options.resume + ": no complete checkpoint to resume from");
    if (candidates.empty() && summary_status(run_dir) == "completed")
      throw InputError(run_dir.string() + ": holds a completed run but no checkpoint to resume from; pass --overwrite "
                       "(without --resume) to train it again");
  }
  if (!candidates.empty()) {
    check_resumable(candidates.front(), spec, world_size);
    if (options.stop_after > 0 && options.stop_after <= candidates.front().meta.step)
      throw InputError("--stop-after " + std::to_string(options.stop_after) + ": the run resumes after step " +
                       std::to_string(candidates.front().meta.step) + "; give a later step");
    plan.already_completed =
        candidates.front().meta.step == spec.train.steps && summary_status(run_dir) == "completed";
  }
  return plan;
}

// Writes the run directory's spec.yaml and command.txt (creating or clearing it as the plan says).
void prepare_run(const RunPlan& plan, const ExperimentSpec& spec, const RunOptions& options) {
  const fs::path& run_dir = plan.run_dir;
  const bool continue_in_place =
      !plan.candidates.empty() && same_directory(plan.candidates.front().checkpoint.parent_path(), run_dir / "checkpoints");
  if (continue_in_place) {
    // The spec now in force (train.steps may have changed); every invocation's command line.
    write_file_atomic(run_dir / "spec.yaml", spec_to_yaml(spec));
    std::string commands;
    std::error_code ec;
    if (fs::exists(run_dir / "command.txt", ec)) commands = read_file(run_dir / "command.txt");
    write_file_atomic(run_dir / "command.txt", commands + options.command_line + "\n");
  } else {
    // A fresh run, or a fork of another run's checkpoint into a new directory. "auto" without a
    // checkpoint replaces an unfinished attempt that never reached one.
    const bool resuming = !options.resume.empty();
    prepare_run_directory(run_dir, /*overwrite=*/options.overwrite || (resuming && plan.candidates.empty()));
    write_file_atomic(run_dir / "spec.yaml", spec_to_yaml(spec));
    write_file_atomic(run_dir / "command.txt", options.command_line + "\n");
  }
}

// Rank 0 plans the run and writes the run directory; the other ranks wait for that, then plan
// too (reading what rank 0 left), so no rank reads a directory while it is being rewritten. A
// failure on rank 0 ends the others too, with the same kind of exit.
RunPlan plan_and_prepare(const ExperimentSpec& spec, const RunOptions& options, dist::Communicator& comm) {
  if (!comm.is_main()) {
    const std::string failure = comm.await_setup();
    const std::string rank = "rank " + std::to_string(comm.rank()) + ": ";
    if (failure.rfind("input", 0) == 0) throw InputError(rank + "stopping: rank 0 refused the input (see its error)");
    if (!failure.empty()) throw std::runtime_error(rank + "stopping: rank 0 failed to set up the run (see its error)");
    return plan_run(spec, options, comm.world_size());
  }
  try {
    RunPlan plan = plan_run(spec, options, comm.world_size());
    if (!plan.already_completed) prepare_run(plan, spec, options);
    comm.announce_setup("");
    return plan;
  } catch (const InputError&) {
    comm.announce_setup("input");
    throw;
  } catch (...) {
    comm.announce_setup("failure");
    throw;
  }
}

}  // namespace

RunResult run_experiment(const ExperimentSpec& spec, const RunOptions& options) {
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
    return {"completed", kExitOk, plan.run_dir};
  }

  StopSignals signals;  // from here on a signal stops the run cleanly
  Training training(spec, options, std::move(plan.data), device, plan.run_dir, std::move(plan.candidates),
                    std::move(plan.warnings), comm);
  try {
    return training.run();
  } catch (const InputError&) {
    throw;  // a checkpoint that could not be resumed: the run directory keeps what it had
  } catch (const std::exception& e) {
    // Leave a summary behind so a crashed run is recognisable, then let the caller report it.
    training.record_failure(e.what());
    throw;
  }
}

}  // namespace entropix
