#include "entropix/dist/launch_env.h"

#include <charconv>
#include <cstdlib>
#include <stdexcept>

#include "entropix/util/error.h"

namespace entropix::dist {
namespace {

// A whole decimal integer in [lo, hi], or InputError naming the variable.
int parse_int(const std::string& name, const std::string& value, long lo, long hi) {
  long v = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, v);
  if (value.empty() || ec != std::errc() || ptr != end || v < lo || v > hi)
    throw InputError(name + "=" + value + ": expected an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi));
  return static_cast<int>(v);
}

std::optional<std::string> first_set(const EnvLookup& lookup, std::initializer_list<const char*> names,
                                     std::string* which) {
  for (const char* n : names)
    if (auto v = lookup(n)) {
      *which = n;
      return v;
    }
  return std::nullopt;
}

void check_rank(const std::string& rank_var, int rank, const std::string& world_var, int world) {
  if (rank >= world)
    throw InputError(rank_var + "=" + std::to_string(rank) + " is not below " + world_var + "=" + std::to_string(world) +
                     " (ranks are 0 .. world size - 1)");
}

LaunchEnv from_torchrun(const EnvLookup& lookup) {
  const auto rank = lookup("RANK"), world = lookup("WORLD_SIZE");
  if (!rank || !world)
    throw InputError(std::string(rank ? "RANK" : "WORLD_SIZE") + " is set but " + (rank ? "WORLD_SIZE" : "RANK") +
                     " is not; a torchrun-style launch sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT");
  LaunchEnv env;
  env.launcher = "torchrun";
  env.world_size = parse_int("WORLD_SIZE", *world, 1, 1 << 20);
  env.rank = parse_int("RANK", *rank, 0, 1 << 20);
  check_rank("RANK", env.rank, "WORLD_SIZE", env.world_size);
  if (auto v = lookup("LOCAL_RANK")) env.local_rank = parse_int("LOCAL_RANK", *v, 0, 1 << 20);
  if (!env.distributed()) return env;
  const auto addr = lookup("MASTER_ADDR"), port = lookup("MASTER_PORT");
  if (!addr || addr->empty()) throw InputError("WORLD_SIZE=" + *world + " but MASTER_ADDR is not set (the host of rank 0)");
  if (!port) throw InputError("WORLD_SIZE=" + *world + " but MASTER_PORT is not set (a free TCP port on rank 0's host)");
  env.master_addr = *addr;
  env.master_port = parse_int("MASTER_PORT", *port, 1, 65535);
  env.store_served_by_launcher = lookup("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  if (auto v = lookup("TORCHELASTIC_RESTART_COUNT")) env.restart_count = parse_int("TORCHELASTIC_RESTART_COUNT", *v, 0, 1 << 20);
  return env;
}

LaunchEnv from_slurm(const EnvLookup& lookup) {
  LaunchEnv env;
  env.launcher = "slurm";
  env.world_size = parse_int("SLURM_NTASKS", *lookup("SLURM_NTASKS"), 1, 1 << 20);
  env.rank = parse_int("SLURM_PROCID", *lookup("SLURM_PROCID"), 0, 1 << 20);
  check_rank("SLURM_PROCID", env.rank, "SLURM_NTASKS", env.world_size);
  if (auto v = lookup("SLURM_LOCALID")) env.local_rank = parse_int("SLURM_LOCALID", *v, 0, 1 << 20);
  if (!env.distributed()) return env;
  if (auto addr = lookup("MASTER_ADDR"); addr && !addr->empty()) {
    env.master_addr = *addr;
  } else {
    std::string var;
    const auto list = first_set(lookup, {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"}, &var);
    if (!list)
      throw InputError("SLURM_NTASKS=" + std::to_string(env.world_size) +
                       " but neither MASTER_ADDR nor SLURM_JOB_NODELIST is set: cannot tell where rank 0 runs");
    try {
      env.master_addr = expand_nodelist(*list).front();
    } catch (const std::invalid_argument& e) {
      throw InputError(var + "=" + *list + ": " + e.what());
    }
  }
  if (auto port = lookup("MASTER_PORT")) env.master_port = parse_int("MASTER_PORT", *port, 1, 65535);
  else env.master_port = slurm_default_port(lookup("SLURM_JOB_ID"));
  return env;
}

// "07" -> 7; std::invalid_argument unless all digits.
long parse_index(const std::string& s, const std::string& group) {
  long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size())
    throw std::invalid_argument("'[" + group + "]' holds '" + s + "', not a number or lo-hi range");
  return v;
}

std::string padded(long v, size_t width) {
  std::string s = std::to_string(v);
  return s.size() < width ? std::string(width - s.size(), '0') + s : s;
}

// The contents of one [...] group: "01-03,7" -> 01 02 03 7.
std::vector<std::string> expand_group(const std::string& group) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= group.size()) {
    size_t comma = group.find(',', start);
    if (comma == std::string::npos) comma = group.size();
    const std::string part = group.substr(start, comma - start);
    const size_t dash = part.find('-');
    if (dash == std::string::npos) {
      parse_index(part, group);
      out.push_back(part);
    } else {
      const std::string lo_s = part.substr(0, dash), hi_s = part.substr(dash + 1);
      const long lo = parse_index(lo_s, group), hi = parse_index(hi_s, group);
      if (hi < lo) throw std::invalid_argument("'[" + group + "]': range " + part + " runs backwards");
      if (hi - lo >= 100000) throw std::invalid_argument("'[" + group + "]': range " + part + " is implausibly long");
      for (long v = lo; v <= hi; ++v) out.push_back(padded(v, lo_s.size()));
    }
    start = comma + 1;
  }
  return out;
}

// One host pattern without top-level commas: "rack[1-2]-n[01-02]" -> every combination.
std::vector<std::string> expand_host(const std::string& pattern) {
  std::vector<std::string> names = {""};
  size_t i = 0;
  while (i < pattern.size()) {
    const size_t open = pattern.find('[', i);
    const std::string literal = pattern.substr(i, open == std::string::npos ? std::string::npos : open - i);
    if (literal.find(']') != std::string::npos) throw std::invalid_argument("'" + pattern + "' has ']' without '['");
    for (auto& n : names) n += literal;
    if (open == std::string::npos) break;
    const size_t close = pattern.find(']', open);
    if (close == std::string::npos) throw std::invalid_argument("'" + pattern + "' has '[' without ']'");
    const std::string group = pattern.substr(open + 1, close - open - 1);
    if (group.find('[') != std::string::npos) throw std::invalid_argument("'" + pattern + "' nests brackets");
    std::vector<std::string> next;
    for (const auto& n : names)
      for (const auto& index : expand_group(group)) next.push_back(n + index);
    names = std::move(next);
    i = close + 1;
  }
  return names;
}

}  // namespace

std::vector<std::string> expand_nodelist(const std::string& list) {
  if (list.empty()) throw std::invalid_argument("empty host list");
  std::vector<std::string> hosts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    const char c = i < list.size() ? list[i] : ',';
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0) throw std::invalid_argument("']' without '[' in '" + list + "'");
    if (c != ',' || depth > 0) continue;
    const std::string pattern = list.substr(start, i - start);
    if (pattern.empty()) throw std::invalid_argument("empty host name in '" + list + "'");
    for (auto& h : expand_host(pattern)) hosts.push_back(std::move(h));
    start = i + 1;
  }
  if (depth != 0) throw std::invalid_argument("'[' without ']' in '" + list + "'");
  return hosts;
}

int slurm_default_port(const std::optional<std::string>& job_id) {
  if (!job_id) return 29500;
  long id = 0;
  auto [ptr, ec] = std::from_chars(job_id->data(), job_id->data() + job_id->size(), id);
  if (ec != std::errc() || id < 0) return 29500;
  return 29500 + static_cast<int>(id % 2000);
}

LaunchEnv read_launch_env(const EnvLookup& lookup) {
  if (lookup("RANK") || lookup("WORLD_SIZE")) return from_torchrun(lookup);
  if (lookup("SLURM_PROCID") && lookup("SLURM_NTASKS")) return from_slurm(lookup);
  return LaunchEnv{};
}

LaunchEnv read_launch_env() {
  return read_launch_env([](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  });
}

}  // namespace entropix::dist
