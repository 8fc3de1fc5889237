#include "entropix/metrics/records.h"

#include <cmath>

namespace entropix {

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

const std::vector<RecordField>& TrainRecord::fields() {
  static const std::vector<RecordField> f = {
      {"kind"}, {"step"}, {"tokens"}, {"loss"}, {"lr"}, {"grad_norm"}, {"ms_per_step"}, {"tokens_per_s"},
      {"elapsed_s"}, {"ereg_loss", false}};
  return f;
}

nlohmann::json to_json(const TrainRecord& r) {
  nlohmann::json out = {{"kind", "train"},
                        {"step", r.step},
                        {"tokens", r.tokens},
                        {"loss", r.loss},
                        {"lr", r.lr},
                        {"grad_norm", number_or_null(r.grad_norm)},
                        {"ms_per_step", r.ms_per_step},
                        {"tokens_per_s", r.tokens_per_s},
                        {"elapsed_s", r.elapsed_s}};
  if (r.ereg_loss) out["ereg_loss"] = *r.ereg_loss;
  return out;
}

const std::vector<RecordField>& EvalRecord::fields() {
  static const std::vector<RecordField> f = {{"kind"}, {"step"}, {"val_loss"}, {"val_ppl"}, {"tokens"}, {"elapsed_s"}};
  return f;
}

nlohmann::json to_json(const EvalRecord& r) {
  return {{"kind", "eval"},
          {"step", r.step},
          {"val_loss", number_or_null(r.val_loss)},
          {"val_ppl", number_or_null(std::exp(r.val_loss))},
          {"tokens", r.tokens},
          {"elapsed_s", r.elapsed_s}};
}

const std::vector<RecordField>& EventRecord::fields() {
  static const std::vector<RecordField> f = {{"kind"}, {"step"}, {"name"}, {"message"}, {"layer", false}};
  return f;
}

nlohmann::json to_json(const EventRecord& r) {
  nlohmann::json out = {{"kind", "event"}, {"step", r.step}, {"name", r.name}, {"message", r.message}};
  if (r.layer) out["layer"] = *r.layer;
  return out;
}

const std::vector<RecordField>& SummaryRecord::fields() {
  // world_size is always written now, but summaries from before data-parallel training lack it.
  static const std::vector<RecordField> f = {
      {"status"},         {"name"},          {"steps"},          {"tokens"},
      {"final_val_loss"}, {"final_val_ppl"}, {"best_val_loss"},  {"best_val_ppl"},
      {"best_step"},      {"wall_time_s"},   {"tokens_per_s"},   {"params"},
      {"nonlinearities"}, {"device"},        {"threads"},        {"world_size", false},
      {"versions"},       {"command"},       {"started_at"},     {"finished_at"},
      {"final_entropy"},  {"diverged_step", false}, {"nan_layers", false}, {"message", false},
      {"resumed_from", false}, {"host"},    {"seed"},           {"git", false}};
  return f;
}

nlohmann::json to_json(const SummaryRecord& r) {
  nlohmann::json out = {
      {"status", to_string(r.status)},
      {"name", r.name},
      {"steps", r.steps},
      {"tokens", r.tokens},
      {"final_val_loss", number_or_null(r.final_val_loss)},
      {"final_val_ppl", number_or_null(std::exp(r.final_val_loss))},
      {"best_val_loss", number_or_null(r.best_val_loss)},
      {"best_val_ppl", number_or_null(std::exp(r.best_val_loss))},
      {"best_step", r.best_step ? nlohmann::json(*r.best_step) : nlohmann::json(nullptr)},
      {"wall_time_s", r.wall_time_s},
      {"tokens_per_s", r.tokens_per_s},
      {"params", {{"total", r.params_total}, {"non_embedding", r.params_non_embedding}}},
      {"nonlinearities", r.nonlinearities},
      {"device", r.device},
      {"threads", r.threads},
      {"world_size", r.world_size},
      {"versions",
       {{"entropix", r.entropix_version},
        {"libtorch", r.libtorch_version},
        {"cuda", r.cuda_version ? nlohmann::json(*r.cuda_version) : nlohmann::json(nullptr)}}},
      {"host", r.host},
      {"seed", r.seed},
      {"command", r.command},
      {"started_at", r.started_at},
      {"finished_at", r.finished_at},
      {"final_entropy", r.final_entropy},
  };
  if (r.diverged_step) out["diverged_step"] = *r.diverged_step;
  if (r.nan_layers) out["nan_layers"] = *r.nan_layers;
  if (!r.message.empty()) out["message"] = r.message;
  if (r.git) out["git"] = {{"commit", r.git->commit}, {"dirty", r.git->dirty}};
  if (r.resumed_from) out["resumed_from"] = {{"checkpoint", r.resumed_from->checkpoint}, {"step", r.resumed_from->step}};
  return out;
}

}  // namespace entropix
