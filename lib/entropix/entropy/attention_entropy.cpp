#include "entropix/entropy/attention_entropy.h"

namespace entropix {

EntropyRecord measure_attention_entropy(const ForwardResult& out, int64_t step, const std::string& split,
                                        const std::string& bin_max_mode) {
  return out.attn_entropy.empty() ? measure_entropy(out.attn_probs, step, split, bin_max_mode)
                                  : measure_row_entropy(out.attn_entropy, step, split, bin_max_mode);
}

torch::Tensor entropy_penalty(const EntropyRegulariserImpl& regulariser, const ForwardResult& out) {
  return out.attn_entropy.empty() ? regulariser.forward(out.attn_probs) : regulariser.forward_rows(out.attn_entropy);
}

std::vector<LearnedValueInfo> learned_value_catalog() {
  std::vector<LearnedValueInfo> out;
  auto add = [&](const LearnedValueInfo& v) {
    for (const auto& o : out)
      if (o.name == v.name) return;
    out.push_back(v);
  };
  for (const auto& d : registry_entries())
    for (const auto& v : d.learned) add(v);
  add(regulariser_learned_value());
  return out;
}

ForwardResult detached_attention(const ForwardResult& out) {
  ForwardResult copy;
  for (const auto& p : out.attn_probs) copy.attn_probs.push_back(p.detach().to(torch::kFloat));
  for (const auto& e : out.attn_entropy) copy.attn_entropy.push_back(e.detach());
  return copy;
}

}  // namespace entropix
