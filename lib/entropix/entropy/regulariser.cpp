#include "entropix/entropy/regulariser.h"

#include <cmath>

#include "entropix/entropy/entropy.h"

namespace entropix {

torch::Tensor banded_square(const torch::Tensor& delta, double band) {
  return torch::where(delta.abs() > band, delta.square(), torch::zeros_like(delta));
}

EntropyRegulariserImpl::EntropyRegulariserImpl(int64_t n_layer, int64_t n_head, const EntropyRegSpec& spec)
    : spec_(spec) {
  threshold = add_parameter("threshold", torch::full({n_layer, n_head}, spec.threshold_init), ParamRole::Threshold);
}

std::vector<ComponentModule::LearnedValue> EntropyRegulariserImpl::learned_values() const {
  return {{"threshold", to_json_nested(threshold), /*model_wide=*/true}};
}

LearnedValueInfo regulariser_learned_value() {
  return {"threshold", "[L][H]", "entropy regulariser thresholds theta (a fraction of ln T), per head"};
}

EntropyRegulariser attach_entropy_regulariser(GPT& model, const EntropyRegSpec& spec) {
  if (!spec.enabled) return EntropyRegulariser(nullptr);
  const ModelSpec& m = model->spec();
  return model->register_module("entropy_reg", EntropyRegulariser(m.n_layer, m.n_head, spec));
}

GPT build_model(const ModelSpec& model_spec, const EntropyRegSpec& entropy_reg) {
  GPT model(model_spec);
  attach_entropy_regulariser(model, entropy_reg);
  return model;
}

EntropyRegulariser attached_entropy_regulariser(const GPT& model) {
  for (const auto& child : model->children())
    if (auto r = std::dynamic_pointer_cast<EntropyRegulariserImpl>(child)) return EntropyRegulariser(r);
  return EntropyRegulariser(nullptr);
}

torch::Tensor EntropyRegulariserImpl::forward(const std::vector<torch::Tensor>& probs) const {
  std::vector<torch::Tensor> rows;
  for (const auto& p : probs) rows.push_back(row_entropy(p));  // (B, H, T, T) -> (B, H, T)
  return forward_rows(rows);
}

torch::Tensor EntropyRegulariserImpl::forward_rows(const std::vector<torch::Tensor>& row_entropy) const {
  TORCH_CHECK(static_cast<int64_t>(row_entropy.size()) == threshold.size(0), "regulariser expects ",
              threshold.size(0), " layers of attention, got ", row_entropy.size());
  std::vector<torch::Tensor> per_layer;
  for (size_t l = 0; l < row_entropy.size(); ++l) {
    const double e_max = std::log(static_cast<double>(row_entropy[l].size(-1)));  // T query rows = T keys
    const double band = spec_.tolerance * e_max;
    const auto& rows = row_entropy[l];                    // (B, H, T)
    auto theta = threshold[static_cast<int64_t>(l)];      // (H)
    if (spec_.reduction == "sum") {
      auto delta = rows - (theta * e_max).view({1, -1, 1});         // (B, H, T)
      auto per_head = banded_square(delta, band).sum(std::vector<int64_t>{0, 2});  // (H)
      per_layer.push_back(per_head.mean());
    } else {
      auto delta = rows.mean(std::vector<int64_t>{0, 2}) - theta * e_max;  // (H)
      per_layer.push_back(banded_square(delta, band).mean());
    }
  }
  return torch::stack(per_layer).mean();
}

}  // namespace entropix
