// Autoregressive sampling from a trained model (`entropix sample`).
#pragma once
#include <cstdint>
#include <vector>

#include "entropix/model/gpt.h"

namespace entropix {

struct SampleOptions {
  int64_t tokens = 0;        // new tokens to draw (>= 1)
  double temperature = 1.0;  // logits / temperature; 0: greedy (argmax)
  int64_t top_k = 0;         // keep the k most likely tokens; 0: all; 1: greedy
  uint64_t seed = 0;         // the draws are a pure function of (seed, position)
};

// InputError (one line, naming the option) for tokens < 1, temperature < 0 or not finite,
// top_k < 0 or > vocab_size, an empty prompt, or a prompt token outside the vocabulary.
void check_sample_options(const SampleOptions& options, const std::vector<int64_t>& prompt, int64_t vocab_size);

// Extends `prompt` by options.tokens ids and returns the new ones. Each step feeds the last
// model.context ids (the sequence is cropped to the context) and reads the logits of the last
// position: greedy when temperature is 0 or top_k is 1 (ties: the lowest id); otherwise
// softmax(logits / temperature) over the top_k most likely ids (ties broken by the lower id), in
// double precision, and the id where the cumulative probability first exceeds u, a uniform draw
// from splitmix64(seed, step): deterministic for a seed on any machine. Model in eval mode, no grad.
std::vector<int64_t> sample_tokens(GPT& model, const std::vector<int64_t>& prompt, const SampleOptions& options);

}  // namespace entropix
