// Registry kind "activation": squared ReLU, relu(x)^2 (So et al., "Primer", 2021), an FFN
// activation from the efficient-transformer literature. In private inference it costs one ReLU
// (a comparison) plus one multiplication per element, far less than GELU.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

struct SquaredReluOp : UnaryOpImpl {
  torch::Tensor forward(const torch::Tensor& x) override {
    auto r = torch::relu(x);  // same shape as x
    return r * r;
  }
};

}  // namespace

void register_squared_relu(std::vector<ComponentDescriptor>& out) {
  ComponentDescriptor d;
  d.info.kind = "activation";
  d.info.name = "squared_relu";
  d.info.doc = "squared ReLU: relu(x)^2 (Primer); one comparison and one product per element";
  d.make = [](const LayerContext&) -> std::shared_ptr<ComponentModule> { return std::make_shared<SquaredReluOp>(); };
  // Priced as a ReLU: the squaring is one multiplication of a secret value by itself.
  d.cost = [](const LayerContext& ctx) {
    ComponentCost c;
    c.nonlinear.push_back({"relu", 1, {ctx.model.context, ctx.dim}});
    return c;
  };
  out.push_back(d);
}

}  // namespace entropix
