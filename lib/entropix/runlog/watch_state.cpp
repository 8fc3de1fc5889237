#include "entropix/runlog/watch_state.h"

#include <yaml-cpp/yaml.h>

#include <cmath>

namespace entropix::runlog {

void WatchState::add(const nlohmann::json& r) {
  ++records;
  if (status == "waiting") status = "running";
  const std::string kind = r.value("kind", std::string());
  if (kind == "train") {
    last_train = r;
    losses.push_back(r.contains("loss") && r["loss"].is_number() ? r["loss"].get<double>() : std::nan(""));
  } else if (kind == "eval") {
    last_eval = r;
  } else if (kind == "entropy") {
    last_entropy = r;
  } else if (kind == "event") {
    last_event = r;
  }
}

void WatchState::reset() {
  losses.clear();
  last_train = last_eval = last_entropy = last_event = nullptr;
  records = 0;
  status = "waiting";
}

std::optional<int64_t> spec_total_steps(const std::filesystem::path& run_dir) {
  try {
    const YAML::Node spec = YAML::LoadFile((run_dir / "spec.yaml").string());
    if (spec["train"] && spec["train"]["steps"]) return spec["train"]["steps"].as<int64_t>();
  } catch (const std::exception&) {
    // not there yet, or not a spec: no total, no ETA
  }
  return std::nullopt;
}

}  // namespace entropix::runlog
