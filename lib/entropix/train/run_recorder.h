// What a training run writes while it trains: the records of metrics.jsonl and the console lines
// that go with them, collapse warnings, and summary.json when it ends (docs/logs.md). In a
// data-parallel run only rank 0's recorder writes or prints; the others keep the same state and
// stay silent.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "entropix/entropy/entropy.h"
#include "entropix/metrics/records.h"
#include "entropix/metrics/run_dir.h"
#include "entropix/spec/spec.h"
#include "entropix/train/console.h"
#include "entropix/train/resume.h"
#include "entropix/train/run_options.h"

namespace entropix {

// Facts of the run that summary.json reports, known once the model is set up.
struct RunFacts {
  int64_t params_total = 0;
  int64_t params_non_embedding = 0;
  std::string device;
  int threads = 1;
  int world_size = 1;
  std::optional<SummaryRecord::ResumedFrom> resumed_from;
};

// The run's counters at the time of a summary.
struct RunTotals {
  int64_t tokens = 0;        // since step 0
  double tokens_per_s = 0;   // over this process's step time
};

class RunRecorder {
 public:
  RunRecorder(const ExperimentSpec& spec, const RunOptions& options, std::filesystem::path run_dir, bool is_main);

  // Starts recording at `step`: opens metrics.jsonl for appending (rank 0; after a resume has cut
  // it back), carries on from what a resumed run's metrics held (null: a fresh start), writes
  // `warnings` (met while setting up) as warning events and prints the start line.
  void open(const RunFacts& facts, const RestoredLog* restored, const std::vector<std::string>& warnings, int64_t step);

  // The train record and its progress line (eta_seconds: until the last step).
  void train(const TrainRecord& record, double eta_seconds);
  // The eval record (with the training tokens so far) and its line; keeps the final and best
  // validation loss.
  void eval(int64_t step, double val_loss, int64_t tokens);
  // The entropy record; with `warn`, a collapse_warning event (and stderr line) for each layer whose
  // mean entropy dropped below log.collapse_warning x ln T for the first time, with finite attention.
  void entropy(const EntropyRecord& record, bool warn);
  // An event record; with `print`, its message is also a warning line on stderr (even when quiet).
  void event(int64_t step, const std::string& name, const std::string& message, bool print = false);
  // The resume event, also printed on stdout unless quiet.
  void resumed(int64_t step, const std::string& message);
  // The divergence event and its error line; `what` says which value was not finite.
  void diverged(int64_t step, const std::string& what, const std::string& message);

  // Writes summary.json (rank 0) and returns the run's result; for diverged, with the layers
  // whose attention had non-finite values in the last entropy record. Completed prints the final
  // report unless quiet.
  RunResult finish(RunStatus status, int64_t step, const std::string& message, const RunTotals& totals);
  // A failure event and summary.json with status failed, when recording has started; never throws.
  void fail(int64_t step, const std::string& message, const RunTotals& totals) noexcept;

  // The regulariser's term of a regularised step next to its loss. After the first
  // kRegulariserWatchSteps such steps, warns once (event + stderr) when the term stayed below
  // kNegligibleRegulariser of the loss: the regulariser would barely change training.
  void regulariser_term(int64_t step, double loss, double ereg_loss);
  static constexpr int kRegulariserWatchSteps = 10;
  static constexpr double kNegligibleRegulariser = 1e-4;

  // Seconds since the recorder was made (the start of the run in this process).
  double elapsed_s() const;

 private:
  void write(const nlohmann::json& record);
  void warn_on_collapse(const EntropyRecord& record);
  SummaryRecord summary(RunStatus status, int64_t step, const std::string& message, const RunTotals& totals) const;

  const ExperimentSpec& spec_;
  const RunOptions& options_;
  std::filesystem::path run_dir_;
  bool is_main_;
  Console console_;
  std::unique_ptr<MetricsWriter> metrics_;  // rank 0, once open
  bool open_ = false;
  RunFacts facts_;
  std::string host_;                            // summary.json provenance, read in open (rank 0)
  std::optional<SummaryRecord::Git> git_;
  std::optional<std::string> cuda_version_;

  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::string started_at_;
  double final_val_loss_;
  double best_val_loss_;
  int64_t best_step_ = -1;
  std::optional<EntropyRecord> last_entropy_;  // written by this process
  nlohmann::json restored_entropy_;            // the last one before a resume
  std::vector<bool> warned_collapse_;          // per layer
  int regularised_steps_seen_ = 0;              // by regulariser_term, this process
  double largest_regulariser_ratio_ = 0;        // ereg_loss / loss over those steps
};

}  // namespace entropix
