#include "entropix/describe/describe.h"

#include <iomanip>
#include <sstream>

#include "entropix/model/gpt.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace {

void add_op(nlohmann::json& inv, const std::string& op, int64_t count, std::vector<int64_t> shape) {
  if (op.empty() || count == 0) return;
  int64_t per = 1;
  for (auto s : shape) per *= s;
  if (!inv.contains(op)) inv[op] = {{"count", 0}, {"elements", 0}, {"shape", shape}};
  inv[op]["count"] = inv[op]["count"].get<int64_t>() + count;
  inv[op]["elements"] = inv[op]["elements"].get<int64_t>() + count * per;
}

std::string ffn_label(const ModelSpec& m) { return m.ffn == "mlp" ? "mlp x" + std::to_string(m.ffn_mult) : m.ffn; }

std::string group_digits(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace

nlohmann::json nonlinearity_inventory(const ModelSpec& m) {
  const int64_t T = m.context, d = m.n_embd;
  const bool has_ffn = m.ffn != "none";
  nlohmann::json inv = nlohmann::json::object();
  const auto& attn = registry_lookup("attention", m.attention);
  const auto& norm = registry_lookup("norm", m.norm);
  const auto& act = registry_lookup("activation", m.activation);
  // One softmax per head over its T x T causal score matrix.
  add_op(inv, attn.nonlinear_op, m.n_layer * m.n_head, {T, T});
  add_op(inv, norm.nonlinear_op, m.n_layer * (has_ffn ? 2 : 1), {T, d});
  if (has_ffn && m.ffn == "mlp") add_op(inv, act.nonlinear_op, m.n_layer, {T, m.ffn_mult * d});
  add_op(inv, registry_lookup("norm", m.final_norm).nonlinear_op, 1, {T, d});
  return inv;
}

nlohmann::json describe_model(const ModelSpec& m) {
  torch::NoGradGuard no_grad;
  GPT model(m);
  nlohmann::json layers = nlohmann::json::array();
  for (int64_t l = 0; l < m.n_layer; ++l) {
    int64_t params = 0;
    for (const auto& p : model->blocks[l]->parameters()) params += p.numel();
    const bool has_ffn = m.ffn != "none";
    layers.push_back({{"layer", l},
                      {"norm_1", m.norm},
                      {"attention", m.attention},
                      {"norm_2", has_ffn ? m.norm : "-"},
                      {"ffn", ffn_label(m)},
                      {"activation", has_ffn && m.ffn == "mlp" ? m.activation : "-"},
                      {"params", params}});
  }
  const int64_t total = model->parameter_count();
  const int64_t non_embedding = model->non_embedding_parameter_count();
  return {{"n_layer", m.n_layer},
          {"n_head", m.n_head},
          {"n_embd", m.n_embd},
          {"context", m.context},
          {"vocab_size", m.vocab_size},
          {"final_norm", m.final_norm},
          {"layers", layers},
          {"params", {{"total", total}, {"non_embedding", non_embedding}, {"embedding", total - non_embedding}}},
          {"nonlinearities", nonlinearity_inventory(m)}};
}

std::string describe_text(const nlohmann::json& d) {
  std::ostringstream out;
  out << "model: " << d["n_layer"] << " layers, " << d["n_head"] << " heads, d=" << d["n_embd"]
      << ", T=" << d["context"] << ", vocab " << d["vocab_size"] << "\n\n";
  out << std::left << std::setw(6) << "layer" << std::setw(12) << "norm_1" << std::setw(12) << "attention"
      << std::setw(12) << "norm_2" << std::setw(10) << "ffn" << std::setw(12) << "activation" << std::right
      << std::setw(14) << "params" << "\n";
  for (const auto& l : d["layers"]) {
    out << std::left << std::setw(6) << l["layer"].get<int64_t>() << std::setw(12) << l["norm_1"].get<std::string>()
        << std::setw(12) << l["attention"].get<std::string>() << std::setw(12) << l["norm_2"].get<std::string>()
        << std::setw(10) << l["ffn"].get<std::string>() << std::setw(12) << l["activation"].get<std::string>()
        << std::right << std::setw(14) << group_digits(l["params"].get<int64_t>()) << "\n";
  }
  out << "final norm: " << d["final_norm"].get<std::string>() << "\n\n";
  const auto& p = d["params"];
  out << "parameters: " << group_digits(p["total"].get<int64_t>()) << " total, "
      << group_digits(p["non_embedding"].get<int64_t>()) << " non-embedding (token and position embeddings "
      << group_digits(p["embedding"].get<int64_t>()) << "; the LM head is tied to the token embedding)\n\n";
  out << "nonlinear operations per forward pass over T tokens:\n";
  if (d["nonlinearities"].empty()) out << "  (none)\n";
  for (const auto& [op, v] : d["nonlinearities"].items()) {
    std::string shape;
    for (const auto& s : v["shape"]) shape += (shape.empty() ? "" : " x ") + std::to_string(s.get<int64_t>());
    out << "  " << std::left << std::setw(10) << op << std::right << std::setw(6) << v["count"].get<int64_t>()
        << " of " << shape << "  (" << group_digits(v["elements"].get<int64_t>()) << " elements)\n";
  }
  return out.str();
}

}  // namespace entropix
