#include "entropix/train/checkpoint_eval.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "entropix/data/batches.h"
#include "entropix/data/sampling.h"
#include "entropix/data/source.h"
#include "entropix/model/gpt.h"
#include "entropix/train/checkpoint.h"
#include "entropix/train/console.h"
#include "entropix/train/evaluation.h"
#include "entropix/train/setup.h"
#include "entropix/util/error.h"
#include "entropix/util/openblas.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

// The spec keys under `section` whose YAML differs between the two specs, as "section.key".
std::string first_difference(const YAML::Node& a, const YAML::Node& b, const std::string& section) {
  for (const auto& item : a[section]) {
    const std::string key = item.first.as<std::string>();
    if (YAML::Dump(item.second) != YAML::Dump(b[section][key])) return section + "." + key;
  }
  return "";
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

}  // namespace

void require_same_architecture(const ExperimentSpec& original, const ExperimentSpec& changed) {
  const YAML::Node a = YAML::Load(spec_to_yaml(original)), b = YAML::Load(spec_to_yaml(changed));
  std::string key = first_difference(a, b, "model");
  if (key.empty() && original.entropy_reg.enabled != changed.entropy_reg.enabled) key = "entropy_reg.enabled";
  if (!key.empty())
    throw InputError("eval cannot change the architecture: " + key + " (the checkpoint's weights fix it; " +
                     "--set may change data, train.batch_size, train.eval_batches, seed, log.bin_max, ...)");
}

EvalResult evaluate_checkpoint(const fs::path& run_dir_or_checkpoint, const EvalOptions& options) {
  EvalResult result;
  result.checkpoint = resolve_checkpoint(run_dir_or_checkpoint);
  const CheckpointMeta meta = read_checkpoint_meta(result.checkpoint);
  const std::string origin = result.checkpoint.string();
  const ExperimentSpec spec = parse_spec(meta.spec_yaml, origin, options.overrides);
  require_same_architecture(parse_spec(meta.spec_yaml, origin), spec);

  const torch::Device device = resolve_device(options.device.empty() ? spec.train.device : options.device);
  set_compute_threads(resolve_threads(spec.train.threads));
  result.batches = options.batches > 0 ? options.batches : spec.train.eval_batches;
  // The trainer's validation sampler: stream 1, same batch size, context and seed.
  // A data-parallel run's validation batch holds every rank's rows: world_size x train.batch_size.
  const auto val_data = load_split(spec, "val");
  const BatchSampler val(val_data, spec.train.batch_size * meta.world_size, spec.model.context, spec.seed, 1, 0,
                         sampling_for(spec, *val_data, meta.world_size));

  GPT model = build_model(spec);  // as `run` builds it; the checkpoint's weights replace the initial ones
  load_checkpoint(result.checkpoint, *model, /*optimizer=*/nullptr);
  model->to(device);
  result.step = meta.step;
  result.val_loss = evaluate_loss(model, val, result.batches, device);
  result.entropy = evaluate_entropy(model, val, result.batches, device, meta.step, spec.log.bin_max);
  if (options.full) result.full = full_perplexity(model, *val_data, spec.train.batch_size, device);
  return result;
}

nlohmann::json to_json(const EvalResult& r) {
  nlohmann::json j = {{"checkpoint", r.checkpoint.string()},
                      {"step", r.step},
                      {"batches", r.batches},
                      {"val_loss", number_or_null(r.val_loss)},
                      {"val_ppl", number_or_null(std::exp(r.val_loss))},
                      {"entropy", to_json(r.entropy)}};
  if (r.full)
    j["full"] = {{"windows", r.full->windows},
                 {"tokens", r.full->tokens},
                 {"val_loss", number_or_null(r.full->loss)},
                 {"val_ppl", number_or_null(r.full->ppl)}};
  return j;
}

std::string eval_report(const EvalResult& r) {
  const EntropyRecord& e = r.entropy;
  std::ostringstream out;
  out << "checkpoint " << r.checkpoint.string() << " (step " << r.step << ")\n";
  out << "val loss " << fixed(r.val_loss, 4) << " | val ppl " << fixed(std::exp(r.val_loss), 3) << " | "
      << r.batches << " val batches\n";
  if (r.full)
    out << "full val loss " << fixed(r.full->loss, 4) << " | full val ppl " << fixed(r.full->ppl, 3) << " | "
        << r.full->windows << " windows of T = " << (r.full->windows ? r.full->tokens / r.full->windows : 0)
        << " tokens, in order (" << r.full->tokens << " tokens predicted)\n";
  out << "\n";
  out << "headwise attention entropy (nats; uniform causal ceiling = " << fixed(causal_ceiling_of(e.max_entropy), 3)
      << ", ln T = " << fixed(e.max_entropy, 3)
      << "; rows = layers, columns = heads; mean over the same batches):\n"
      << headwise_grid(e);
  out << "bins of " << (e.bins.max > 0 ? fixed(e.bins.max, 3) : "-") << " nats (" << e.bin_max_mode << "):";
  for (double f : e.bins.fractions) out << " " << fixed(f, 3);
  out << " | overload " << fixed(e.bins.fractions[3], 3) << " | collapse " << fixed(e.bins.fractions[0], 3) << "\n";
  int64_t nonfinite = 0;
  for (int64_t n : e.nan_counts) nonfinite += n;
  if (nonfinite > 0) out << "non-finite attention probabilities, by layer: " << nlohmann::json(e.nan_counts).dump() << "\n";
  for (const auto& [name, value] : e.learned.items()) out << "learned " << name << ": " << value.dump() << "\n";
  return out.str();
}

}  // namespace entropix
