// The standard perplexity of a split: every non-overlapping T-token window, in order
// (data/windows.h), each token's next-token loss summed in double precision. Deterministic and
// independent of the seed and the batch size, unlike the sampled estimate (evaluation.h), so it
// can be compared with other tools that evaluate the same windows.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "entropix/data/token_file.h"
#include "entropix/model/gpt.h"

namespace entropix {

struct FullPerplexity {
  int64_t windows = 0;   // floor((n_tokens - 1) / T)
  int64_t tokens = 0;    // predicted tokens: windows * T
  double loss = 0;       // mean next-token loss over them (nats)
  double ppl = 0;        // exp(loss)
};

// Evaluates `batch_size` windows per forward; InputError naming data.path when the split has no
// whole window. Model in eval mode, no grad; its previous mode restored.
FullPerplexity full_perplexity(GPT& model, const TokenData& data, int64_t batch_size, torch::Device device);

}  // namespace entropix
