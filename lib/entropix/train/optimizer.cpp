#include "entropix/train/optimizer.h"

namespace entropix {

bool decays(ParamRole role, const std::string& decay_groups) {
  const bool released = decay_groups == "released";
  switch (role) {
    case ParamRole::Matrix:
    case ParamRole::Embedding:
    case ParamRole::ReparamDirection: return true;
    case ParamRole::Scalar:
    case ParamRole::ReparamMagnitude: return released;
    case ParamRole::Bias:
    case ParamRole::Gain:
    case ParamRole::Temperature:
    case ParamRole::Threshold: return false;
  }
  return false;
}

torch::optim::AdamW make_optimizer(GPT& model, const TrainSpec& t) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& r : parameter_roles(*model)) (decays(r.role, t.decay_groups) ? decay : no_decay).push_back(r.tensor);
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(t.lr).betas({t.beta1, t.beta2}).eps(t.eps).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(t.weight_decay));
  if (!no_decay.empty()) groups.emplace_back(no_decay, options(0.0));
  return torch::optim::AdamW(groups, torch::optim::AdamWOptions(t.lr));
}

void set_learning_rate(torch::optim::AdamW& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

}  // namespace entropix
