#include "entropix/sweep/sweep_plan.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>

#include "entropix/spec/spec_input.h"
#include "entropix/spec/spec_keys.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/model/registry.h"

namespace entropix {
namespace fs = std::filesystem;
using spec_detail::closest_key;
using spec_detail::where;

namespace {

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

struct Variant {
  std::string name;
  std::vector<Override> overrides;
};

// Characters kept in run names (directory names); anything else becomes '-'.
std::string name_safe(const std::string& text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '=' || c == '+') ? c : '-';
  return out;
}

bool valid_run_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name_safe(name) == name;
}

// The shortest readable label of an axis key: its last segment, unless another axis shares it.
std::string axis_label(const std::string& key, const std::vector<Axis>& axes) {
  const std::string last = key.substr(key.rfind('.') + 1);
  int same = 0;
  for (const auto& a : axes) same += a.key.substr(a.key.rfind('.') + 1) == last;
  return same > 1 ? key : last;
}

void check_key(const std::string& key, const std::string& at, spec_detail::Problems& problems) {
  std::string closest;
  if (!is_spec_key(key, component_catalog(), &closest))
    problems.add(at + ": " + key + ": unknown spec key (did you mean " + closest + "?)");
}

std::vector<Axis> read_grid(const YAML::Node& node, const std::string& origin, spec_detail::Problems& problems) {
  std::vector<Axis> axes;
  if (!node) return axes;
  if (!node.IsMap()) {
    problems.add(where(origin, node) + ": sweep.grid: expected a mapping of spec key -> list of values");
    return axes;
  }
  for (const auto& item : node) {
    const std::string key = item.first.Scalar();
    const std::string at = where(origin, item.first) + ": sweep.grid";
    check_key(key, at, problems);
    Axis axis{key, {}};
    if (!item.second.IsSequence() || item.second.size() == 0) {
      problems.add(where(origin, item.second) + ": sweep.grid." + key + ": expected a non-empty list of values, e.g. [0.001, 0.003]");
      continue;
    }
    for (const auto& v : item.second) {
      if (!v.IsScalar()) {
        problems.add(where(origin, v) + ": sweep.grid." + key + ": each value must be a scalar");
        continue;
      }
      axis.values.push_back(v.Scalar());
    }
    axes.push_back(std::move(axis));
  }
  return axes;
}

std::vector<Variant> read_variants(const YAML::Node& node, const std::string& origin, spec_detail::Problems& problems) {
  std::vector<Variant> variants;
  if (!node) return variants;
  if (!node.IsSequence()) {
    problems.add(where(origin, node) + ": sweep.variants: expected a list of {name, set} entries");
    return variants;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& v = node[i];
    const std::string label = "sweep.variants[" + std::to_string(i) + "]";
    if (!v.IsMap()) {
      problems.add(where(origin, v) + ": " + label + ": expected a mapping with name and set");
      continue;
    }
    Variant variant;
    for (const auto& item : v) {
      const std::string k = item.first.Scalar();
      if (k == "name" && item.second.IsScalar()) {
        variant.name = item.second.Scalar();
      } else if (k == "set" && (item.second.IsMap() || item.second.IsNull())) {
        for (const auto& s : item.second) {
          const std::string key = s.first.Scalar();
          check_key(key, where(origin, s.first) + ": " + label + ".set", problems);
          if (!s.second.IsScalar()) {
            problems.add(where(origin, s.second) + ": " + label + ".set." + key + ": expected a scalar value");
            continue;
          }
          variant.overrides.emplace_back(key, s.second.Scalar());
        }
      } else if (k == "name" || k == "set") {
        problems.add(where(origin, item.second) + ": " + label + "." + k +
                     (k == "name" ? ": expected a string" : ": expected a mapping of spec key -> value"));
      } else {
        problems.add(where(origin, item.first) + ": " + label + ": unknown key " + k + " (valid: name, set)");
      }
    }
    if (!valid_run_name(variant.name))
      problems.add(where(origin, v) + ": " + label + ".name: required, letters, digits and . - _ = + only (it names a directory)" +
                   (variant.name.empty() ? "" : "; got '" + variant.name + "'"));
    variants.push_back(std::move(variant));
  }
  return variants;
}

// "key=v1,v2,v3" from the command line.
Axis parse_grid_arg(const std::string& arg, spec_detail::Problems& problems) {
  const auto eq = arg.find('=');
  Axis axis;
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size()) {
    problems.add("--grid " + arg + ": expected key=v1,v2,..., e.g. --grid train.lr=1e-3,3e-3");
    return axis;
  }
  axis.key = arg.substr(0, eq);
  check_key(axis.key, "--grid " + arg, problems);
  std::string rest = arg.substr(eq + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t comma = rest.find(',', start);
    const std::string v = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (v.empty()) problems.add("--grid " + arg + ": empty value");
    else axis.values.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return axis;
}

// Refuses a sweep of more than kMaxSweepRuns runs before resolving any (the product is computed
// without overflow: it stops growing past the cap).
void check_run_count(const std::string& origin, size_t variants, const std::vector<Axis>& axes) {
  int64_t runs = static_cast<int64_t>(std::max<size_t>(variants, 1));
  std::string shape = std::to_string(runs) + (variants > 1 ? " variants" : " variant");
  for (const auto& a : axes) {
    shape += " x " + std::to_string(a.values.size());
    runs = runs > kMaxSweepRuns ? runs : runs * static_cast<int64_t>(a.values.size());
  }
  if (runs > kMaxSweepRuns)
    throw InputError(origin + ": sweep: " + shape + " values = more than " + std::to_string(kMaxSweepRuns) +
                     " runs; a sweep may have at most " + std::to_string(kMaxSweepRuns) + " (split it into several)");
}

}  // namespace

std::string overrides_text(const std::vector<Override>& overrides) {
  std::string out;
  for (const auto& [k, v] : overrides) out += (out.empty() ? "" : "; ") + k + "=" + v;
  return out;
}

SweepPlan plan_sweep(const std::string& spec_file, const std::vector<std::string>& common_sets,
                     const std::vector<std::string>& grid_args, const fs::path& out_dir) {
  // The base spec first: a broken base would repeat the same problems for every run.
  const ExperimentSpec base = load_spec(spec_file, common_sets);
  // load_spec has checked the file (size, one document, no duplicate keys, bounded aliases).
  const YAML::Node root = parse_spec_yaml(read_spec_text(spec_file), spec_file);
  const YAML::Node section = root["sweep"];
  spec_detail::Problems problems;
  SweepPlan plan;
  plan.spec_file = spec_file;
  for (const auto& s : common_sets)
    if (s.rfind("slurm.", 0) != 0) plan.common_sets.push_back(s);
  plan.name = base.name;

  std::vector<Axis> axes;
  std::vector<Variant> variants;
  if (section && !section.IsNull()) {
    if (!section.IsMap()) {
      problems.add(where(spec_file, section) + ": sweep: expected a mapping with grid, variants, name, baseline");
    } else {
      for (const auto& item : section) {
        const std::string k = item.first.Scalar();
        if (k == "grid" || k == "variants") continue;
        if (k == "name" && item.second.IsScalar() && valid_run_name(item.second.Scalar())) plan.name = item.second.Scalar();
        else if (k == "baseline" && item.second.IsScalar()) plan.baseline = item.second.Scalar();
        else if (k == "name" || k == "baseline")
          problems.add(where(spec_file, item.second) + ": sweep." + k + ": expected a name (letters, digits, . - _ = +)");
        else
          problems.add(where(spec_file, item.first) + ": sweep." + k + ": unknown key (valid: name, baseline, grid, variants)");
      }
      axes = read_grid(section["grid"], spec_file, problems);
      variants = read_variants(section["variants"], spec_file, problems);
    }
  }
  for (const auto& arg : grid_args) {
    Axis axis = parse_grid_arg(arg, problems);
    if (axis.key.empty()) continue;
    auto same = std::find_if(axes.begin(), axes.end(), [&](const Axis& a) { return a.key == axis.key; });
    if (same != axes.end()) *same = std::move(axis);
    else axes.push_back(std::move(axis));
  }
  plan.slurm = read_slurm(root["slurm"], spec_file, problems);
  for (const auto& s : common_sets)
    if (s.rfind("slurm.", 0) == 0) apply_slurm_override(plan.slurm, s, problems);
  problems.raise_if_any();
  if (variants.empty() && axes.empty())
    throw InputError(spec_file + ": no sweep: give a sweep section (grid and/or variants) or --grid key=v1,v2");
  check_run_count(spec_file, variants.size(), axes);

  for (const auto& a : axes) plan.axes.push_back(a.key);
  plan.dir = out_dir.empty() ? fs::path("runs") / plan.name : out_dir;

  // Runs: every variant (or none) x the grid's cartesian product, variants outermost.
  if (variants.empty()) variants.push_back({"", {}});
  std::vector<size_t> index(axes.size(), 0);
  std::set<std::string> names;
  std::map<std::string, std::string> first_run_of_variant;  // variant name -> its first run's name
  for (const auto& variant : variants) {
    std::fill(index.begin(), index.end(), 0);
    while (true) {
      SweepRun run;
      run.name = variant.name;
      run.overrides = variant.overrides;
      for (size_t a = 0; a < axes.size(); ++a) {
        const std::string& value = axes[a].values[index[a]];
        run.overrides.emplace_back(axes[a].key, value);
        run.name += (run.name.empty() ? "" : "_") + name_safe(axis_label(axes[a].key, axes) + "=" + value);
      }
      first_run_of_variant.emplace(variant.name, run.name);
      if (!names.insert(run.name).second) problems.add("sweep: two runs are both named " + run.name + "; give distinct variant names or values");
      run.dir = plan.dir / run.name;
      std::vector<std::string> sets = plan.common_sets;
      for (const auto& [k, v] : run.overrides) sets.push_back(k + "=" + v);
      sets.push_back("name=" + run.name);
      try {
        run.spec = load_spec(spec_file, sets);
      } catch (const InputError& e) {
        for (const auto& p : e.problems()) problems.add("run " + run.name + ": " + p);
      }
      plan.runs.push_back(std::move(run));
      // Odometer over the axes, last axis fastest.
      size_t a = axes.size();
      while (a > 0 && ++index[a - 1] == axes[a - 1].values.size()) index[--a] = 0;
      if (a == 0) break;
    }
  }
  if (plan.baseline.empty()) plan.baseline = plan.runs.front().name;
  // A variant's name stands for its first run, so a baseline stays valid when a grid (seeds,
  // say) is added from the command line.
  else if (!names.count(plan.baseline) && first_run_of_variant.count(plan.baseline))
    plan.baseline = first_run_of_variant.at(plan.baseline);
  else if (!names.count(plan.baseline))
    problems.add(spec_file + ": sweep.baseline: no run is named " + plan.baseline + " (runs: " +
                 spec_detail::join(std::vector<std::string>(names.begin(), names.end()), ", ") + ")");
  problems.raise_if_any();
  return plan;
}

}  // namespace entropix
