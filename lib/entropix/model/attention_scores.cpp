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

// softmax(logits / t) with a learned temperature t > 0, either one per head ("head": (H)) or one
// per head and query position ("head_query": (H, T), t[h, i] divides query row i of head h).
// Parameterisation (model.softmax_temperature.param): "log" trains log t (parameter
// "log_temperature", t = exp(log t): Adam's steps are multiplicative, about lr x t per step);
// "direct" trains t itself (parameter "temperature", clamped below at kMinTemperature in the
// forward so it stays positive: Adam's steps are additive, about lr per step).
constexpr double kMinTemperature = 1e-4;

struct SoftmaxTemperatureScores : UnaryOpImpl, ScaledSoftmax {
  explicit SoftmaxTemperatureScores(const LayerContext& ctx) : per_query_(false) {
    const double t0 = option_number(ctx, "softmax_temperature", "init");
    TORCH_CHECK(t0 > 0, "softmax_temperature: init must be > 0, got ", t0);
    const std::string shape = option_text(ctx, "softmax_temperature", "shape");
    const std::string param = option_text(ctx, "softmax_temperature", "param");
    TORCH_CHECK(param == "log" || param == "direct", "softmax_temperature: unknown param '", param,
                "' (valid: log, direct)");
    direct_ = param == "direct";
    std::vector<int64_t> sizes;
    if (shape == "head") {
      sizes = {ctx.model.n_head};  // (H)
    } else if (shape == "head_query") {
      per_query_ = true;
      sizes = {ctx.model.n_head, ctx.model.context};  // (H, T)
    } else {
      TORCH_CHECK(false, "softmax_temperature: unknown temperature shape '", shape, "' (valid: head, head_query)");
    }
    raw_ = add_parameter(direct_ ? "temperature" : "log_temperature",
                         torch::full(sizes, direct_ ? t0 : std::log(t0)), ParamRole::Temperature);
  }

  // t itself, shaped as the parameter: (H) or (H, T).
  torch::Tensor t() const { return direct_ ? raw_.clamp_min(kMinTemperature) : torch::exp(raw_); }

  // (1, H, T', 1) with one t per query row, or (1, H, 1, 1).
  torch::Tensor temperature(int64_t Tq) const override {
    const int64_t H = raw_.size(0);
    torch::Tensor t_now = t();  // (H) or (H, T)
    if (!per_query_) return t_now.view({1, H, 1, 1});
    TORCH_CHECK(Tq <= t_now.size(1), "softmax_temperature: ", Tq, " query rows exceed model.context ", t_now.size(1));
    return t_now.narrow(1, 0, Tq).view({1, H, Tq, 1});
  }

  torch::Tensor forward(const torch::Tensor& logits) override {
    const int64_t H = logits.size(1), Tq = logits.size(-2);
    TORCH_CHECK(H == raw_.size(0), "softmax_temperature: logits have ", H, " heads, expected ", raw_.size(0));
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
    return {{"temperature", to_json_nested(t().detach()), false}};
  }

  torch::Tensor raw_;  // log t or t, (H) or (H, T)
  bool per_query_;
  bool direct_ = false;
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
    d.info.doc = "softmax(logits / t), learned temperature t per head (or per head and query position)";
    d.info.options.push_back({"init", OptionType::Float, "1", "initial temperature t (logits are divided by t)", {},
                              option_positive(), "model.temperature_init"});
    d.info.options.push_back({"shape", OptionType::String, "head",
                              "one t per head, or per head and query position (t in R^{H x T})",
                              {"head", "head_query"}, {}, "model.temperature_shape"});
    d.info.options.push_back({"param", OptionType::String, "log",
                              "what is trained: log (log t; multiplicative Adam steps, about lr x t each) or direct "
                              "(t itself, kept >= 1e-4; additive steps, about lr each)",
                              {"log", "direct"}, {}, ""});
    d.make = [](const LayerContext& ctx) -> ModulePtr { return std::make_shared<SoftmaxTemperatureScores>(ctx); };
    d.cost = softmax_cost;
    d.caps.scaled_softmax = true;
    d.learned.push_back({"temperature", "[L][H] or [L][H][T]", "learned attention temperature t (softmax(logits / t))"});
    out.push_back(d);
  }
}

}  // namespace entropix
