#include "entropix/bench/step_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace entropix {

double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) throw std::invalid_argument("percentile of no samples");
  const double pos = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

TimeSummary summarise(std::vector<double> samples) {
  if (samples.empty()) throw std::invalid_argument("summarise: no samples");
  std::sort(samples.begin(), samples.end());
  TimeSummary s;
  s.min = samples.front();
  s.max = samples.back();
  s.median = percentile_sorted(samples, 50);
  s.p10 = percentile_sorted(samples, 10);
  s.p90 = percentile_sorted(samples, 90);
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  return s;
}

nlohmann::json to_json(const TimeSummary& s) {
  return {{"median", s.median}, {"mean", s.mean}, {"min", s.min}, {"max", s.max}, {"p10", s.p10}, {"p90", s.p90}};
}

}  // namespace entropix
