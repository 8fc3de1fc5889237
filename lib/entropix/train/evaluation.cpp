#include "entropix/train/evaluation.h"

#include "entropix/entropy/attention_entropy.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace entropix {
namespace {

void require_batches(int64_t n_batches) {
  if (n_batches < 1) throw std::invalid_argument("evaluation needs at least one batch, got " + std::to_string(n_batches));
}

// Mean of the finite values; NaN when there is none (as measure_entropy does for a layer).
double finite_mean(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++n;
  return n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

// Averages the per-batch records head by head into `out` (which holds the first batch's record).
void average_records(const std::vector<EntropyRecord>& records, EntropyRecord& out) {
  const size_t n_layers = out.headwise.size();
  for (size_t l = 0; l < n_layers; ++l) {
    for (size_t h = 0; h < out.headwise[l].size(); ++h) {
      std::vector<double> samples;
      for (const auto& r : records) samples.push_back(r.headwise[l][h]);
      out.headwise[l][h] = finite_mean(samples);
    }
    int64_t nan_sum = 0;  // a count: summed over the batches, not averaged
    for (const auto& r : records) nan_sum += r.nan_counts[l];
    out.nan_counts[l] = nan_sum;
    out.layerwise[l] = finite_mean(out.headwise[l]);
  }
}

// Validation batch k of the sampler, on the device.
Batch val_batch(const BatchSampler& sampler, int64_t k, torch::Device device) {
  auto [x, y] = sampler.batch(static_cast<uint64_t>(k));  // (B, T) each
  return {x.to(device), y.to(device)};
}

}  // namespace

double evaluate_loss(GPT& model, const BatchSampler& sampler, int64_t n_batches, torch::Device device) {
  require_batches(n_batches);
  EvalScope scope(model);
  double sum = 0;
  for (int64_t k = 0; k < n_batches; ++k)
    sum += forward_loss(model, val_batch(sampler, k, device), /*keep_attention=*/false).loss.item<double>();
  return sum / static_cast<double>(n_batches);
}

EntropyRecord evaluate_entropy(GPT& model, const BatchSampler& sampler, int64_t n_batches, torch::Device device,
                               int64_t step, const std::string& bin_max_mode) {
  require_batches(n_batches);
  std::vector<EntropyRecord> records;
  for (int64_t k = 0; k < n_batches; ++k)
    records.push_back(batch_entropy(model, val_batch(sampler, k, device), step, "val", bin_max_mode));
  EntropyRecord rec = records.front();
  average_records(records, rec);
  rebin(rec, sampler.context());
  rec.learned = model->learned_parameters();
  return rec;
}

}  // namespace entropix
