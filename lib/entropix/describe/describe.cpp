#include "entropix/describe/describe.h"

#include <iomanip>
#include <sstream>

#include "entropix/model/gpt.h"
#include "entropix/model/model_cost.h"
#include "entropix/model/registry.h"
#include "entropix/util/checked_math.h"

namespace entropix {
namespace {

// Adds `count` applications of `op` on tensors of `shape`; `final` marks the norm before the LM
// head, counted apart from the blocks' norms (the papers' tables count only the latter).
void add_op(nlohmann::json& inv, const std::string& op, int64_t count, std::vector<int64_t> shape, bool final = false) {
  if (op.empty() || count == 0) return;
  // Checked: T x T x H elements times L layers can leave int64 for absurd shapes.
  const std::string what = "elements of " + op;
  int64_t per = 1;
  for (auto s : shape) per = checked_mul(per, s, what);
  if (!inv.contains(op)) inv[op] = {{"count", 0}, {"elements", 0}, {"shape", shape}, {"final", 0}};
  inv[op]["count"] = inv[op]["count"].get<int64_t>() + count;
  inv[op]["elements"] = checked_add(inv[op]["elements"].get<int64_t>(), checked_mul(count, per, what), what);
  if (final) inv[op]["final"] = inv[op]["final"].get<int64_t>() + count;
}

void add_uses(nlohmann::json& inv, const ComponentCost& cost, bool final = false) {
  for (const auto& u : cost.nonlinear) add_op(inv, u.op, u.count, u.shape, final);
}

// What describe shows for a component: its descriptor's label, else its name.
std::string label_of(const std::string& kind, const std::string& name, const LayerContext& ctx) {
  const ComponentDescriptor& d = registry_lookup(kind, name);
  return d.label ? d.label(ctx) : name;
}

std::string group_digits(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string billions(double flops) {
  std::ostringstream ss;
  ss << std::fixed << std::setprecision(2) << flops / 1e9 << "B";
  return ss.str();
}

}  // namespace

nlohmann::json nonlinearity_inventory(const ModelSpec& m) {
  nlohmann::json inv = nlohmann::json::object();
  for (int64_t l = 0; l < m.n_layer; ++l) {
    const BlockCost c = block_cost(m, l);
    add_uses(inv, c.attention);
    add_uses(inv, c.rest);
    add_uses(inv, c.ffn);
  }
  add_uses(inv, final_norm_cost(m), /*final=*/true);
  return inv;
}

nlohmann::json forward_flops(const ModelSpec& m) {
  double attention = 0, ffn = 0;
  for (int64_t l = 0; l < m.n_layer; ++l) {
    const BlockCost c = block_cost(m, l);
    attention += 2 * (c.attention.macs + c.attention_products);
    ffn += 2 * c.ffn.macs;
  }
  return {{"attention", attention}, {"ffn", ffn}, {"total", attention + ffn}};
}

nlohmann::json linear_inventory(const ModelSpec& m) {
  const double T = static_cast<double>(m.context), d = static_cast<double>(m.n_embd);
  const double V = static_cast<double>(m.vocab_size);
  double projections = 0, products = 0, outputs = 0;
  for (int64_t l = 0; l < m.n_layer; ++l) {
    const BlockCost c = block_cost(m, l);
    projections += c.attention.macs + c.ffn.macs;
    products += c.attention_products;
    outputs += c.attention.outputs + c.weighted_value_outputs + c.ffn.outputs + c.rest.outputs;
  }
  return {{"macs", {{"projections", projections}, {"attention_products", products}, {"lm_head", T * d * V}}},
          {"outputs", outputs}};
}

nlohmann::json describe_model(const ModelSpec& m) {
  torch::NoGradGuard no_grad;
  GPT model(m);
  nlohmann::json layers = nlohmann::json::array();
  for (int64_t l = 0; l < m.n_layer; ++l) {
    const LayerSpec ls = m.layer(l);
    int64_t params = 0;
    for (const auto& p : model->blocks[l]->parameters()) params += p.numel();
    const LayerContext ctx{m, ls, l, m.n_embd};
    const ComponentDescriptor& ffn = registry_lookup("ffn", ls.ffn);
    const bool has_ffn = !ffn.caps.builds_nothing;
    layers.push_back({{"layer", l},
                      {"norm_1", ls.norm},
                      {"attention", ls.attention},
                      {"norm_2", has_ffn ? ls.norm : "-"},
                      {"ffn", label_of("ffn", ls.ffn, ctx)},
                      {"activation", ffn.caps.uses_activation ? ls.activation : "-"},
                      {"ffn_reparam", has_ffn ? ls.ffn_reparam : "-"},
                      {"attn_reparam", ls.attn_reparam},
                      {"ffn_scaling", has_ffn ? ls.ffn_scaling : "-"},
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
          {"nonlinearities", nonlinearity_inventory(m)},
          {"flops", forward_flops(m)}};
}

std::string describe_text(const nlohmann::json& d) {
  std::ostringstream out;
  out << "model: " << d["n_layer"] << " layers, " << d["n_head"] << " heads, d=" << d["n_embd"] << ", T=" << d["context"]
      << ", vocab " << d["vocab_size"] << "\n\n";
  const std::vector<std::pair<std::string, int>> columns = {
      {"layer", 6},  {"norm_1", 11},      {"attention", 21},    {"norm_2", 11},      {"ffn", 8},
      {"activation", 22}, {"ffn_reparam", 14}, {"attn_reparam", 14}, {"ffn_scaling", 12}};
  for (const auto& [name, width] : columns) out << std::left << std::setw(width) << name;
  out << std::right << std::setw(12) << "params" << "\n";
  for (const auto& l : d["layers"]) {
    for (const auto& [name, width] : columns) {
      const auto& v = l[name];
      out << std::left << std::setw(width) << (v.is_string() ? v.get<std::string>() : v.dump());
    }
    out << std::right << std::setw(12) << group_digits(l["params"].get<int64_t>()) << "\n";
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
    const int64_t count = v["count"].get<int64_t>(), final = v["final"].get<int64_t>();
    out << "  " << std::left << std::setw(12) << op << std::right << std::setw(6) << count << " of " << shape << "  ("
        << group_digits(v["elements"].get<int64_t>()) << " elements)";
    if (final > 0) out << "  [" << count - final << " in blocks + " << final << " final norm]";
    out << "\n";
  }
  const auto& f = d["flops"];
  out << "\nforward FLOPs over T tokens (2 x MACs, without embeddings and LM head): attention "
      << billions(f["attention"].get<double>()) << ", FFN " << billions(f["ffn"].get<double>()) << ", total "
      << billions(f["total"].get<double>()) << "\n";
  return out.str();
}

}  // namespace entropix
