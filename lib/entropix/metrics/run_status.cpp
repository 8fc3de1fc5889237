#include "entropix/metrics/run_status.h"

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "entropix/util/fs.h"

namespace entropix {
namespace {

constexpr std::array<std::pair<RunStatus, const char*>, 5> kNames = {{
    {RunStatus::completed, "completed"},
    {RunStatus::diverged, "diverged"},
    {RunStatus::interrupted, "interrupted"},
    {RunStatus::failed, "failed"},
    {RunStatus::unfinished, "unfinished"},
}};

}  // namespace

std::string to_string(RunStatus status) {
  for (const auto& [value, name] : kNames)
    if (value == status) return name;
  return "unfinished";  // unreachable: every enumerator is listed
}

std::optional<RunStatus> parse_run_status(const std::string& text) {
  for (const auto& [value, name] : kNames)
    if (text == name) return value;
  return std::nullopt;
}

RunStatus read_run_status(const std::filesystem::path& run_dir) {
  std::error_code ec;
  const auto file = run_dir / "summary.json";
  if (!std::filesystem::exists(file, ec)) return RunStatus::unfinished;
  try {
    const auto summary = nlohmann::json::parse(read_file(file));
    const auto it = summary.find("status");
    if (it == summary.end() || !it->is_string()) return RunStatus::unfinished;
    // A run never writes "unfinished"; a summary claiming it is no summary of a finished run either.
    return parse_run_status(it->get<std::string>()).value_or(RunStatus::unfinished);
  } catch (...) {
    return RunStatus::unfinished;
  }
}

}  // namespace entropix
