#include "entropix/picost/cost.h"

#include "entropix/describe/describe.h"
#include "entropix/picost/yaml_read.h"
#include "entropix/util/error.h"

namespace entropix {

std::map<std::string, double> priced_quantities(const ModelSpec& model) {
  std::map<std::string, double> q;
  const nlohmann::json inventory = nonlinearity_inventory(model);
  for (const auto& [op, v] : inventory.items())
    q["nonlinear." + op] = static_cast<double>(v["elements"].get<int64_t>());
  const nlohmann::json lin = linear_inventory(model);
  q["linear.mac"] = lin["macs"]["projections"].get<double>() + lin["macs"]["attention_products"].get<double>();
  q["linear.output"] = lin["outputs"].get<double>();
  q["linear.lm_head_mac"] = lin["macs"]["lm_head"].get<double>();
  return q;
}

CostEstimate estimate_cost(const ModelSpec& model, const CostProfile& profile, const std::string& spec_label) {
  CostEstimate e;
  e.nonlinearities = nonlinearity_inventory(model);
  e.linear = linear_inventory(model);
  for (const auto& [key, amount] : priced_quantities(model)) {
    UnitCost unit;
    if (key.rfind("nonlinear.", 0) == 0) {
      const std::string op = key.substr(10);
      auto it = profile.nonlinear.find(op);
      if (it == profile.nonlinear.end()) {
        std::vector<std::string> priced;
        for (const auto& kv : profile.nonlinear) priced.push_back(kv.first);
        throw InputError((profile.nonlinear_at.empty() ? profile.origin : profile.nonlinear_at) +
                         ": nonlinear: no cost for '" + op + "', which " +
                         (spec_label.empty() ? std::string("the model") : spec_label) +
                         " uses; add nonlinear." + op + ": {bytes, seconds} (the profile prices: " +
                         (priced.empty() ? std::string("nothing") : picost_detail::join_names(priced)) + ")");
      }
      unit = it->second;
    } else if (key == "linear.mac") {
      unit = profile.mac;
    } else if (key == "linear.output") {
      unit = profile.output;
    } else {
      unit = profile.lm_head_mac;
    }
    const UnitCost term{amount * unit.bytes, amount * unit.seconds};
    e.terms[key] = term;
    e.total.bytes += term.bytes;
    e.total.seconds += term.seconds;
  }
  return e;
}

nlohmann::json cost_json(const ModelSpec& model, const CostEstimate& e) {
  nlohmann::json breakdown = nlohmann::json::object();
  for (const auto& [key, t] : e.terms) breakdown[key] = {{"comm_gb", t.bytes / 1e9}, {"latency_min", t.seconds / 60}};
  return {{"context", model.context},     {"n_layer", model.n_layer},   {"vocab_size", model.vocab_size},
          {"nonlinearities", e.nonlinearities}, {"linear", e.linear},  {"comm_gb", e.comm_gb()},
          {"latency_min", e.latency_min()}, {"breakdown", breakdown}};
}

nlohmann::json estimate_cost_json(const ModelSpec& model, const CostProfile& profile) {
  return cost_json(model, estimate_cost(model, profile));
}

}  // namespace entropix
