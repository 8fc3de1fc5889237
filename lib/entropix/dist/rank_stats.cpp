#include "entropix/dist/rank_stats.h"

#include <cmath>
#include <limits>

namespace entropix::dist {

void merge_entropy_over_ranks(EntropyRecord& rec, Communicator& comm, int64_t T) {
  if (comm.world_size() == 1) return;
  // One all-reduce: per head (sum of finite values, number of ranks with a finite value), then
  // nan_counts per layer.
  std::vector<double> packed;
  for (const auto& layer : rec.headwise)
    for (double e : layer) {
      const bool finite = std::isfinite(e);
      packed.push_back(finite ? e : 0.0);
      packed.push_back(finite ? 1.0 : 0.0);
    }
  for (int64_t n : rec.nan_counts) packed.push_back(static_cast<double>(n));  // exact below 2^53
  const std::vector<double> total = comm.sum(packed);
  size_t i = 0;
  for (size_t l = 0; l < rec.headwise.size(); ++l) {
    double layer_sum = 0;
    int64_t layer_n = 0;
    for (double& e : rec.headwise[l]) {
      const double sum = total[i++], ranks = total[i++];
      e = ranks > 0 ? sum / ranks : std::numeric_limits<double>::quiet_NaN();
      if (std::isfinite(e)) layer_sum += e, ++layer_n;
    }
    rec.layerwise[l] = layer_n ? layer_sum / static_cast<double>(layer_n) : std::numeric_limits<double>::quiet_NaN();
  }
  for (int64_t& n : rec.nan_counts) n = std::llround(total[i++]);
  rebin(rec, T);
}

}  // namespace entropix::dist
