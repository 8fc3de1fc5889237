// The records a run writes (docs/logs.md, docs/log-schema.json): one struct per kind of
// metrics.jsonl line (train, eval, event; entropy is EntropyRecord in entropy/entropy.h) and the
// summary.json object. Each has one to_json and lists its fields (RecordField) for the schema test.
// Non-finite numbers are written as null, as everywhere in the logs.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "entropix/metrics/run_status.h"
#include "entropix/util/record_field.h"

namespace entropix {

struct TrainRecord {
  int64_t step = 0;
  int64_t tokens = 0;            // training tokens since step 0
  double loss = 0;               // cross-entropy of the step's batch
  double lr = 0;
  double grad_norm = 0;          // before clipping
  double ms_per_step = 0;        // over the steps since the previous train record
  double tokens_per_s = 0;       // over the same steps
  double elapsed_s = 0;          // since this process started the run
  std::optional<double> ereg_loss;  // the regulariser's term, when entropy_reg.enabled
  static const std::vector<RecordField>& fields();
};
nlohmann::json to_json(const TrainRecord& record);

struct EvalRecord {
  int64_t step = 0;
  double val_loss = 0;  // val_ppl = exp(val_loss) is written beside it
  int64_t tokens = 0;     // training tokens since step 0, as the train record of the step
  double elapsed_s = 0;   // since this process started the run, when the evaluation ended
  static const std::vector<RecordField>& fields();
};
nlohmann::json to_json(const EvalRecord& record);

struct EventRecord {
  int64_t step = 0;
  std::string name;     // divergence, failure, checkpoint, collapse_warning, interrupted, resume, warning
  std::string message;
  std::optional<int64_t> layer;  // collapse_warning: the layer
  static const std::vector<RecordField>& fields();
};
nlohmann::json to_json(const EventRecord& record);

struct SummaryRecord {
  RunStatus status = RunStatus::completed;
  std::string name;
  int64_t steps = 0;
  int64_t tokens = 0;
  double final_val_loss = 0;     // NaN when there was no evaluation; ppl = exp(loss) beside it
  double best_val_loss = 0;      // NaN when none was finite
  std::optional<int64_t> best_step;
  double wall_time_s = 0;
  double tokens_per_s = 0;
  int64_t params_total = 0;
  int64_t params_non_embedding = 0;
  nlohmann::json nonlinearities = nlohmann::json::object();  // as describe's nonlinearity_inventory
  std::string device;
  int threads = 1;
  int world_size = 1;
  std::string entropix_version, libtorch_version;
  std::optional<std::string> cuda_version;  // the CUDA runtime LibTorch uses; null without one
  std::string host;                         // the machine (rank 0's host name)
  uint64_t seed = 0;                        // the spec's seed
  struct Git {
    std::string commit;  // HEAD of the repository holding the spec file
    bool dirty = false;  // tracked files changed since that commit
  };
  std::optional<Git> git;  // absent when the spec file is not in a git repository
  std::string command;
  std::string started_at, finished_at;  // UTC, ISO 8601
  nlohmann::json final_entropy;         // the last entropy record as written (to_json), or null
  std::optional<int64_t> diverged_step;           // status diverged
  std::optional<std::vector<int64_t>> nan_layers;  // status diverged
  std::string message;                            // written when not empty
  struct ResumedFrom {
    std::string checkpoint;
    int64_t step = 0;
  };
  std::optional<ResumedFrom> resumed_from;
  static const std::vector<RecordField>& fields();
};
nlohmann::json to_json(const SummaryRecord& record);

// A number, or null where it is NaN or infinite (JSON has no NaN).
nlohmann::json number_or_null(double value);

}  // namespace entropix
