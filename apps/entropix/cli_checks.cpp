#include "cli_checks.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>

#include "entropix/describe/memory_estimate.h"
#include "entropix/util/error.h"

namespace entropix::cli {
namespace fs = std::filesystem;

namespace {

// The integer in `text`, or nullopt when it is not one (CLI11 converts after validating).
std::optional<long long> integer(const std::string& text) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

CLI::Validator integer_between(int64_t lo, int64_t hi) {
  const std::string range = hi == INT64_MAX ? "an integer >= " + std::to_string(lo)
                                            : "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        const auto v = integer(text);
        if (v && *v >= lo && *v <= hi) return "";
        return "must be " + range + ", got '" + text + "'";
      },
      hi == INT64_MAX ? "INT>=" + std::to_string(lo) : "INT in " + std::to_string(lo) + ".." + std::to_string(hi));
}

CLI::Validator integer_at_least(int64_t lo) { return integer_between(lo, INT64_MAX); }

CLI::Validator number_strictly_between(double lo, double hi) {
  std::ostringstream r;
  r << lo << " < F < " << hi;
  const std::string range = r.str();
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        try {
          size_t used = 0;
          const double v = std::stod(text, &used);
          if (used == text.size() && v > lo && v < hi) return "";
        } catch (const std::exception&) {
        }
        return "must be a number with " + range + ", got '" + text + "'";
      },
      range);
}

void add_max_memory_option(CLI::App* cmd, std::string& target) {
  cmd->add_option("--max-memory", target,
                  "refuse (exit 2) when the estimated training memory exceeds SIZE (8G, 512M; K, M, G, T = powers of "
                  "1024) instead of checking against the device (docs/reliability.md)");
}

void check_training_memory(const ExperimentSpec& spec, const std::string& device, const std::string& max_memory,
                           int64_t processes, bool warn_only) {
  const MemoryEstimate needed = estimate_training_memory(spec);
  const std::string origin = spec.source_file.empty() ? spec.name : spec.source_file;
  if (!max_memory.empty()) {
    const MemoryBudget cap{parse_memory_size(max_memory, "--max-memory"), "--max-memory " + max_memory};
    const std::string problem = memory_problem(origin, needed, cap, processes);
    if (!problem.empty()) throw InputError(problem);
    return;
  }
  const auto budget = device_memory(device.empty() ? spec.train.device : device);
  if (!budget) return;  // cannot tell: training finds out
  const std::string problem = memory_problem(origin, needed, *budget, processes);
  if (problem.empty()) return;
  if (!warn_only) throw InputError(problem);
  std::cerr << "warning: " << problem << " (on this machine)\n";
}

void check_output_directory(const fs::path& dir, const std::string& option) {
  std::error_code ec;
  fs::path probe = dir.empty() ? fs::path(".") : dir;
  const auto st = fs::status(probe, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) throw InputError(dir.string() + ": exists and is not a directory; choose another " + option);
  } else {
    // The nearest ancestor that exists must be a directory we can create entries in.
    probe = fs::absolute(probe, ec).parent_path();
    while (!probe.empty() && !fs::exists(probe, ec) && probe != probe.root_path()) probe = probe.parent_path();
    if (fs::exists(probe, ec) && !fs::is_directory(probe, ec))
      throw InputError(dir.string() + ": " + probe.string() + " is not a directory; choose another " + option);
  }
  if (::access(probe.c_str(), W_OK | X_OK) != 0)
    throw InputError(dir.string() + ": cannot write in " + probe.string() + " (" + std::strerror(errno) +
                     "); choose another " + option);
}

void check_model_builds_on_cpu(const ExperimentSpec& spec) {
  const MemoryEstimate e = estimate_training_memory(spec);
  const auto budget = device_memory("cpu");
  if (!budget || e.parameter_bytes <= budget->bytes) return;
  const std::string origin = spec.source_file.empty() ? spec.name : spec.source_file;
  throw InputError(origin + ": the model's " + std::to_string(static_cast<int64_t>(e.params / 1e6)) + "M parameters need " +
                   format_bytes(e.parameter_bytes) + " to build (describe builds it on the CPU to count them), more than " +
                   budget->what + ", " + format_bytes(budget->bytes));
}

void check_prepare_source(const fs::path& source) {
  std::error_code ec;
  const auto st = fs::status(source, ec);
  const std::string tail = "; prepare sources must be text files or folders";
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
    throw InputError(source.string() + ": cannot read (" + ec.message() + ")" + tail);
  switch (st.type()) {
    case fs::file_type::regular:
    case fs::file_type::directory: return;
    case fs::file_type::not_found: throw InputError(source.string() + ": no such file or folder" + tail);
    case fs::file_type::character: throw InputError(source.string() + ": is a character device" + tail);
    case fs::file_type::block: throw InputError(source.string() + ": is a block device" + tail);
    case fs::file_type::fifo: throw InputError(source.string() + ": is a FIFO (named pipe)" + tail);
    case fs::file_type::socket: throw InputError(source.string() + ": is a socket" + tail);
    default: throw InputError(source.string() + ": is not a regular file or folder" + tail);
  }
}

}  // namespace entropix::cli
