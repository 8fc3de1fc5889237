// Registry kind "attention": maps masked, scaled attention logits (B, H, T, T) to probabilities.
#include <torch/torch.h>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

struct SoftmaxScores : UnaryOpImpl {
  torch::Tensor forward(const torch::Tensor& logits) override { return torch::softmax(logits, -1); }
};

}  // namespace

void register_attention_scores(std::vector<RegistryEntry>& out) {
  out.push_back({"attention", "softmax", "softmax over causally masked q.k / sqrt(head_dim)", "softmax",
                 [](const LayerContext&) -> UnaryOp { return std::make_shared<SoftmaxScores>(); }});
}

}  // namespace entropix
