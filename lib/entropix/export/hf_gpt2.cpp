#include "entropix/export/hf_gpt2.h"

#include <stdexcept>

namespace entropix {
namespace {

constexpr double kLayerNormEps = 1e-5;  // entropix's LayerNorm (model/norms.cpp); GPT-2's too

// A layer's components and the GPT-2 block's: "" when they agree.
std::string layer_unmappable(const LayerSpec& layer, const std::string& where) {
  auto no = [&](const std::string& key, const std::string& value, const std::string& why) {
    return "model." + key + "=" + value + where + " has no GPT-2 equivalent (" + why + ")";
  };
  if (layer.norm != "layernorm") return no("norm", layer.norm, "GPT-2 applies LayerNorm before attention and the FFN");
  if (layer.attention != "softmax")
    return no("attention", layer.attention, "GPT-2 attention is softmax(q.k / sqrt(head_dim))");
  if (layer.ffn != "mlp" && layer.ffn != "none")
    return no("ffn", layer.ffn, "GPT-2's FFN is d -> n_inner -> d with the activation between");
  if (layer.ffn == "mlp" && layer.activation != "gelu" && layer.activation != "relu" && layer.activation != "identity")
    return no("activation", layer.activation, "GPT2Config.activation_function here: gelu, relu, identity");
  if (layer.ffn_scaling != "none")
    return no("ffn_scaling", layer.ffn_scaling, "GPT-2 adds the FFN output to the residual stream unscaled");
  return "";
}

// GPT2Config.activation_function for an entropix activation (all layers share one in GPT-2).
std::string hf_activation(const std::string& activation) {
  if (activation == "gelu") return "gelu";      // exact erf GELU in both (torch.nn.functional.gelu)
  if (activation == "relu") return "relu";
  if (activation == "identity") return "linear";
  throw std::invalid_argument("no GPT-2 activation for " + activation);
}

// The parameter `name` of a module (searched recursively); undefined when it has none.
torch::Tensor param(const torch::nn::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters(/*recurse=*/true))
    if (p.key() == name) return p.value();
  return {};
}

// The effective (out, in) weight of a linear op, as [in, out] (GPT-2's Conv1D layout).
torch::Tensor conv1d_weight(const LinearOp& op) { return op->weight().detach().t().contiguous(); }

// The linear op's bias, or zeros of its output width.
torch::Tensor bias_or_zeros(const LinearOp& op) {
  torch::Tensor b = param(*op, "bias");
  return b.defined() ? b.detach().clone() : torch::zeros({op->weight().size(0)});
}

LinearOp child_linear(const UnaryOp& ffn, const std::string& name) {
  for (const auto& c : ffn->named_children())
    if (c.key() == name) return std::dynamic_pointer_cast<LinearOpImpl>(c.value());
  return nullptr;
}

}  // namespace

std::string hf_unmappable(const ModelSpec& model) {
  std::string first_act;
  bool any_ffn = false;
  for (int64_t l = 0; l < model.n_layer; ++l) {
    const LayerSpec layer = model.layer(l);
    const std::string where = model.layers.empty() ? "" : " (layer " + std::to_string(l) + ")";
    std::string why = layer_unmappable(layer, where);
    if (!why.empty()) return why;
    if (layer.ffn == "mlp") {
      if (any_ffn && layer.activation != first_act)
        return "model.activation=" + layer.activation + where +
               " has no GPT-2 equivalent (GPT-2 uses one activation in every layer, here also " + first_act + ")";
      first_act = layer.activation;
      any_ffn = true;
    }
  }
  if (model.final_norm != "layernorm")
    return "model.final_norm=" + model.final_norm + " has no GPT-2 equivalent (GPT-2 applies LayerNorm ln_f before the head)";
  return "";
}

nlohmann::ordered_json hf_config(const ModelSpec& model) {
  std::string act = "gelu";
  for (int64_t l = 0; l < model.n_layer; ++l)
    if (model.layer(l).ffn == "mlp") act = hf_activation(model.layer(l).activation);
  nlohmann::ordered_json c;
  c["architectures"] = nlohmann::ordered_json::array({"GPT2LMHeadModel"});
  c["model_type"] = "gpt2";
  c["vocab_size"] = model.vocab_size;
  c["n_positions"] = model.context;
  c["n_ctx"] = model.context;
  c["n_embd"] = model.n_embd;
  c["n_layer"] = model.n_layer;
  c["n_head"] = model.n_head;
  c["n_inner"] = model.ffn_mult * model.n_embd;
  c["activation_function"] = act;
  c["resid_pdrop"] = model.dropout.residual;
  c["embd_pdrop"] = model.dropout.embedding;
  c["attn_pdrop"] = model.dropout.attention;
  c["layer_norm_epsilon"] = kLayerNormEps;
  c["initializer_range"] = 0.02;
  c["scale_attn_weights"] = true;  // logits / sqrt(head_dim), as entropix
  c["scale_attn_by_inverse_layer_idx"] = false;
  c["reorder_and_upcast_attn"] = false;
  c["tie_word_embeddings"] = true;  // entropix's head is wte^T
  c["use_cache"] = true;
  c["bos_token_id"] = nullptr;  // entropix's vocabularies name no such token here
  c["eos_token_id"] = nullptr;
  c["torch_dtype"] = "float32";
  return c;
}

std::vector<HfTensor> hf_tensors(GPT& model) {
  const std::string why = hf_unmappable(model->spec());
  if (!why.empty()) throw std::invalid_argument(why);
  torch::NoGradGuard no_grad;
  model->eval();  // a spectral-normalised weight is then read without advancing its power iteration
  model->to(torch::kCPU);
  std::vector<HfTensor> out;
  auto add = [&](const std::string& name, const torch::Tensor& t, const std::string& source) {
    out.push_back({{name, t.detach().to(torch::kFloat32).contiguous()}, source});
  };
  const int64_t d = model->spec().n_embd, hidden = model->spec().ffn_mult * d;
  add("transformer.wte.weight", model->wte->weight, "wte.weight");
  add("transformer.wpe.weight", model->wpe->weight, "wpe.weight");
  for (size_t l = 0; l < model->blocks.size(); ++l) {
    const Block& b = model->blocks[l];
    const std::string hf = "transformer.h." + std::to_string(l) + ".", ex = "h" + std::to_string(l) + ".";
    add(hf + "ln_1.weight", param(*b->norm_1, "norm.weight"), ex + "norm_1.norm.weight");
    add(hf + "ln_1.bias", param(*b->norm_1, "norm.bias"), ex + "norm_1.norm.bias");
    const auto& a = b->attn;
    // c_attn: x [d] -> [q | k | v] [3d]; Conv1D weight [in, out] = [d, 3d].
    add(hf + "attn.c_attn.weight", torch::cat({conv1d_weight(a->q), conv1d_weight(a->k), conv1d_weight(a->v)}, 1),
        "cat(" + ex + "attn.q, " + ex + "attn.k, " + ex + "attn.v effective weights)^T");
    add(hf + "attn.c_attn.bias", torch::cat({bias_or_zeros(a->q), bias_or_zeros(a->k), bias_or_zeros(a->v)}),
        "cat(" + ex + "attn.q.bias, " + ex + "attn.k.bias, zeros(d))");
    add(hf + "attn.c_proj.weight", conv1d_weight(a->o), ex + "attn.o effective weight^T");
    add(hf + "attn.c_proj.bias", bias_or_zeros(a->o), "zeros(d)");
    if (b->ffn) {
      add(hf + "ln_2.weight", param(*b->norm_2, "norm.weight"), ex + "norm_2.norm.weight");
      add(hf + "ln_2.bias", param(*b->norm_2, "norm.bias"), ex + "norm_2.norm.bias");
      const LinearOp fc = child_linear(b->ffn, "c_fc"), proj = child_linear(b->ffn, "c_proj");
      if (!fc || !proj) throw std::logic_error("mlp FFN without c_fc / c_proj in layer " + std::to_string(l));
      add(hf + "mlp.c_fc.weight", conv1d_weight(fc), ex + "ffn.c_fc effective weight^T");
      add(hf + "mlp.c_fc.bias", torch::zeros({hidden}), "zeros(n_inner)");
      add(hf + "mlp.c_proj.weight", conv1d_weight(proj), ex + "ffn.c_proj effective weight^T");
      add(hf + "mlp.c_proj.bias", torch::zeros({d}), "zeros(d)");
    } else {
      // No FFN: GPT-2's MLP with zero matrices adds exactly 0 (act(0) = 0 for gelu, relu, linear).
      add(hf + "ln_2.weight", torch::ones({d}), "ones(d) (layer without FFN)");
      add(hf + "ln_2.bias", torch::zeros({d}), "zeros(d) (layer without FFN)");
      add(hf + "mlp.c_fc.weight", torch::zeros({d, hidden}), "zeros (layer without FFN)");
      add(hf + "mlp.c_fc.bias", torch::zeros({hidden}), "zeros (layer without FFN)");
      add(hf + "mlp.c_proj.weight", torch::zeros({hidden, d}), "zeros (layer without FFN)");
      add(hf + "mlp.c_proj.bias", torch::zeros({d}), "zeros (layer without FFN)");
    }
  }
  add("transformer.ln_f.weight", param(*model->norm_f, "norm.weight"), "norm_f.norm.weight");
  add("transformer.ln_f.bias", param(*model->norm_f, "norm.bias"), "norm_f.norm.bias");
  return out;
}

}  // namespace entropix
