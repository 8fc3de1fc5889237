// `entropix describe`: what a spec builds, layer by layer, and its nonlinearity inventory.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "entropix/spec/spec.h"

namespace entropix {

// {name, context, layers: [{layer, norm_1, attention, norm_2, ffn, activation, params}],
//  params: {total, non_embedding, embedding}, nonlinearities: {op: {count, elements, shape}}}
// Parameter counts come from building the model; the inventory counts the nonlinear operations
// of one forward pass over `model.context` tokens.
nlohmann::json describe_model(const ModelSpec& model);

// {op: {count, elements, shape}} for one forward pass over T = model.context tokens.
nlohmann::json nonlinearity_inventory(const ModelSpec& model);

// Human-readable rendering of describe_model's result.
std::string describe_text(const nlohmann::json& description);

}  // namespace entropix
