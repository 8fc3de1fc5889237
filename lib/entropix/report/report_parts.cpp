#include "entropix/report/report_parts.h"

#include <algorithm>
#include <cmath>

namespace entropix::report {

std::string run_label(const Report& r, size_t i) { return run_label(r.runs[i], i); }

std::string step_text(const EntropyPoint& e) {
  return "step " + std::to_string(e.step) + (e.split.empty() ? "" : " (" + e.split + " batch)");
}

std::vector<std::string> labels(const std::string& prefix, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

double max_finite(const std::vector<std::vector<double>>& m) {
  double out = -INFINITY;
  for (const auto& row : m)
    for (double v : row)
      if (std::isfinite(v)) out = std::max(out, v);
  return out;
}

double min_finite(const std::vector<std::vector<double>>& m) {
  double out = INFINITY;
  for (const auto& row : m)
    for (double v : row)
      if (std::isfinite(v)) out = std::min(out, v);
  return out;
}

}  // namespace entropix::report
