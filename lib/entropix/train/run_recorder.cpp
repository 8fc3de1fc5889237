#include "entropix/train/run_recorder.h"

#include <ATen/Version.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <limits>
#include <regex>

#include "entropix/describe/describe.h"
#include "entropix/metrics/provenance.h"
#include "entropix/util/error.h"
#include "entropix/util/torch_compat.h"
#include "entropix/version.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

std::string iso_time_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The CUDA runtime version LibTorch uses ("12.1"), from at::show_config(), which lists
// "CUDA Runtime X.Y" (LibTorch 1.13 and 2.x alike) once a GPU is visible; nullopt otherwise.
std::optional<std::string> cuda_runtime_version() {
  if (!torch::cuda::is_available()) return std::nullopt;
  static const std::regex runtime(R"(CUDA Runtime ([0-9][0-9.]*))");
  const std::string config = at::show_config();
  std::smatch m;
  if (!std::regex_search(config, m, runtime)) return std::nullopt;
  return m[1].str();
}

}  // namespace

RunRecorder::RunRecorder(const ExperimentSpec& spec, const RunOptions& options, fs::path run_dir, bool is_main)
    : spec_(spec),
      options_(options),
      run_dir_(std::move(run_dir)),
      is_main_(is_main),
      console_(options.quiet, /*silent=*/!is_main),
      started_at_(iso_time_now()),
      final_val_loss_(std::numeric_limits<double>::quiet_NaN()),
      best_val_loss_(std::numeric_limits<double>::quiet_NaN()) {}

void RunRecorder::open(const RunFacts& facts, const RestoredLog* restored, const std::vector<std::string>& warnings,
                       int64_t step) {
  facts_ = facts;
  if (is_main_) {  // provenance for summary.json, read once at the start (the spec may change later)
    host_ = host_name();
    if (!spec_.source_file.empty()) git_ = git_state(fs::absolute(spec_.source_file).parent_path());
    cuda_version_ = cuda_runtime_version();
  }
  if (is_main_) metrics_ = std::make_unique<MetricsWriter>(run_dir_ / "metrics.jsonl");
  open_ = true;
  if (restored && is_main_) {  // the other ranks keep no metrics, so have nothing to restore
    final_val_loss_ = restored->final_val_loss;
    best_val_loss_ = restored->best_val_loss;
    best_step_ = restored->best_step;
    restored_entropy_ = restored->last_entropy;
    for (int64_t layer : restored->collapse_warned_layers) {
      if (warned_collapse_.size() <= static_cast<size_t>(layer)) warned_collapse_.resize(layer + 1, false);
      warned_collapse_[layer] = true;
    }
  }
  for (const auto& w : warnings) event(step, "warning", w, /*print=*/true);
  console_.start(spec_, run_dir_, facts.params_total, facts.device, facts.threads);
}

void RunRecorder::write(const nlohmann::json& record) {
  if (metrics_) metrics_->write(record);
}

void RunRecorder::train(const TrainRecord& record, double eta_seconds) {
  write(to_json(record));
  console_.train_line(record.step, spec_.train.steps, record.loss, record.lr, record.tokens_per_s, record.ms_per_step,
                      eta_seconds);
}

void RunRecorder::eval(int64_t step, double val_loss, int64_t tokens) {
  final_val_loss_ = val_loss;
  if (std::isfinite(val_loss) && (best_step_ < 0 || val_loss < best_val_loss_)) {
    best_val_loss_ = val_loss;
    best_step_ = step;
  }
  write(to_json(EvalRecord{step, val_loss, tokens, elapsed_s()}));
  console_.eval_line(step, val_loss);
}

void RunRecorder::entropy(const EntropyRecord& record, bool warn) {
  write(to_json(record));
  last_entropy_ = record;
  if (warn) warn_on_collapse(record);
}

void RunRecorder::warn_on_collapse(const EntropyRecord& rec) {
  warned_collapse_.resize(std::max(warned_collapse_.size(), rec.layerwise.size()), false);
  const double limit = spec_.log.collapse_warning * rec.max_entropy;
  for (size_t l = 0; l < rec.layerwise.size(); ++l) {
    const double e = rec.layerwise[l];
    if (warned_collapse_[l] || !std::isfinite(e) || e >= limit || rec.nan_counts[l] > 0) continue;
    warned_collapse_[l] = true;
    char msg[200];
    std::snprintf(msg, sizeof(msg), "layer %zu mean attention entropy %.4f nats is below %.4f (%.3g x ln T): entropy collapse",
                  l, e, limit, spec_.log.collapse_warning);
    write(to_json(EventRecord{rec.step, "collapse_warning", msg, static_cast<int64_t>(l)}));
    console_.warning(rec.step, msg);
  }
}

void RunRecorder::event(int64_t step, const std::string& name, const std::string& message, bool print) {
  write(to_json(EventRecord{step, name, message, std::nullopt}));
  if (print) console_.warning(step, message);
}

void RunRecorder::regulariser_term(int64_t step, double loss, double ereg_loss) {
  if (regularised_steps_seen_ >= kRegulariserWatchSteps) return;
  if (loss > 0) largest_regulariser_ratio_ = std::max(largest_regulariser_ratio_, std::abs(ereg_loss) / loss);
  if (++regularised_steps_seen_ < kRegulariserWatchSteps || largest_regulariser_ratio_ >= kNegligibleRegulariser) return;
  char ratio[32], coeff[32];
  std::snprintf(ratio, sizeof ratio, "%.2g", largest_regulariser_ratio_);
  std::snprintf(coeff, sizeof coeff, "%g", spec_.entropy_reg.coeff);
  event(step, "warning",
        "the entropy regulariser's term is negligible: over its first " + std::to_string(kRegulariserWatchSteps) +
            " steps lambda x L_ent stayed below " + ratio + " of the loss (entropy_reg.coeff " +
            coeff + ", reduction " + spec_.entropy_reg.reduction +
            "); the paper's lambda 1e-5 is for reduction sum, mean needs about batch x T times more (docs/entropy.md)",
        /*print=*/true);
}

void RunRecorder::resumed(int64_t step, const std::string& message) {
  event(step, "resume", message);
  if (!options_.quiet && is_main_) std::cout << message << std::endl;
}

void RunRecorder::diverged(int64_t step, const std::string& what, const std::string& message) {
  event(step, "divergence", message);
  console_.diverged(step, what);
}

double RunRecorder::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

SummaryRecord RunRecorder::summary(RunStatus status, int64_t step, const std::string& message,
                                   const RunTotals& totals) const {
  SummaryRecord s;
  s.status = status;
  s.name = spec_.name;
  s.steps = step;
  s.tokens = totals.tokens;
  s.final_val_loss = final_val_loss_;
  s.best_val_loss = best_val_loss_;
  if (best_step_ >= 0) s.best_step = best_step_;
  s.wall_time_s = elapsed_s();
  s.tokens_per_s = totals.tokens_per_s;
  s.params_total = facts_.params_total;
  s.params_non_embedding = facts_.params_non_embedding;
  s.nonlinearities = nonlinearity_inventory(spec_.model);
  s.device = facts_.device;
  s.threads = facts_.threads;
  s.world_size = facts_.world_size;
  s.entropix_version = ENTROPIX_VERSION;
  s.libtorch_version = compat::torch_version();
  s.cuda_version = cuda_version_;
  s.host = host_;
  s.seed = spec_.seed;
  s.git = git_;
  s.command = options_.command_line;
  s.started_at = started_at_;
  s.finished_at = iso_time_now();
  s.final_entropy = last_entropy_ ? to_json(*last_entropy_) : restored_entropy_;
  s.message = message;
  s.resumed_from = facts_.resumed_from;
  if (status == RunStatus::diverged) {
    s.diverged_step = step;
    s.nan_layers.emplace();
    if (last_entropy_)
      for (size_t l = 0; l < last_entropy_->nan_counts.size(); ++l)
        if (last_entropy_->nan_counts[l] > 0) s.nan_layers->push_back(static_cast<int64_t>(l));
  }
  return s;
}

RunResult RunRecorder::finish(RunStatus status, int64_t step, const std::string& message, const RunTotals& totals) {
  if (is_main_) write_json_atomic(run_dir_ / "summary.json", to_json(summary(status, step, message, totals)));
  RunResult r;
  r.status = status;
  r.exit_code = status == RunStatus::completed     ? kExitOk
                : status == RunStatus::interrupted ? kExitInterrupted
                : status == RunStatus::diverged    ? kExitDiverged
                                                   : kExitFailure;
  r.run_dir = run_dir_;
  if (status == RunStatus::completed) {
    if (last_entropy_) console_.finished(run_dir_, final_val_loss_, *last_entropy_);
    else if (!options_.quiet && is_main_)
      std::cout << "done: " << run_dir_.string() << " (the checkpoint was at train.steps already)\n";
  }
  return r;
}

void RunRecorder::fail(int64_t step, const std::string& message, const RunTotals& totals) noexcept {
  if (!metrics_) return;  // failed before training started (or not rank 0): the directory keeps what it had
  // Each on its own: on a full disk the event may not fit where the (atomically replaced) summary
  // still does, or neither does. Reporting the original error matters more than these.
  try {
    event(step, "failure", message);
  } catch (...) {
  }
  try {
    write_json_atomic(run_dir_ / "summary.json", to_json(summary(RunStatus::failed, step, message, totals)));
  } catch (...) {
  }
}

}  // namespace entropix
