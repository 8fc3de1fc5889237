// Registry kind "activation": the FFN's pointwise nonlinearity.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

struct GeluOp : UnaryOpImpl {
  torch::Tensor forward(const torch::Tensor& x) override { return torch::gelu(x); }
};
struct ReluOp : UnaryOpImpl {
  torch::Tensor forward(const torch::Tensor& x) override { return torch::relu(x); }
};

}  // namespace

void register_activations(std::vector<RegistryEntry>& out) {
  out.push_back({"activation", "gelu", "GELU (exact erf form), the GPT-2 baseline", "gelu",
                 [](const LayerContext&) -> UnaryOp { return std::make_shared<GeluOp>(); }});
  out.push_back({"activation", "relu", "ReLU: max(0, x); cheaper than GELU in private inference", "relu",
                 [](const LayerContext&) -> UnaryOp { return std::make_shared<ReluOp>(); }});
  out.push_back({"activation", "identity", "no activation: the FFN becomes linear", "",
                 [](const LayerContext&) -> UnaryOp { return nullptr; }});
}

}  // namespace entropix
