#include "entropix/picost/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "entropix/picost/cost.h"
#include "entropix/picost/nnls.h"
#include "entropix/picost/yaml_read.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/model/registry.h"

namespace entropix {
using picost_detail::join_names;
using picost_detail::YamlReader;

namespace {

const std::vector<std::string> kLinearKeys = {"linear.mac", "linear.output", "linear.lm_head_mac"};

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

double round_4(double v) { return std::strtod(format_number(v).c_str(), nullptr); }

// One fitted parameter: the priced quantities that share its constant.
struct Column {
  std::vector<std::string> keys;
  std::string name() const { return join_names(keys); }
};

std::vector<Column> fit_columns(const CalibrationSet& set) {
  std::vector<Column> cols;
  std::set<std::string> placed;
  for (const auto& tie : set.ties) {
    Column c;
    for (const auto& op : tie) c.keys.push_back("nonlinear." + op);
    for (const auto& op : tie) placed.insert(op);
    cols.push_back(c);
  }
  for (const auto& op : nonlinear_op_kinds())
    if (!placed.count(op)) cols.push_back({{"nonlinear." + op}});
  for (const auto& k : kLinearKeys) cols.push_back({{k}});
  return cols;
}

UnitCost* slot(CostProfile& p, const std::string& key) {
  if (key == "linear.mac") return &p.mac;
  if (key == "linear.output") return &p.output;
  if (key == "linear.lm_head_mac") return &p.lm_head_mac;
  return &p.nonlinear[key.substr(10)];
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", 100 * fraction);
  return buf;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

// A folded block scalar (">-"), wrapped at about 96 columns.
std::string folded(const std::string& text) {
  std::istringstream words(text);
  std::string word, line, out = ">-\n";
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > 94) {
      out += "  " + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += "  " + line + "\n";
  return out;
}

}  // namespace

CalibrationSet load_calibration(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw InputError("--calibrate " + path + ": file not found");
  YamlReader r(path);
  const YAML::Node root = r.load(read_file(path));
  CalibrationSet set;
  set.origin = path;
  if (!r.check_map(root, "", {"profile", "tie", "rows"}, {"profile", "rows"})) r.raise_if_any();

  if (const YAML::Node p = root["profile"]) {
    const std::vector<std::string> keys = {"name", "protocol", "network", "source"};
    if (r.check_map(p, "profile", keys, keys))
      for (const auto& [key, field] :
           {std::pair{"name", &set.header.name}, std::pair{"protocol", &set.header.protocol},
            std::pair{"network", &set.header.network}, std::pair{"source", &set.header.source}})
        if (p[key]) *field = r.text(p[key], std::string("profile.") + key);
  }
  const auto kinds = nonlinear_op_kinds();
  std::set<std::string> tied;
  if (const YAML::Node ties = root["tie"]) {
    if (!ties.IsSequence()) r.problem(ties, "tie", "expected a list of lists of op kinds");
    else
      for (const auto& group : ties) {
        std::vector<std::string> ops;
        if (!group.IsSequence() || group.size() < 2) {
          r.problem(group, "tie", "expected a list of two or more op kinds (" + join_names(kinds) + ")");
          continue;
        }
        for (const auto& item : group) {
          const std::string op = item.IsScalar() ? item.Scalar() : "";
          if (std::find(kinds.begin(), kinds.end(), op) == kinds.end())
            r.problem(item, "tie", "unknown op kind '" + op + "'; valid: " + join_names(kinds));
          else if (!tied.insert(op).second)
            r.problem(item, "tie", "'" + op + "' is already in a tie group");
          else
            ops.push_back(op);
        }
        set.ties.push_back(ops);
      }
  }
  const YAML::Node rows = root["rows"];
  if (rows && (!rows.IsSequence() || rows.size() == 0)) r.problem(rows, "rows", "expected a non-empty list of rows");
  if (rows && rows.IsSequence())
    for (const auto& row : rows) {
      const std::vector<std::string> keys = {"label", "spec", "set", "comm_gb", "latency_min", "held_out"};
      if (!r.check_map(row, "rows[]", keys, {"label", "spec", "comm_gb", "latency_min"})) continue;
      CalibrationRow c;
      if (row["label"]) c.label = r.text(row["label"], "rows[].label");
      if (row["comm_gb"]) c.comm_gb = r.non_negative(row["comm_gb"], "rows[].comm_gb");
      if (row["latency_min"]) c.latency_min = r.non_negative(row["latency_min"], "rows[].latency_min");
      if (row["comm_gb"] && c.comm_gb <= 0) r.problem(row["comm_gb"], "rows[].comm_gb", "expected a number > 0");
      if (row["latency_min"] && c.latency_min <= 0)
        r.problem(row["latency_min"], "rows[].latency_min", "expected a number > 0");
      if (row["held_out"]) {
        if (!row["held_out"].IsScalar() || (row["held_out"].Scalar() != "true" && row["held_out"].Scalar() != "false"))
          r.problem(row["held_out"], "rows[].held_out", "expected true or false");
        else
          c.held_out = row["held_out"].Scalar() == "true";
      }
      std::vector<std::string> sets;
      if (const YAML::Node s = row["set"]) {
        if (!s.IsSequence()) r.problem(s, "rows[].set", "expected a list of key=value overrides");
        else
          for (const auto& item : s) sets.push_back(item.IsScalar() ? item.Scalar() : "");
      }
      if (!row["spec"] || !row["spec"].IsScalar()) {
        if (row["spec"]) r.problem(row["spec"], "rows[].spec", "expected a spec file path");
        continue;
      }
      const fs::path spec = fs::path(path).parent_path() / row["spec"].Scalar();
      try {
        c.model = load_spec(spec.lexically_normal().string(), sets).model;
      } catch (const InputError& e) {
        for (const auto& p : e.problems()) r.add(r.at(row["spec"]) + ": rows[].spec: " + p);
      }
      set.rows.push_back(c);
    }
  r.raise_if_any();
  return set;
}

Calibration calibrate(const CalibrationSet& set) {
  const std::vector<Column> cols = fit_columns(set);
  // Rows are weighted by 1 / published value: the fit minimises squared relative errors.
  std::vector<std::vector<double>> A_bytes, A_seconds;
  std::vector<double> ones;
  std::vector<double> used(cols.size(), 0.0);
  for (const auto& row : set.rows) {
    if (row.held_out) continue;
    const auto q = priced_quantities(row.model);
    std::vector<double> a(cols.size(), 0.0);
    for (size_t j = 0; j < cols.size(); ++j)
      for (const auto& k : cols[j].keys)
        if (q.count(k)) a[j] += q.at(k);
    for (size_t j = 0; j < cols.size(); ++j) used[j] += a[j];
    std::vector<double> ab = a, as = a;
    for (double& v : ab) v /= row.comm_gb * 1e9;
    for (double& v : as) v /= row.latency_min * 60;
    A_bytes.push_back(ab);
    A_seconds.push_back(as);
    ones.push_back(1.0);
  }
  std::vector<std::string> unused;
  for (size_t j = 0; j < cols.size(); ++j)
    if (used[j] == 0) unused.push_back(cols[j].name());
  if (!unused.empty())
    throw InputError(set.origin + ": tie: no fitted row uses " + join_names(unused) +
                     "; add rows that do, or tie each to an op kind that a row uses");
  if (A_bytes.size() < cols.size())
    throw InputError(set.origin + ": rows: " + std::to_string(A_bytes.size()) + " fitted rows for " +
                     std::to_string(cols.size()) + " constants; give at least as many rows as constants");

  const std::vector<double> bytes = nnls(A_bytes, ones), seconds = nnls(A_seconds, ones);
  Calibration c;
  c.profile = set.header;
  c.profile.origin = set.origin;
  for (size_t j = 0; j < cols.size(); ++j)
    for (const auto& k : cols[j].keys) *slot(c.profile, k) = {round_4(bytes[j]), round_4(seconds[j])};
  for (const auto& row : set.rows) {
    const CostEstimate e = estimate_cost(row.model, c.profile, row.label);
    c.residuals.push_back({row.label, row.held_out, row.comm_gb, row.latency_min, e.comm_gb(), e.latency_min()});
  }
  return c;
}

std::string calibration_yaml(const Calibration& c, const std::string& rows_file) {
  const CostProfile& p = c.profile;
  std::ostringstream out;
  out << "# " << p.name << ": a private-inference cost profile for `entropix cost` (docs/cost.md).\n"
      << "# Generated by `entropix cost --calibrate " << rows_file << "` from the published rows in that\n"
      << "# file (beside this one). Do not edit by hand: a test re-runs the fit and compares.\n"
      << "name: " << quoted(p.name) << "\n"
      << "protocol: " << quoted(p.protocol) << "\n"
      << "network: " << quoted(p.network) << "\n"
      << "source: " << folded(p.source);
  auto unit = [](const UnitCost& u) {
    return "{bytes: " + format_number(u.bytes) + ", seconds: " + format_number(u.seconds) + "}";
  };
  out << "nonlinear:  # per element of each operation\n";
  for (const auto& [op, u] : p.nonlinear) out << "  " << op << ": " << unit(u) << "\n";
  out << "linear:\n"
      << "  mac: " << unit(p.mac) << "  # per multiply-accumulate in the blocks\n"
      << "  output: " << unit(p.output) << "  # per element a linear map in the blocks writes\n"
      << "  lm_head_mac: " << unit(p.lm_head_mac) << "  # per multiply-accumulate of the LM head\n"
      << "# Estimate against the published row (estimate / published - 1):\n";
  for (const auto& r : c.residuals) {
    char line[200];
    std::snprintf(line, sizeof line, "#   %-34s %-8s comm %7.2f GB %7s   latency %6.2f min %7s\n", r.label.c_str(),
                  r.held_out ? "held out" : "fitted", r.comm_gb, percent(r.comm_error()).c_str(), r.latency_min,
                  percent(r.latency_error()).c_str());
    out << line;
  }
  return out.str();
}

nlohmann::json calibration_json(const Calibration& c) {
  const CostProfile& p = c.profile;
  auto unit = [](const UnitCost& u) { return nlohmann::json{{"bytes", u.bytes}, {"seconds", u.seconds}}; };
  nlohmann::json nonlinear = nlohmann::json::object();
  for (const auto& [op, u] : p.nonlinear) nonlinear[op] = unit(u);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.residuals)
    rows.push_back({{"label", r.label},
                    {"held_out", r.held_out},
                    {"published", {{"comm_gb", r.comm_gb}, {"latency_min", r.latency_min}}},
                    {"estimate", {{"comm_gb", r.est_comm_gb}, {"latency_min", r.est_latency_min}}},
                    {"error", {{"comm", r.comm_error()}, {"latency", r.latency_error()}}}});
  return {{"profile",
           {{"name", p.name},
            {"protocol", p.protocol},
            {"network", p.network},
            {"source", p.source},
            {"nonlinear", nonlinear},
            {"linear", {{"mac", unit(p.mac)}, {"output", unit(p.output)}, {"lm_head_mac", unit(p.lm_head_mac)}}}}},
          {"rows", rows}};
}

}  // namespace entropix
