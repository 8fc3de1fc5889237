// `entropix describe`: what a spec builds, layer by layer, its nonlinearity inventory and FLOPs.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "entropix/spec/spec.h"

namespace entropix {

// {n_layer, ..., layers: [{layer, norm_1, attention, norm_2, ffn, activation, ffn_reparam,
//  attn_reparam, ffn_scaling, params}], params: {total, non_embedding, embedding},
//  nonlinearities: {op: {count, elements, shape}}, flops: {attention, ffn, total}}
// Parameter counts come from building the model.
nlohmann::json describe_model(const ModelSpec& model);

// {op: {count, elements, shape, final}} for one forward pass over T = model.context tokens:
// one softmax of T x T per head, one norm of T x d per norm application, one activation of
// T x hidden per FFN with an activation, plus the final norm (`final` counts it separately).
nlohmann::json nonlinearity_inventory(const ModelSpec& model);

// Forward FLOPs over T tokens as the seed papers count them (FLOPs = 2 x multiply-accumulates):
// attention per layer 8 T d^2 (Q, K, V, O projections) + 3 T^2 d (scores and weighted values);
// FFN per layer 4 m T d^2 for an mlp of width m d (16 T d^2 at m = 4), 2 T d^2 fused, 0 none.
// The embedding and LM head are not included, as in the papers.
nlohmann::json forward_flops(const ModelSpec& model);

// Linear work of the same forward pass, for cost models:
//   {macs: {projections, attention_products, lm_head}, outputs}
// projections (Q, K, V, O and the FFN matrices) and attention_products (scores and weighted
// values, 1.5 T^2 d per layer as the papers count them) are forward_flops' terms / 2, so
// 2 x (projections + attention_products) = forward_flops total. lm_head = T d V: the logits at every
// position, as a plain forward computes them. outputs: elements written by the blocks' linear maps,
// each one a fixed-point value to rescale in a PI protocol: Q, K, V, O and the weighted values
// (5 T d per layer), the FFN's hidden and output (m T d + T d; fused T d), and the two scalar
// products of FFN scaling (2 T d). The T x T scores are left out: each feeds one softmax element.
nlohmann::json linear_inventory(const ModelSpec& model);

// Human-readable rendering of describe_model's result.
std::string describe_text(const nlohmann::json& description);

}  // namespace entropix
