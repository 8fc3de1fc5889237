// Summary statistics of step times, for `entropix bench`.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

namespace entropix {

struct TimeSummary {
  double median = 0, mean = 0, min = 0, max = 0;
  double p10 = 0, p90 = 0;  // percentiles, linear interpolation between order statistics
};

// Summarises samples (any unit); std::invalid_argument when empty.
TimeSummary summarise(std::vector<double> samples);

// The p-th percentile (0 <= p <= 100) of sorted samples, interpolating linearly between the two
// nearest order statistics (numpy's default): p = 50 is the median.
double percentile_sorted(const std::vector<double>& sorted, double p);

// {median, mean, min, max, p10, p90}
nlohmann::json to_json(const TimeSummary& s);

}  // namespace entropix
