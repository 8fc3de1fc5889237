#include "entropix/model/model_cost.h"

#include <algorithm>

namespace entropix {

BlockCost block_cost(const ModelSpec& model, int64_t l) {
  const LayerSpec ls = model.layer(l);
  const LayerContext ctx{model, ls, l, model.n_embd};
  const double T = static_cast<double>(model.context), d = static_cast<double>(model.n_embd);
  BlockCost c;
  c.rest += component_cost("norm", ls.norm, ctx);
  const auto& groups = model.attn_reparam_groups;
  for (const char* group : {"qk", "qk", "v", "o"}) {  // Q and K share the qk group
    LayerContext lin = ctx;
    lin.in_features = lin.out_features = model.n_embd;
    const bool selected = std::find(groups.begin(), groups.end(), group) != groups.end();
    c.attention += component_cost("reparam", selected ? ls.attn_reparam : kPlainReparam, lin);
  }
  c.attention += component_cost("attention", ls.attention, ctx);
  c.attention_products = 1.5 * T * T * d;
  c.weighted_value_outputs = T * d;
  if (!registry_lookup("ffn", ls.ffn).caps.builds_nothing) {
    c.rest += component_cost("norm", ls.norm, ctx);
    c.ffn += component_cost("ffn", ls.ffn, ctx);
    c.rest += component_cost("ffn_scaling", ls.ffn_scaling, ctx);
  }
  return c;
}

ComponentCost final_norm_cost(const ModelSpec& model) {
  const LayerSpec ls = model.layer(0);
  return component_cost("norm", model.final_norm, LayerContext{model, ls, -1, model.n_embd});
}

}  // namespace entropix
