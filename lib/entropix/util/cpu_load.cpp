#include "entropix/util/cpu_load.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace entropix {

std::vector<int> affinity_cpus() {
  cpu_set_t set;
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

int available_cpus() { return std::max(1, static_cast<int>(affinity_cpus().size())); }

std::optional<CpuTicks> parse_cpu_ticks(const std::string& proc_stat, const std::vector<int>& cpus) {
  CpuTicks sum;
  std::istringstream lines(proc_stat);
  std::string line;
  while (std::getline(lines, line)) {
    // "cpuN user nice system idle iowait irq softirq steal guest guest_nice" (guest time is
    // already inside user and nice); the aggregate line "cpu " has no number.
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    std::istringstream fields(line.substr(3));
    int cpu = -1;
    fields >> cpu;
    if (std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) continue;
    uint64_t v[8] = {};
    for (auto& x : v)
      if (!(fields >> x)) return std::nullopt;
    const uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6];
    sum.busy += busy;
    sum.total += busy + v[3] + v[4] + v[7];
    ++sum.cpus;
  }
  if (sum.cpus == 0) return std::nullopt;
  return sum;
}

double busy_cpus(const CpuTicks& before, const CpuTicks& after) {
  if (after.total <= before.total || after.busy < before.busy) return 0.0;
  const double share = static_cast<double>(after.busy - before.busy) / static_cast<double>(after.total - before.total);
  return share * after.cpus;
}

namespace {

std::optional<CpuTicks> read_cpu_ticks(const std::vector<int>& cpus) {
  std::ifstream in("/proc/stat");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return parse_cpu_ticks(text.str(), cpus);
}

}  // namespace

std::optional<double> measure_busy_cpus(std::chrono::milliseconds window) {
  const std::vector<int> cpus = affinity_cpus();
  if (cpus.empty()) return std::nullopt;
  const auto before = read_cpu_ticks(cpus);
  std::this_thread::sleep_for(window);
  const auto after = read_cpu_ticks(cpus);
  if (!before || !after || before->cpus != after->cpus) return std::nullopt;
  return busy_cpus(*before, *after);
}

int64_t openmp_spin_count(double others_busy_cpus) {
  return others_busy_cpus < kBusyCpusForPassiveWait ? kShortOpenmpSpin : 0;
}

}  // namespace entropix
