// How busy other processes keep this process's CPUs, from /proc/stat, and the OpenMP spin that
// follows from it (apps/entropix/openmp_wait.cpp; docs/performance.md, "Threads").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace entropix {

// The CPUs this process may run on (sched_getaffinity), ascending; empty where unreadable.
std::vector<int> affinity_cpus();
// How many CPUs this process may run on: at least 1 (1 where the affinity is unreadable).
int available_cpus();

// Jiffies summed over a set of CPUs: busy (user, nice, system, irq, softirq) and all of them
// (busy plus idle, iowait and steal). Steal is time the hypervisor gave to other machines: it
// does not compete with this machine's processes, so it counts as not busy.
struct CpuTicks {
  uint64_t busy = 0;
  uint64_t total = 0;
  int cpus = 0;  // how many of the wanted CPUs the text listed
};

// Sums the "cpuN" lines of /proc/stat's text for N in `cpus`; nullopt when none is listed or a
// listed line is malformed.
std::optional<CpuTicks> parse_cpu_ticks(const std::string& proc_stat, const std::vector<int>& cpus);

// CPUs' worth of busy time between two readings of the same CPUs: 0 (all idle) to the number of
// CPUs (all busy). 0 when no time passed.
double busy_cpus(const CpuTicks& before, const CpuTicks& after);

// Samples /proc/stat over `window` for affinity_cpus(); nullopt where either is unreadable.
std::optional<double> measure_busy_cpus(std::chrono::milliseconds window);

// libgomp's GOMP_SPINCOUNT for training: idle OpenMP threads spin this many times before they
// sleep. A short spin bridges the gaps between one operation's parallel region and the next
// (waking sleeping threads for every region is slow on virtual machines); on CPUs that other
// processes keep busy, a spinning thread takes time from the one doing the work, so there none.
constexpr int64_t kShortOpenmpSpin = 10000;
// Other processes' busy time, in CPUs, from which OpenMP threads wait without spinning.
constexpr double kBusyCpusForPassiveWait = 0.5;
int64_t openmp_spin_count(double others_busy_cpus);

}  // namespace entropix
