// Entropy from a model forward's attention, whichever form the attention kernel returned it in
// (probabilities or row entropies, model/gpt.h ForwardResult).
#pragma once
#include <string>
#include <vector>

#include "entropix/entropy/entropy.h"
#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"

namespace entropix {

// The entropy record of a forward's attention.
EntropyRecord measure_attention_entropy(const ForwardResult& out, int64_t step, const std::string& split,
                                        const std::string& bin_max_mode = "observed");
// The regulariser's L_ent on a forward's attention.
torch::Tensor entropy_penalty(const EntropyRegulariserImpl& regulariser, const ForwardResult& out);
// Every learned value an entropy record can carry (EntropyRecord::learned): what the registry's
// descriptors declare, then the regulariser's thresholds; each name once, in that order.
std::vector<LearnedValueInfo> learned_value_catalog();

// A copy of the attention of `out` detached from the graph (probabilities as float32), no logits.
ForwardResult detached_attention(const ForwardResult& out);

}  // namespace entropix
