// Reading a run's metrics.jsonl and summary.json in tests.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace entropix::test {

// Every record of a JSON-lines file, in order; only those whose "kind" equals `kind` when it is
// not empty. A line that is not JSON throws (nlohmann::json::parse_error).
std::vector<nlohmann::json> read_records(const std::filesystem::path& jsonl, const std::string& kind = "");

// The records of run directory `run` (its metrics.jsonl) of one kind.
inline std::vector<nlohmann::json> run_records(const std::filesystem::path& run, const std::string& kind) {
  return read_records(run / "metrics.jsonl", kind);
}

// The summary.json of run directory `run`.
nlohmann::json summary_of(const std::filesystem::path& run);

}  // namespace entropix::test
