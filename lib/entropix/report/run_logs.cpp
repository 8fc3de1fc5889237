#include "entropix/report/run_logs.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>

#include "entropix/entropy/attention_entropy.h"
#include "entropix/metrics/run_dir.h"
#include "entropix/metrics/run_status.h"
#include "entropix/report/run_diff.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix::report {
namespace fs = std::filesystem;

namespace {


// Thrown inside the parsers and turned into an InputError naming the file and record.
struct BadField {
  std::string message;
};

double number(const nlohmann::json& v, const std::string& field) {
  if (v.is_null()) return kNaN;
  if (!v.is_number()) throw BadField{field + " is not a number or null"};
  return v.get<double>();
}

const nlohmann::json& member(const nlohmann::json& rec, const std::string& field) {
  if (!rec.contains(field)) throw BadField{"no field " + field};
  return rec.at(field);
}

std::vector<double> numbers(const nlohmann::json& v, const std::string& field) {
  if (!v.is_array()) throw BadField{field + " is not an array"};
  std::vector<double> out;
  for (const auto& x : v) out.push_back(number(x, field));
  return out;
}

EntropyPoint parse_entropy(const nlohmann::json& rec) {
  EntropyPoint p;
  p.step = member(rec, "step").get<int64_t>();
  p.split = rec.value("split", "");
  p.max_entropy = number(member(rec, "max_entropy"), "max_entropy");
  p.causal_ceiling = rec.contains("causal_ceiling") ? number(rec["causal_ceiling"], "causal_ceiling")
                                                    : causal_ceiling_of(p.max_entropy);
  const auto& headwise = member(rec, "headwise");
  if (!headwise.is_array() || headwise.empty()) throw BadField{"headwise is not an L x H array"};
  for (const auto& row : headwise) p.headwise.push_back(numbers(row, "headwise"));
  p.layerwise = numbers(member(rec, "layerwise"), "layerwise");
  p.nan_counts = numbers(member(rec, "nan_counts"), "nan_counts");
  const auto bins = numbers(member(rec, "bins"), "bins");
  if (bins.size() != 4) throw BadField{"bins does not have 4 entries"};
  for (int i = 0; i < 4; ++i) p.bins[i] = bins[i];
  p.bin_max = rec.contains("bin_max") ? number(rec["bin_max"], "bin_max") : kNaN;
  p.bin_max_mode = rec.value("bin_max_mode", "");
  for (const auto& v : learned_value_catalog())
    if (rec.contains(v.name)) p.learned[v.name] = rec[v.name];
  return p;
}

// An optional number of a record (NaN when absent or null).
double optional_number(const nlohmann::json& rec, const std::string& field) {
  return rec.contains(field) ? number(rec[field], field) : kNaN;
}

// The records of metrics.jsonl. A last line without its newline is a record being written (the
// run is in progress): left out when it does not parse. Any other bad line is an input error.
std::vector<nlohmann::json> read_records(const fs::path& file, bool& partial_last_line) {
  const std::string text = read_file(file);
  std::vector<nlohmann::json> out;
  size_t line_no = 0;
  for (size_t at = 0; at < text.size();) {
    const size_t end = text.find('\n', at);
    const bool complete = end != std::string::npos;
    const std::string line = text.substr(at, complete ? end - at : std::string::npos);
    at = complete ? end + 1 : text.size();
    ++line_no;
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
      if (!complete) {
        partial_last_line = true;
        break;
      }
      throw InputError(file.string() + ":" + std::to_string(line_no) + ": not a JSON object: " + e.what());
    }
  }
  return out;
}

// "L2 H2 d16 T16 | norm none | relu | softmax | mlp" from spec.yaml; "" when it cannot be read.
// Also fills the run's name and its flattened spec.
std::string describe_model(const fs::path& spec_file, std::string& name, std::map<std::string, std::string>& flat) {
  if (!fs::exists(spec_file)) return "";
  try {
    const YAML::Node spec = YAML::LoadFile(spec_file.string());
    flat = flatten_spec(spec);
    if (spec["name"]) name = spec["name"].as<std::string>();
    const YAML::Node m = spec["model"];
    if (!m) return "";
    auto get = [&](const char* key) { return m[key] ? m[key].as<std::string>() : std::string("?"); };
    std::string out = "L" + get("n_layer") + " H" + get("n_head") + " d" + get("n_embd") + " T" + get("context") +
                      " | norm " + get("norm") + " | " + get("activation") + " | " + get("attention") + " | ffn " +
                      get("ffn");
    if (m["layers"] && m["layers"].size() > 0) out += " | per-layer overrides";
    return out;
  } catch (const YAML::Exception& e) {
    throw InputError(spec_file.string() + ": not a readable spec: " + e.what());
  }
}

}  // namespace

RunLogs read_run_logs(const fs::path& dir) {
  if (!fs::exists(dir)) throw InputError(dir.string() + ": no such run directory");
  if (!fs::is_directory(dir)) throw InputError(dir.string() + ": not a directory; pass a run directory");
  const fs::path metrics = dir / "metrics.jsonl";
  if (!fs::exists(metrics))
    throw InputError(dir.string() + ": not a run directory (no metrics.jsonl); pass directories written by entropix run");

  RunLogs run;
  run.dir = dir;
  run.name = fs::absolute(dir).lexically_normal().filename().string();
  if (run.name.empty()) run.name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
  std::string spec_name;
  run.model = describe_model(dir / "spec.yaml", spec_name, run.spec);
  if (!spec_name.empty()) run.name = spec_name;

  int64_t last_train_step = 0;
  const auto records = read_records(metrics, run.partial_last_line);
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& rec = records[i];
    try {
      if (!rec.is_object() || !rec.contains("kind")) throw BadField{"not a record with a kind"};
      const std::string kind = rec["kind"].is_string() ? rec["kind"].get<std::string>() : "";
      if (kind == "train") {
        last_train_step = member(rec, "step").get<int64_t>();
        run.train.push_back({last_train_step, number(member(rec, "loss"), "loss"), optional_number(rec, "lr"),
                             optional_number(rec, "grad_norm"), optional_number(rec, "tokens_per_s")});
      } else if (kind == "eval") {
        run.evals.push_back({member(rec, "step").get<int64_t>(), number(member(rec, "val_loss"), "val_loss")});
      } else if (kind == "entropy") {
        run.entropy.push_back(parse_entropy(rec));
      }
    } catch (const BadField& e) {
      throw InputError(metrics.string() + ": record " + std::to_string(i + 1) + ": " + e.message);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(metrics.string() + ": record " + std::to_string(i + 1) + ": " + e.what());
    }
  }

  run.status = read_run_status(dir);
  run.steps = last_train_step;
  run.final_val_loss = run.evals.empty() ? kNaN : run.evals.back().val_loss;
  run.final_val_ppl = std::exp(run.final_val_loss);
  const fs::path summary_file = dir / "summary.json";
  if (fs::exists(summary_file)) {
    try {
      const auto summary = nlohmann::json::parse(read_file(summary_file));
      run.has_summary = true;
      if (summary.contains("name") && summary["name"].is_string()) run.name = summary["name"].get<std::string>();
      if (summary.contains("steps")) run.steps = summary["steps"].get<int64_t>();
      if (summary.contains("final_val_loss")) {
        run.final_val_loss = number(summary["final_val_loss"], "final_val_loss");
        run.final_val_ppl = summary.contains("final_val_ppl") ? number(summary["final_val_ppl"], "final_val_ppl")
                                                              : std::exp(run.final_val_loss);
      }
    } catch (const BadField& e) {
      throw InputError(summary_file.string() + ": " + e.message);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(summary_file.string() + ": not a valid summary: " + e.what());
    }
  }
  return run;
}

std::string run_label(const RunLogs& run, size_t index) { return "run " + std::to_string(index + 1) + ": " + run.name; }

const EntropyPoint* select_entropy(const RunLogs& run, std::optional<int64_t> step) {
  if (run.entropy.empty()) return nullptr;
  if (!step) return &run.entropy.back();
  const EntropyPoint* found = nullptr;
  for (const auto& p : run.entropy)
    if (p.step == *step) found = &p;
  if (found) return found;
  std::string steps;
  int64_t previous = -1;
  for (const auto& p : run.entropy) {
    if (p.step == previous) continue;
    steps += (steps.empty() ? "" : ", ") + std::to_string(p.step);
    previous = p.step;
  }
  throw InputError(run.dir.string() + ": no entropy record at step " + std::to_string(*step) +
                   " (--step); entropy records exist at steps " + steps);
}

}  // namespace entropix::report
