#include "entropix/picost/compare.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "entropix/model/registry.h"
#include "entropix/util/error.h"

namespace entropix {
namespace {

bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return a == b;
}

PricedSpec price(const std::string& file, const std::vector<std::string>& sets, const CostProfile& profile) {
  ExperimentSpec spec = load_spec(file, sets);
  return {spec.name, file, spec.model, estimate_cost(spec.model, profile, file + " (" + spec.name + ")")};
}

// The registry kind ("attention", "norm", "activation") whose components perform `op`.
std::string kind_of(const std::string& op) {
  for (const auto& [name, kind] : registry_nonlinear_ops())
    if (name == op) return kind;
  return "other";
}

std::string short_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e3) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// `text` wrapped at about 100 columns, continuation lines indented by two spaces.
std::string wrapped(const std::string& text) {
  std::istringstream words(text);
  std::string word, line, out;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > 100) {
      out += line + "\n";
      line = " ";
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line + "\n";
}

double ratio(double baseline, double value) { return value > 0 ? baseline / value : 0; }

double total_macs(const CostEstimate& e) {
  const auto& m = e.linear["macs"];
  return m["projections"].get<double>() + m["attention_products"].get<double>() + m["lm_head"].get<double>();
}

}  // namespace

CostComparison compare_costs(const std::vector<std::string>& spec_files, const std::string& baseline_file,
                             const std::vector<std::string>& sets, const CostProfile& profile) {
  if (spec_files.empty()) throw InputError("cost: give at least one SPEC file");
  CostComparison c;
  c.profile = profile;
  for (const auto& f : spec_files) c.specs.push_back(price(f, sets, profile));
  if (!baseline_file.empty()) {
    auto it = std::find_if(spec_files.begin(), spec_files.end(), [&](const std::string& f) { return same_file(f, baseline_file); });
    if (it != spec_files.end()) {
      c.baseline = static_cast<size_t>(it - spec_files.begin());
    } else {
      c.specs.insert(c.specs.begin(), price(baseline_file, sets, profile));
      c.baseline = 0;
    }
  }
  return c;
}

std::string comparison_text(const CostComparison& c) {
  // Nonlinear op columns by registry kind, in this order, then any other kind.
  std::vector<std::string> kinds = {"attention", "norm", "activation"};
  for (const auto& s : c.specs)
    for (const auto& [op, v] : s.estimate.nonlinearities.items())
      if (std::find(kinds.begin(), kinds.end(), kind_of(op)) == kinds.end()) kinds.push_back(kind_of(op));

  const PricedSpec& base = c.specs[c.baseline];
  std::vector<std::string> header = {"spec", "T"};
  header.insert(header.end(), kinds.begin(), kinds.end());
  for (const char* h : {"MACs", "comm GB", "latency min", "comm x", "latency x"}) header.push_back(h);
  std::vector<std::vector<std::string>> table = {header};
  for (size_t i = 0; i < c.specs.size(); ++i) {
    const PricedSpec& s = c.specs[i];
    std::vector<std::string> row = {s.name + (i == c.baseline ? " *" : ""), std::to_string(s.model.context)};
    for (const auto& kind : kinds) {
      std::string cell;
      for (const auto& [op, v] : s.estimate.nonlinearities.items()) {
        if (kind_of(op) != kind) continue;
        cell += (cell.empty() ? "" : " + ") + std::to_string(v["count"].get<int64_t>()) + " " + op + " (" +
                short_count(static_cast<double>(v["elements"].get<int64_t>())) + ")";
      }
      row.push_back(cell.empty() ? "-" : cell);
    }
    row.push_back(short_count(total_macs(s.estimate)));
    row.push_back(fixed(s.estimate.comm_gb(), 2));
    row.push_back(fixed(s.estimate.latency_min(), 2));
    row.push_back(fixed(ratio(base.estimate.total.bytes, s.estimate.total.bytes), 2));
    row.push_back(fixed(ratio(base.estimate.total.seconds, s.estimate.total.seconds), 2));
    table.push_back(row);
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : table)
    for (size_t j = 0; j < row.size(); ++j) width[j] = std::max(width[j], row[j].size());

  std::ostringstream out;
  out << "private-inference cost under " << c.profile.name << ": " << c.profile.protocol << "; " << c.profile.network
      << "\n"
      << "one forward pass over T input tokens for one output token; * = baseline of the savings (x)\n\n";
  for (const auto& row : table) {
    std::string line;
    for (size_t j = 0; j < row.size(); ++j) {
      const bool left = j == 0 || (j >= 2 && j < 2 + kinds.size());
      const std::string pad(width[j] - row[j].size(), ' ');
      line += (j ? "  " : "") + (left ? row[j] + pad : pad + row[j]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
  out << "\nops: applications and (elements) per forward pass; MACs: linear multiply-accumulates with the LM head\n"
      << wrapped("profile " + c.profile.origin + ": " + c.profile.source);
  return out.str();
}

nlohmann::json comparison_json(const CostComparison& c) {
  const PricedSpec& base = c.specs[c.baseline];
  nlohmann::json specs = nlohmann::json::array();
  for (size_t i = 0; i < c.specs.size(); ++i) {
    const PricedSpec& s = c.specs[i];
    nlohmann::json j = {{"name", s.name}, {"file", s.file}, {"baseline", i == c.baseline}};
    j.update(cost_json(s.model, s.estimate));
    j["savings"] = {{"comm", ratio(base.estimate.total.bytes, s.estimate.total.bytes)},
                    {"latency", ratio(base.estimate.total.seconds, s.estimate.total.seconds)}};
    specs.push_back(j);
  }
  return {{"profile",
           {{"name", c.profile.name},
            {"protocol", c.profile.protocol},
            {"network", c.profile.network},
            {"source", c.profile.source},
            {"origin", c.profile.origin}}},
          {"baseline", base.name},
          {"specs", specs}};
}

}  // namespace entropix
