// parse_cpu_ticks / busy_cpus / openmp_spin_count: reading /proc/stat and the spin that follows.
// The texts below are written in /proc/stat's documented format (proc(5)); the real file is
// read once at the end.
#include <gtest/gtest.h>

#include "entropix/util/cpu_load.h"

namespace entropix {
namespace {

// cpuN user nice system idle iowait irq softirq steal guest guest_nice
const char* kStat =
    "cpu  100 10 50 1000 20 3 2 7 0 0\n"
    "cpu0 40 5 20 500 10 1 1 3 0 0\n"
    "cpu1 60 5 30 500 10 2 1 4 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 999\n";

TEST(CpuLoad, SumsTheWantedCpusOnlyAndCountsStealAsNotBusy) {
  const auto both = parse_cpu_ticks(kStat, {0, 1});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->cpus, 2);
  // busy = user + nice + system + irq + softirq; total adds idle, iowait and steal.
  EXPECT_EQ(both->busy, (40u + 5 + 20 + 1 + 1) + (60u + 5 + 30 + 2 + 1));
  EXPECT_EQ(both->total, both->busy + (500u + 10 + 3) + (500u + 10 + 4));
  const auto one = parse_cpu_ticks(kStat, {1});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->cpus, 1);
  EXPECT_EQ(one->busy, 60u + 5 + 30 + 2 + 1);
}

TEST(CpuLoad, NothingListedOrMalformedIsNoReading) {
  EXPECT_FALSE(parse_cpu_ticks(kStat, {5}));
  EXPECT_FALSE(parse_cpu_ticks("cpu  1 2 3 4 5 6 7 8\n", {0}));  // the aggregate line is not cpu0
  EXPECT_FALSE(parse_cpu_ticks("cpu0 1 2 3\n", {0}));            // fields missing
  EXPECT_FALSE(parse_cpu_ticks("", {0}));
}

TEST(CpuLoad, BusyCpusIsTheBusyShareTimesTheCpus) {
  CpuTicks before{100, 1000, 2}, after{100 + 30, 1000 + 40, 2};  // 30 of 40 jiffies busy
  EXPECT_DOUBLE_EQ(busy_cpus(before, after), 0.75 * 2);
  EXPECT_DOUBLE_EQ(busy_cpus(before, before), 0.0);  // no time passed
  EXPECT_DOUBLE_EQ(busy_cpus(after, before), 0.0);   // counters went backwards: no reading
}

TEST(CpuLoad, SpinOnlyWhenOtherProcessesLeaveTheCpusIdle) {
  EXPECT_EQ(openmp_spin_count(0.0), kShortOpenmpSpin);
  EXPECT_EQ(openmp_spin_count(kBusyCpusForPassiveWait - 0.01), kShortOpenmpSpin);
  EXPECT_EQ(openmp_spin_count(kBusyCpusForPassiveWait), 0);
  EXPECT_EQ(openmp_spin_count(2.0), 0);
  EXPECT_GT(kShortOpenmpSpin, 0);
}

TEST(CpuLoad, ReadsThisMachinesCpus) {
  const std::vector<int> cpus = affinity_cpus();
  ASSERT_FALSE(cpus.empty()) << "sched_getaffinity failed";
  const auto busy = measure_busy_cpus(std::chrono::milliseconds(50));
  ASSERT_TRUE(busy) << "/proc/stat unreadable";
  EXPECT_GE(*busy, 0.0);
  EXPECT_LE(*busy, static_cast<double>(cpus.size()));
  EXPECT_EQ(available_cpus(), static_cast<int>(cpus.size()));
}

}  // namespace
}  // namespace entropix
