// Shannon entropy of attention (nats) and the head statistics built on it.
#pragma once
#include <torch/torch.h>

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "entropix/util/record_field.h"

namespace entropix {

// probs (B, H, T, T), rows summing to 1 -> (B, H, T): -sum_j p ln p of every query row, with
// 0 ln 0 = 0 and non-finite terms skipped (nansum), as in the seed papers' released code.
// Differentiable with finite gradients also where p = 0 (masked keys), where d(-p ln p)/dp is
// infinite: the log's argument is clamped to 1e-30, which changes no value above that.
torch::Tensor row_entropy(const torch::Tensor& probs);

// Row sums of entr(p) = -p ln p in double, (..., T) -> (...), for records (no gradient): 0 at
// p = 0, -inf for p < 0, NaN for NaN. One pass over float32 CPU probabilities; a causal row of a
// square tensor (zeros after its own position) is summed over its keys only.
torch::Tensor row_entropy_sums(const torch::Tensor& probs);

// probs (B, H, T, T) -> (H): row_entropy averaged over batch and query positions.
torch::Tensor headwise_entropy(const torch::Tensor& probs);

// Non-finite entries of probs (B, H, T, T), over all its heads: a layer's nan_counts entry.
int64_t nonfinite_entries(const torch::Tensor& probs);

// Entropy of a uniform causal head averaged over queries: (1/T) sum_{i=1..T} ln i.
double uniform_causal_entropy(int64_t T);
// The same from ln T (a record's max_entropy): the reachable ceiling quoted next to ln T.
double causal_ceiling_of(double ln_t);

struct HeadBins {
  std::array<double, 4> fractions{};  // heads in [0,m/4) [m/4,m/2) [m/2,3m/4) [3m/4,m]
  double max = 0;                     // m
  std::vector<double> layer_overload, layer_collapse;  // [L]: top and bottom bin shares per layer
};
// Bins the finite values of a headwise table into quartiles of `max` (values >= max go to the top
// bin). Fractions are of the finite heads.
HeadBins bin_heads(const std::vector<std::vector<double>>& headwise, double max);

struct EntropyRecord {
  int64_t step = 0;
  std::string split = "val";
  std::string bin_max_mode = "observed";      // observed | causal
  double max_entropy = 0;                     // ln T
  std::vector<std::vector<double>> headwise;  // [L][H], NaN where undefined
  std::vector<double> layerwise;              // [L], mean over heads
  std::vector<int64_t> nan_counts;            // [L], non-finite entries (counts, summed over heads)
  HeadBins bins;                              // quartiles of the largest observed headwise entropy
  nlohmann::json learned = nlohmann::json::object();  // learned parameters (temperature, slope, ...)
  // The fields of the "entropy" record: the learned parameters are optional, one per kind of
  // learned value a model can report (GPT::learned_parameters).
  static const std::vector<RecordField>& fields();
};

// Builds the record from the attention probabilities of every layer (L tensors (B, H, T, T)).
// Headwise values average the query rows whose probabilities are all finite (equal to
// headwise_entropy when nothing is NaN); a head without a finite row is NaN (null in JSON).
// Bins use the largest headwise entropy ("observed") or uniform_causal_entropy(T) ("causal").
EntropyRecord measure_entropy(const std::vector<torch::Tensor>& attn_probs, int64_t step, const std::string& split,
                              const std::string& bin_max_mode = "observed");

// The same record from every layer's row entropies (L tensors (B, H, T), nats), as the
// online-entropy attention kernel and the record beside the fused kernel return them instead of
// probabilities. Headwise values average the finite rows. nan_counts counts T probabilities for
// each row whose entropy is not finite, over all heads: those rows are softmax rows with a
// non-finite logit, and softmax makes all T of their probabilities NaN, so the count equals what
// measure_entropy counts on the probabilities.
EntropyRecord measure_row_entropy(const std::vector<torch::Tensor>& row_entropy, int64_t step, const std::string& split,
                                  const std::string& bin_max_mode = "observed");

// Recomputes the bins of a record (after its headwise table changed, e.g. averaged over batches).
void rebin(EntropyRecord& record, int64_t T);

// The "entropy" metrics record (docs/log-schema.json); NaN becomes null.
nlohmann::json to_json(const EntropyRecord& record);

}  // namespace entropix
