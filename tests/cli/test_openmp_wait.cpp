// How `entropix bench` (as run and eval) sets OpenMP waiting when the user did not: passive, with
// a short spin only when other processes leave its CPUs idle (apps/entropix/openmp_wait.cpp).
// Real processes: busy-looping children make the CPUs busy, and the binary reads /proc/stat.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "entropix/util/cpu_load.h"
#include "support/test_util.h"

namespace entropix {
namespace {
using test::EnvGuard;
using test::run_entropix;

// One busy-looping child per CPU while alive (killed on destruction).
class BusyCpus {
 public:
  explicit BusyCpus(int n) {
    for (int i = 0; i < n; ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        volatile unsigned long spin = 0;
        for (;;) spin = spin + 1;
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~BusyCpus() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
  }
  size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

// device.* of a one-step bench of the smoke spec with two threads (ctest's OMP_NUM_THREADS=1
// would skip the setting altogether).
nlohmann::json bench_device() {
  EnvGuard threads("OMP_NUM_THREADS", "2");
  const auto r = run_entropix("bench " + test::smoke_spec_arg() +
                              " --steps 1 --warmup 0 --peak-size 64 --peak-repeats 1 --json --set train.batch_size=2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out)["device"] : nlohmann::json();
}

TEST(OpenmpWait, BusyCpusGetPassiveWaitingWithoutSpin) {
  if (available_cpus() < 2) GTEST_SKIP() << "one CPU: entropix leaves libgomp's default alone";
  EnvGuard policy("OMP_WAIT_POLICY", nullptr);
  EnvGuard spin("GOMP_SPINCOUNT", nullptr);
  BusyCpus busy(available_cpus());
  ASSERT_EQ(busy.size(), static_cast<size_t>(available_cpus()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let them run
  const auto device = bench_device();
  EXPECT_EQ(device["openmp_wait_policy"], "PASSIVE");
  EXPECT_EQ(device["openmp_spin_count"], "0");
}

TEST(OpenmpWait, TheUsersSettingsWin) {
  if (available_cpus() < 2) GTEST_SKIP() << "one CPU: entropix leaves libgomp's default alone";
  {
    EnvGuard policy("OMP_WAIT_POLICY", nullptr);
    EnvGuard spin("GOMP_SPINCOUNT", "1234");
    const auto device = bench_device();
    EXPECT_EQ(device["openmp_wait_policy"], "PASSIVE");
    EXPECT_EQ(device["openmp_spin_count"], "1234");
  }
  {
    EnvGuard policy("OMP_WAIT_POLICY", "ACTIVE");
    EnvGuard spin("GOMP_SPINCOUNT", nullptr);
    const auto device = bench_device();
    EXPECT_EQ(device["openmp_wait_policy"], "ACTIVE");
    EXPECT_TRUE(device["openmp_spin_count"].is_null());
  }
}

}  // namespace
}  // namespace entropix
