// How OpenMP threads wait, for the commands that train: set before LibTorch's OpenMP runtime
// (libgomp) starts, by running the binary again with it in the environment.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <string>

#include "commands.h"
#include "entropix/util/cpu_load.h"

namespace entropix::cli {

// libgomp's default makes idle OpenMP threads spin for milliseconds before they sleep. On a
// shared 2-core machine two spinning threads made training ten times slower than one, while two
// threads waiting passively were as fast as one or faster (docs/performance.md, "Threads").
// Sleeping at once costs too: every parallel region then wakes its threads, slow on a virtual
// machine, hundreds of times a step. So when the CPUs are idle at start, threads spin briefly
// (GOMP_SPINCOUNT, kShortOpenmpSpin) before they sleep, which bridges the gap to the next
// operation; when other processes keep them busy, they sleep at once.
// libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, while the process loads, before main;
// glibc gives library initialisers the environment the process started with, so the only way to
// set them from inside is to start again with them set. That costs one more load of the
// libraries and the 200 ms reading of /proc/stat, and is done only where it matters: run, bench
// and eval, with more than one core available, when the user set neither OMP_WAIT_POLICY
// (ACTIVE keeps spinning, e.g. on a dedicated node) nor OMP_NUM_THREADS=1. A GOMP_SPINCOUNT the
// user set is kept.
bool runs_training_steps(int argc, char** argv) {
  if (argc < 2) return false;
  const char* command = argv[1];
  return std::strcmp(command, "run") == 0 || std::strcmp(command, "bench") == 0 || std::strcmp(command, "eval") == 0;
}

void reexec_with_openmp_wait_settings(int argc, char** argv) {
  if (!runs_training_steps(argc, argv)) return;
  if (std::getenv("OMP_WAIT_POLICY")) return;
  if (const char* n = std::getenv("OMP_NUM_THREADS"); n && std::atoi(n) == 1) return;
  if (const auto cpus = affinity_cpus(); !cpus.empty() && cpus.size() < 2) return;
  if (!std::getenv("GOMP_SPINCOUNT")) {
    // Unreadable /proc/stat: no spin, as before there was one.
    const double busy = measure_busy_cpus(std::chrono::milliseconds(200)).value_or(kBusyCpusForPassiveWait);
    if (setenv("GOMP_SPINCOUNT", std::to_string(openmp_spin_count(busy)).c_str(), /*overwrite=*/0) != 0) return;
  }
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with libgomp's default
}

}  // namespace entropix::cli
