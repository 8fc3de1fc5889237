// The work of one forward pass over T = model.context tokens, block by block, summed from the
// registry descriptors' costs along the same structure the model builds (gpt.h):
//   norm_1 -> attention (Q, K, V, O projections, scores, weighted values) -> [norm_2 -> FFN -> scaling]
// describe and the PI cost model read this; nothing here names a component.
#pragma once
#include <cstdint>

#include "entropix/model/registry.h"

namespace entropix {

struct BlockCost {
  ComponentCost attention;     // the Q, K, V, O projections (macs, outputs) and the scores' nonlinear ops
  double attention_products = 0;  // MACs of q.k and the weighted values: 1.5 T^2 d as the papers count them
  double weighted_value_outputs = 0;  // T d: the weighted values, rescaled like any linear output
  ComponentCost ffn;           // the FFN sub-block (its matrices and activation); empty when absent
  ComponentCost rest;          // norms and FFN scaling
};

BlockCost block_cost(const ModelSpec& model, int64_t layer);
// The norm before the LM head.
ComponentCost final_norm_cost(const ModelSpec& model);

}  // namespace entropix
