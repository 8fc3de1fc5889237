// How the runs of a report differ: each run's resolved spec (spec.yaml) flattened to dotted keys,
// the keys whose values are not the same in every run shown, and the table's "differs" column.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "entropix/report/run_logs.h"
#include "entropix/report/run_table.h"

namespace entropix::report {

// {"model.n_layer": "2", "train.lr": "0.03", "model.attn_reparam_groups": "[qk]", ...}: maps are
// walked into dotted keys; scalars keep their YAML text; sequences are one flow-style value.
std::map<std::string, std::string> flatten_spec(const YAML::Node& spec);

// Keys never listed as differences: the run's name (it has its own column).
bool ignored_difference(const std::string& key);

// The keys (sorted) whose value differs between any two of the runs that have a spec.yaml; a key
// missing from one run's spec counts as "(unset)" there.
std::vector<std::string> differing_keys(const std::vector<RunLogs>& runs);

// The value of `key` in a run's flattened spec, "(unset)" when it has none.
std::string spec_value(const RunLogs& run, const std::string& key);

// The "differs" column: per run, "key=value" for every differing key, joined by "; ".
// "n/a (no spec.yaml)" for a run without a spec, "none" when all runs agree.
TableColumn differs_column(const std::vector<RunLogs>& runs);

}  // namespace entropix::report
