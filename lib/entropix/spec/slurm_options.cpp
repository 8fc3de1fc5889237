#include "entropix/spec/slurm_options.h"

namespace entropix {
using spec_detail::where;

namespace {

const std::vector<std::string>& slurm_keys() {
  static const std::vector<std::string> keys = {"partition",    "account",      "qos",            "time",
                                                "mem",          "gpus",         "cpus_per_task",  "max_parallel",
                                                "signal_seconds", "extra",      "setup"};
  return keys;
}

int64_t read_int(const YAML::Node& n, const std::string& key, const std::string& at, spec_detail::Problems& problems) {
  try {
    const int64_t v = n.as<int64_t>();
    if (v < 0) throw YAML::BadConversion(n.Mark());
    return v;
  } catch (const YAML::Exception&) {
    problems.add(at + ": slurm." + key + ": expected an integer >= 0, got '" +
                 (n.IsScalar() ? n.Scalar() : "a " + std::string(n.IsMap() ? "mapping" : "list")) + "'");
    return 0;
  }
}

// One key of the section; `at` locates the value, `key_at` the key.
void read_key(SlurmOptions& o, const std::string& k, const YAML::Node& v, const std::string& at,
              const std::string& key_at, spec_detail::Problems& problems) {
  auto text = [&]() -> std::string {
    if (v.IsScalar()) return v.Scalar();
    problems.add(at + ": slurm." + k + ": expected a string");
    return "";
  };
  auto list = [&]() {
    std::vector<std::string> out;
    if (v.IsScalar()) return std::vector<std::string>{v.Scalar()};
    if (!v.IsSequence()) problems.add(at + ": slurm." + k + ": expected a list of strings");
    else
      for (const auto& e : v) out.push_back(e.IsScalar() ? e.Scalar() : "");
    return out;
  };
  if (k == "partition") o.partition = text();
  else if (k == "account") o.account = text();
  else if (k == "qos") o.qos = text();
  else if (k == "time") o.time = text();
  else if (k == "mem") o.mem = text();
  else if (k == "gpus") o.gpus = read_int(v, k, at, problems);
  else if (k == "cpus_per_task") o.cpus_per_task = read_int(v, k, at, problems);
  else if (k == "max_parallel") o.max_parallel = read_int(v, k, at, problems);
  else if (k == "signal_seconds") o.signal_seconds = read_int(v, k, at, problems);
  else if (k == "extra") o.extra = list();
  else if (k == "setup") o.setup = list();
  else
    problems.add(key_at + ": slurm." + k + ": unknown key (did you mean " + spec_detail::closest_key(k, slurm_keys()) +
                 "?); valid: " + spec_detail::join(slurm_keys(), ", "));
}

}  // namespace

SlurmOptions read_slurm(const YAML::Node& node, const std::string& origin, spec_detail::Problems& problems) {
  SlurmOptions o;
  if (!node || node.IsNull()) return o;
  if (!node.IsMap()) {
    problems.add(where(origin, node) + ": slurm: expected a mapping of keys");
    return o;
  }
  for (const auto& item : node)
    read_key(o, item.first.Scalar(), item.second, where(origin, item.second), where(origin, item.first), problems);
  return o;
}

void apply_slurm_override(SlurmOptions& options, const std::string& assignment, spec_detail::Problems& problems) {
  const std::string at = "--set " + assignment;
  const auto eq = assignment.find('=');
  const std::string key = assignment.substr(6, eq == std::string::npos ? std::string::npos : eq - 6);
  if (eq == std::string::npos) {
    problems.add(at + ": expected key=value, e.g. --set slurm.partition=gpu");
    return;
  }
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = text.empty() ? YAML::Node(std::string()) : YAML::Load(text);
  } catch (const YAML::Exception& e) {
    problems.add(at + ": slurm." + key + ": cannot parse value: " + e.msg);
    return;
  }
  read_key(options, key, value, at, at, problems);
}

}  // namespace entropix
