// Registry kind "attention": maps masked, scaled attention logits (B, H, T, T) to probabilities.
// Masked positions arrive as -inf and must come out as probability 0.
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "entropix/model/registry.h"

namespace entropix {
namespace {

struct SoftmaxScores : UnaryOpImpl, ScaledSoftmax {
  torch::Tensor forward(const torch::Tensor& logits) override { return torch::softmax(logits, -1); }
  torch::Tensor temperature(int64_t) const override { return {}; }
};

// softmax(logits / t) with a learned temperature t = exp(log_temperature) > 0, either one per
// head ("head": log_temperature (H)) or one per head and query position ("head_query": (H, T),
// t[h, i] divides query row i of head h).
struct SoftmaxTemperatureScores : UnaryOpImpl, ScaledSoftmax {
  explicit SoftmaxTemperatureScores(const LayerContext& ctx) : per_query_(false) {
    const double t0 = option_number(ctx, "softmax_temperature", "init");
    TORCH_CHECK(t0 > 0, "softmax_temperature: init must be > 0, got ", t0);
    const std::string shape = option_text(ctx, "softmax_temperature", "shape");
    if (shape == "head") {
      log_temperature = add_parameter("log_temperature", torch::full({ctx.model.n_head}, std::log(t0)),
                                      ParamRole::Temperature);  // (H)
    } else if (shape == "head_query") {
      per_query_ = true;
      log_temperature = add_parameter("log_temperature",
                                      torch::full({ctx.model.n_head, ctx.model.context}, std::log(t0)),
                                      ParamRole::Temperature);  // (H, T)
    } else {
      TORCH_CHECK(false, "softmax_temperature: unknown temperature shape '", shape, "' (valid: head, head_query)");
    }
  }

  // (1, H, T', 1) with one t per query row, or (1, H, 1, 1).
  torch::Tensor temperature(int64_t Tq) const override {
    const int64_t H = log_temperature.size(0);
    torch::Tensor t = torch::exp(log_temperature);  // (H) or (H, T)
    if (!per_query_) return t.view({1, H, 1, 1});
    TORCH_CHECK(Tq <= t.size(1), "softmax_temperature: ", Tq, " query rows exceed model.context ", t.size(1));
    return t.narrow(1, 0, Tq).view({1, H, Tq, 1});
  }

  torch::Tensor forward(const torch::Tensor& logits) override {
    const int64_t H = logits.size(1), Tq = logits.size(-2);
    TORCH_CHECK(H == log_temperature.size(0), "softmax_temperature: logits have ", H, " heads, expected ",
                log_temperature.size(0));
    const torch::Tensor t = temperature(Tq);  // (1, H, T', 1) or (1, H, 1, 1)
    // Zero the masked logits before dividing and put -inf back after: -inf / t itself is fine,
    // but its derivative with respect to t is inf, and inf * 0 (the softmax's zero gradient
    // there) would make the temperature's gradient NaN.
    auto masked = torch::isneginf(logits);                                   // (B, H, T', T')
    auto scaled = torch::where(masked, torch::zeros_like(logits), logits) / t;  // (B, H, T', T')
    scaled = scaled.masked_fill(masked, -std::numeric_limits<double>::infinity());
    return torch::softmax(scaled, -1);                                       // (B, H, T', T')
  }

  // temperature [H] or [H][T]
  std::vector<LearnedValue> learned_values() const override {
    return {{"temperature", to_json_nested(log_temperature.detach().exp()), false}};
  }

  torch::Tensor log_temperature;
  bool per_query_;
};

// One softmax over each head's T x T scores.
ComponentCost softmax_cost(const LayerContext& ctx) {
  ComponentCost c;
  c.nonlinear.push_back({"softmax", ctx.model.n_head, {ctx.model.context, ctx.model.context}});
  return c;
}

}  // namespace

void register_attention_scores(std::vector<ComponentDescriptor>& out) {
  using ModulePtr = std::shared_ptr<ComponentModule>;
  {
    ComponentDescriptor d;
    d.info = {"attention", "softmax", "softmax over causally masked q.k / sqrt(head_dim)", {}, {}};
    d.make = [](const LayerContext&) -> ModulePtr { return std::make_shared<SoftmaxScores>(); };
    d.cost = softmax_cost;
    d.caps.fused_attention = true;
    d.caps.scaled_softmax = true;
    out.push_back(d);
  }
  {
    ComponentDescriptor d;
    d.info.kind = "attention";
    d.info.name = "softmax_temperature";
    d.info.doc = "softmax(logits / t), learned temperature t = exp(log_temperature) per head (or per head and query "
                 "position)";
    d.info.options.push_back({"init", OptionType::Float, "1", "initial temperature t (logits are divided by t)", {},
                              option_positive(), "model.temperature_init"});
    d.info.options.push_back({"shape", OptionType::String, "head",
                              "one t per head, or per head and query position (t in R^{H x T})",
                              {"head", "head_query"}, {}, "model.temperature_shape"});
    d.make = [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<SoftmaxTemperatureScores>(ctx); };
    d.cost = softmax_cost;
    d.caps.scaled_softmax = true;
    d.learned.push_back({"temperature", "[L][H] or [L][H][T]", "learned attention temperature t (softmax(logits / t))"});
    out.push_back(d);
  }
}

}  // namespace entropix
