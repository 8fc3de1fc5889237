// Private-inference cost of one forward pass over T input tokens for one output token: the model's
// nonlinear operations (nonlinearity_inventory) and linear work (linear_inventory, both in
// describe.h) priced with a CostProfile. The model is documented in docs/cost.md.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "entropix/picost/profile.h"
#include "entropix/spec/spec.h"

namespace entropix {

// The quantities a profile prices, keyed as in the profile: "nonlinear.<op>" (elements),
// "linear.mac", "linear.output", "linear.lm_head_mac". Calibration fits against the same numbers.
std::map<std::string, double> priced_quantities(const ModelSpec& model);

struct CostEstimate {
  nlohmann::json nonlinearities;          // nonlinearity_inventory(model)
  nlohmann::json linear;                  // linear_inventory(model)
  std::map<std::string, UnitCost> terms;  // priced quantity key -> its total cost
  UnitCost total;
  double comm_gb() const { return total.bytes / 1e9; }
  double latency_min() const { return total.seconds / 60; }
};

// Throws InputError when the profile has no cost for an op kind the model uses, naming the
// profile's nonlinear map (file:line:column), the op and the kinds it does price. `spec_label`
// names the spec in that message.
CostEstimate estimate_cost(const ModelSpec& model, const CostProfile& profile, const std::string& spec_label = "");

// {context, n_layer, vocab_size, nonlinearities, linear, comm_gb, latency_min,
//  breakdown: {<priced quantity key>: {comm_gb, latency_min}}}: one model, for the sweep summary
// and reports (field meanings in docs/cost.md).
nlohmann::json cost_json(const ModelSpec& model, const CostEstimate& estimate);
nlohmann::json estimate_cost_json(const ModelSpec& model, const CostProfile& profile);

}  // namespace entropix
