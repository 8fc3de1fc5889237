#include "entropix/report/run_diff.h"

#include <set>

namespace entropix::report {

namespace {

void walk(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) walk(kv.second, prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>(), out);
    return;
  }
  if (node.IsScalar()) {
    out[prefix] = node.Scalar();
    return;
  }
  if (node.IsNull()) {
    out[prefix] = "null";
    return;
  }
  YAML::Emitter e;  // a sequence: one compact value, e.g. [qk] or [{n_head: 2}]
  e << YAML::Flow << node;
  out[prefix] = e.c_str();
}

}  // namespace

std::map<std::string, std::string> flatten_spec(const YAML::Node& spec) {
  std::map<std::string, std::string> out;
  walk(spec, "", out);
  return out;
}

bool ignored_difference(const std::string& key) { return key == "name"; }

std::string spec_value(const RunLogs& run, const std::string& key) {
  const auto it = run.spec.find(key);
  return it == run.spec.end() ? "(unset)" : it->second;
}

std::vector<std::string> differing_keys(const std::vector<RunLogs>& runs) {
  std::set<std::string> keys;
  std::vector<const RunLogs*> with_spec;
  for (const auto& r : runs)
    if (!r.spec.empty()) {
      with_spec.push_back(&r);
      for (const auto& kv : r.spec) keys.insert(kv.first);
    }
  std::vector<std::string> out;
  for (const auto& k : keys) {
    if (ignored_difference(k)) continue;
    for (const auto* r : with_spec)
      if (spec_value(*r, k) != spec_value(*with_spec.front(), k)) {
        out.push_back(k);
        break;
      }
  }
  return out;
}

TableColumn differs_column(const std::vector<RunLogs>& runs) {
  TableColumn col{"differs", "resolved spec.yaml keys whose values differ between the runs shown, with this run's value", {}, false};
  const auto keys = differing_keys(runs);
  for (const auto& r : runs) {
    if (r.spec.empty()) {
      col.cells.push_back("n/a (no spec.yaml)");
      continue;
    }
    std::string cell;
    for (const auto& k : keys) cell += (cell.empty() ? "" : "; ") + k + "=" + spec_value(r, k);
    col.cells.push_back(cell.empty() ? "none" : cell);
  }
  return col;
}

}  // namespace entropix::report
