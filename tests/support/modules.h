// Reaching into a built model's parameters by name.
#pragma once
#include <stdexcept>
#include <string>

#include <torch/torch.h>

namespace entropix::test {

// The parameter `name` (as named_parameters() spells it) of `m`; throws when there is none.
inline torch::Tensor param(const torch::nn::Module& m, const std::string& name) {
  auto params = m.named_parameters();
  const torch::Tensor* p = params.find(name);
  if (!p) throw std::runtime_error("no parameter named " + name);
  return *p;
}

}  // namespace entropix::test
