#include "entropix/describe/memory_estimate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "entropix/model/model_cost.h"
#include "entropix/util/error.h"
#include "entropix/util/torch_compat.h"

namespace entropix {
namespace {

// A number from a one-value file (cgroup), or nullopt ("max", missing).
std::optional<double> read_number(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(word.c_str(), &end);
  if (end == word.c_str()) return std::nullopt;
  return v;
}

std::optional<double> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return std::nullopt;
}

}  // namespace

MemoryEstimate estimate_training_memory(const ExperimentSpec& spec) {
  const ModelSpec& m = spec.model;
  const double T = static_cast<double>(m.context), d = static_cast<double>(m.n_embd);
  const double V = static_cast<double>(m.vocab_size), H = static_cast<double>(m.n_head);
  const double mult = static_cast<double>(m.ffn_mult);
  MemoryEstimate e;
  double block_weights = 0, per_token_layers = 0;
  for (int64_t l = 0; l < m.n_layer; ++l) {
    const BlockCost c = block_cost(m, l);
    block_weights += (c.attention.macs + c.ffn.macs) / T;  // a linear map does one MAC per weight per token
    const bool has_ffn = c.ffn.macs > 0;
    per_token_layers += 6 * d + (has_ffn ? 2 * mult * d : 0) + H * T;
  }
  e.params = block_weights + V * d + T * d;
  e.parameter_bytes = 4 * e.params;
  e.gradient_bytes = 4 * e.params;
  e.optimizer_bytes = 8 * e.params;
  const double bytes_per_activation = spec.train.precision == "bf16" ? 2 : 4;
  e.activation_bytes = static_cast<double>(spec.train.batch_size) * T * (per_token_layers + 2 * V) * bytes_per_activation;
  return e;
}

std::optional<MemoryBudget> device_memory(const std::string& device) {
  const bool cuda = device == "cuda" || (device == "auto" && compat::cuda_available());
  if (cuda) {
    const std::optional<int64_t> free = compat::cuda_free_memory(0);
    if (!free) return std::nullopt;
    return MemoryBudget{static_cast<double>(*free), "free memory of CUDA device 0"};
  }
  std::optional<MemoryBudget> budget;
  if (auto avail = mem_available()) budget = MemoryBudget{*avail, "available RAM (MemAvailable in /proc/meminfo)"};
  const auto max = read_number("/sys/fs/cgroup/memory.max");
  const auto current = read_number("/sys/fs/cgroup/memory.current");
  if (max && current && (!budget || *max - *current < budget->bytes))
    budget = MemoryBudget{std::max(0.0, *max - *current), "the cgroup's memory.max - memory.current"};
  return budget;
}

double parse_memory_size(const std::string& text, const std::string& option) {
  const std::string bad = option + ": expected a size such as 8G, 512M or 1073741824 (bytes; K, M, G, T are powers of 1024), got '" + text + "'";
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(v) || v <= 0) throw InputError(bad);
  std::string suffix(end);
  double scale = 1;
  if (!suffix.empty()) {
    const std::string units = "KMGT";
    const auto pos = units.find(static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0]))));
    if (pos != std::string::npos) {
      scale = std::pow(1024.0, static_cast<double>(pos + 1));
      suffix = suffix.substr(1);
    }
    if (!suffix.empty() && suffix != "B" && suffix != "iB") throw InputError(bad);
  }
  return v * scale;
}

std::string format_bytes(double bytes) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1);
  if (bytes >= 1024.0 * 1024 * 1024 * 1024) s << bytes / (1024.0 * 1024 * 1024 * 1024) << " TiB";
  else if (bytes >= 1024.0 * 1024 * 1024) s << bytes / (1024.0 * 1024 * 1024) << " GiB";
  else s << bytes / (1024.0 * 1024) << " MiB";
  return s.str();
}

std::string memory_problem(const std::string& origin, const MemoryEstimate& e, const MemoryBudget& budget,
                           int64_t processes) {
  const double needed = e.total() * static_cast<double>(processes);
  if (needed <= budget.bytes) return "";
  std::ostringstream s;
  s << origin << ": training needs at least " << format_bytes(needed) << " ("
    << (processes > 1 ? std::to_string(processes) + " processes x " : std::string()) << "parameters, gradients and AdamW "
    << format_bytes(e.parameter_bytes + e.gradient_bytes + e.optimizer_bytes) << " for " << std::fixed
    << std::setprecision(1) << e.params / 1e6 << "M parameters; activations " << format_bytes(e.activation_bytes)
    << " for one micro-batch), more than " << budget.what << ", " << format_bytes(budget.bytes)
    << "; lower train.batch_size (raise train.grad_accum) or the model's sizes";
  return s.str();
}

}  // namespace entropix
