#include "entropix/runlog/tensorboard_export.h"

#include <cmath>
#include <limits>

#include "entropix/runlog/tfevents.h"

namespace entropix::runlog {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double number(const json& v) { return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN(); }

void add_fields(const json& r, const std::string& prefix, const std::vector<std::string>& fields,
                std::vector<std::pair<std::string, double>>& out) {
  for (const auto& f : fields)
    if (r.contains(f)) out.emplace_back(prefix + f, number(r[f]));
}

}  // namespace

std::vector<std::pair<std::string, double>> record_scalars(const json& r) {
  std::vector<std::pair<std::string, double>> out;
  const std::string kind = r.value("kind", std::string());
  if (kind == "train") {
    add_fields(r, "train/", {"loss", "lr", "grad_norm", "tokens_per_s", "ms_per_step", "tokens", "ereg_loss"}, out);
  } else if (kind == "eval") {
    add_fields(r, "eval/", {"val_loss", "val_ppl"}, out);
  } else if (kind == "entropy") {
    const std::string p = "entropy/" + r.value("split", std::string("val")) + "/";
    const json& layerwise = r.value("layerwise", json::array());
    const json& headwise = r.value("headwise", json::array());
    const json& nan_counts = r.value("nan_counts", json::array());
    for (size_t l = 0; l < layerwise.size(); ++l) out.emplace_back(p + "layer" + std::to_string(l), number(layerwise[l]));
    for (size_t l = 0; l < headwise.size(); ++l)
      for (size_t h = 0; h < headwise[l].size(); ++h)
        out.emplace_back(p + "layer" + std::to_string(l) + "/head" + std::to_string(h), number(headwise[l][h]));
    for (size_t l = 0; l < nan_counts.size(); ++l)
      out.emplace_back(p + "nan_count/layer" + std::to_string(l), number(nan_counts[l]));
    add_fields(r, p, {"overload_fraction", "collapse_fraction"}, out);
  }
  return out;
}

fs::path write_tensorboard_events(const std::vector<json>& records, const fs::path& dir, double start_time) {
  const fs::path file = dir / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(start_time)) + ".entropix");
  EventFileWriter writer(file, start_time);
  double elapsed = 0;
  for (const auto& r : records) {
    if (r.contains("elapsed_s") && r["elapsed_s"].is_number()) elapsed = r["elapsed_s"].get<double>();
    const auto scalars = record_scalars(r);
    if (scalars.empty() || !r.contains("step") || !r["step"].is_number_integer()) continue;
    std::vector<std::pair<std::string, float>> values;
    for (const auto& [tag, v] : scalars) values.emplace_back(tag, static_cast<float>(v));  // simple_value is a float
    writer.write_record(event_scalars(start_time + elapsed, r["step"].get<int64_t>(), values));
  }
  writer.close();
  return file;
}

}  // namespace entropix::runlog
