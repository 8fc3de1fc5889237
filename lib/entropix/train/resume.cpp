#include "entropix/train/resume.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "entropix/model/registry.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

// "a.b.c" -> the value's YAML text, for every leaf of a map; sequences count as one leaf.
void flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& item : node) flatten(item.second, prefix.empty() ? item.first.as<std::string>() : prefix + "." + item.first.as<std::string>(), out);
    return;
  }
  YAML::Emitter emitter;
  emitter << YAML::Flow << node;
  out[prefix] = emitter.c_str();
}

std::map<std::string, std::string> flat_spec(const ExperimentSpec& spec) {
  std::map<std::string, std::string> out;
  flatten(YAML::Load(spec_to_yaml(spec)), "", out);
  return out;
}

bool is_resumable(const std::string& key) {
  for (const auto& k : resumable_keys()) {
    if (k.back() == '.' ? key.rfind(k, 0) == 0 : key == k) return true;
  }
  return false;
}

}  // namespace

std::vector<ResumePoint> resume_candidates(const fs::path& path, const std::function<void(const std::string&)>& warn) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    files = complete_checkpoints(fs::is_directory(path / "checkpoints", ec) ? path / "checkpoints" : path);
    std::reverse(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<ResumePoint> out;
  for (const auto& file : files) {
    try {
      out.push_back({file, read_checkpoint_meta(file)});
    } catch (const InputError& e) {
      // A single named file is the user's explicit choice: its error is the answer.
      if (files.size() == 1 && !fs::is_directory(path, ec)) throw;
      warn("skipping checkpoint " + file.string() + ": " + e.problems().front());
    }
  }
  return out;
}

const std::vector<std::string>& resumable_keys() {
  static const std::vector<std::string> keys = {
      "name",           "train.steps",        "train.lr",           "train.warmup",
      "train.schedule", "train.min_lr_ratio", "train.weight_decay", "train.beta1",
      "train.beta2",    "train.eps",          "train.grad_clip",    "train.device",
      "train.precision", "train.tf32", "train.attention_kernel", "train.attention_block", "train.threads",     "train.eval_every",   "train.eval_batches",
      "train.checkpoint_every", "train.checkpoint_minutes", "train.keep_checkpoints", "log.",   "entropy_reg.coeff",
      "entropy_reg.tolerance", "entropy_reg.reduction", "entropy_reg.start_step",
      "entropy_reg.threshold_init",  // thresholds come from the checkpoint
      "sweep.",         "slurm.",
  };
  return keys;
}

std::vector<std::string> resume_spec_differences(const ExperimentSpec& checkpoint_spec, const ExperimentSpec& spec) {
  const auto before = flat_spec(checkpoint_spec), now = flat_spec(spec);
  std::vector<std::string> out;
  auto value = [](const std::map<std::string, std::string>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string("(absent)") : it->second;
  };
  std::map<std::string, bool> keys;
  for (const auto& kv : before) keys[kv.first] = true;
  for (const auto& kv : now) keys[kv.first] = true;
  for (const auto& kv : keys) {
    const std::string& k = kv.first;
    const std::string a = value(before, k), b = value(now, k);
    if (a != b && !is_resumable(k)) out.push_back(k + ": " + a + " in the checkpoint, " + b + " in the spec");
  }
  return out;
}

RetainedMetrics cut_metrics_back(const fs::path& metrics_file, int64_t step) {
  RetainedMetrics kept;
  std::error_code ec;
  if (!fs::exists(metrics_file, ec)) return kept;
  std::istringstream lines(read_file(metrics_file));
  std::vector<std::string> raw;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) raw.push_back(line);
  std::string text;
  for (size_t i = 0; i < raw.size(); ++i) {
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(raw[i]);
    } catch (const nlohmann::json::exception&) {
      // Only the last line can be cut short by a crash; anything else is damage we should not hide.
      if (i + 1 == raw.size()) {
        ++kept.dropped;
        continue;
      }
      throw InputError(metrics_file.string() + ":" + std::to_string(i + 1) + ": not a JSON record; cannot resume");
    }
    if (record.value("step", int64_t{0}) > step) {
      ++kept.dropped;
      continue;
    }
    text += raw[i] + "\n";
    kept.records.push_back(std::move(record));
  }
  write_file_atomic(metrics_file, text);
  return kept;
}

RestoredLog restore_from_metrics(const std::vector<nlohmann::json>& records) {
  RestoredLog log;
  for (const auto& r : records) {
    const std::string kind = r.value("kind", "");
    if (kind == "eval" && r["val_loss"].is_number()) {
      const double loss = r["val_loss"].get<double>();
      log.final_val_loss = loss;
      if (log.best_step < 0 || loss < log.best_val_loss) {
        log.best_val_loss = loss;
        log.best_step = r.value("step", int64_t{0});
      }
    } else if (kind == "entropy") {
      log.last_entropy = r;
    } else if (kind == "event" && r.value("name", "") == "collapse_warning" && r.contains("layer")) {
      log.collapse_warned_layers.push_back(r["layer"].get<int64_t>());
    }
  }
  return log;
}

Resumed resume_from_checkpoint(const std::vector<ResumePoint>& candidates, const ExperimentSpec& spec,
                               torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                               const fs::path& metrics_file, std::vector<std::string>& warnings) {
  const ResumePoint* loaded = nullptr;
  for (const auto& candidate : candidates) {
    const auto differences =
        resume_spec_differences(parse_spec(candidate.meta.spec_yaml, candidate.checkpoint.string()), spec);
    if (!differences.empty()) break;  // older checkpoints of another spec: reported below
    try {
      load_checkpoint(candidate.checkpoint, model, &optimizer, /*restore_rng=*/true);
    } catch (const InputError& e) {
      warnings.push_back("skipping checkpoint " + candidate.checkpoint.string() + ": " + e.problems().front());
      continue;
    }
    loaded = &candidate;
    break;
  }
  if (!loaded) {
    std::vector<std::string> problems = {"no checkpoint to resume from could be loaded"};
    problems.insert(problems.end(), warnings.begin(), warnings.end());
    throw InputError(problems);
  }
  Resumed resumed{*loaded, {}};
  if (metrics_file.empty()) return resumed;
  const int64_t step = loaded->meta.step;
  const RetainedMetrics kept = cut_metrics_back(metrics_file, step);
  resumed.log = restore_from_metrics(kept.records);
  if (kept.dropped > 0)
    warnings.push_back("dropped " + std::to_string(kept.dropped) + " metrics records past step " +
                       std::to_string(step) + " (their training is redone from the checkpoint)");
  return resumed;
}

}  // namespace entropix
