// What `entropix watch` shows, gathered from a run's records as they arrive.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace entropix::runlog {

struct WatchState {
  std::string run_dir;
  std::optional<int64_t> total_steps;  // train.steps of the resolved spec.yaml
  std::vector<double> losses;          // train loss per train record, in order
  nlohmann::json last_train;           // null until one arrives
  nlohmann::json last_eval;
  nlohmann::json last_entropy;
  nlohmann::json last_event;
  size_t records = 0;
  std::string status = "waiting";  // waiting (no record yet) | running | completed | diverged | ...

  void add(const nlohmann::json& record);
  void reset();  // metrics.jsonl was rewritten (a resume cut it back): start over
};

// train.steps of `run_dir`/spec.yaml (the resolved spec), nullopt when unreadable.
std::optional<int64_t> spec_total_steps(const std::filesystem::path& run_dir);

}  // namespace entropix::runlog
