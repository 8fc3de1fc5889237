// Shannon entropy of attention (nats) and the head statistics built on it.
#pragma once
#include <torch/torch.h>

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace entropix {

// probs (B, H, T, T), rows summing to 1 -> (H): for each head the mean over batch and query
// positions of -sum_j p ln p. 0 ln 0 = 0; non-finite row terms are skipped (nansum), as in the
// seed papers' released code. Differentiable; computed in the dtype of `probs`.
torch::Tensor headwise_entropy(const torch::Tensor& probs);

// Non-finite entries of probs (B, H, T, T) divided by H (a per-layer count averaged over heads).
double nonfinite_per_head(const torch::Tensor& probs);

// Entropy of a uniform causal head averaged over queries: (1/T) sum_{i=1..T} ln i.
double uniform_causal_entropy(int64_t T);

struct HeadBins {
  std::array<double, 4> fractions{};  // heads in [0,m/4) [m/4,m/2) [m/2,3m/4) [3m/4,m]
  double max = 0;                     // m
};
// Bins the finite values of a headwise table into quartiles of `max` (values >= max go to the top
// bin). Fractions are of the finite heads.
HeadBins bin_heads(const std::vector<std::vector<double>>& headwise, double max);

struct EntropyRecord {
  int64_t step = 0;
  std::string split = "val";
  double max_entropy = 0;                     // ln T
  std::vector<std::vector<double>> headwise;  // [L][H], NaN where undefined
  std::vector<double> layerwise;              // [L], mean over heads
  std::vector<double> nan_counts;             // [L]
  HeadBins bins;                              // quartiles of the largest observed headwise entropy
  nlohmann::json learned = nlohmann::json::object();  // learned parameters (temperature, slope, ...)
};

// Builds the record from the attention probabilities of every layer (L tensors (B, H, T, T)).
// Headwise values average the query rows whose probabilities are all finite (equal to
// headwise_entropy when nothing is NaN); a head without a finite row is NaN (null in JSON).
EntropyRecord measure_entropy(const std::vector<torch::Tensor>& attn_probs, int64_t step, const std::string& split);

// The "entropy" metrics record (docs/log-schema.json); NaN becomes null.
nlohmann::json to_json(const EntropyRecord& record);

}  // namespace entropix
