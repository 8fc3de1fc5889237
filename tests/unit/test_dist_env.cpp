// Who a process is in a data-parallel job: torchrun's and Slurm's variables, Slurm's compressed
// host lists, and the command line `run --nproc` gives its ranks.
#include <gtest/gtest.h>

#include <map>

#include "entropix/dist/launch_env.h"
#include "entropix/dist/local_launch.h"
#include "entropix/util/error.h"

namespace entropix::dist {
namespace {

using Strings = std::vector<std::string>;

LaunchEnv read(const std::map<std::string, std::string>& vars) {
  return read_launch_env([&](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

// The first problem of the InputError that reading `vars` throws ("" when none is thrown).
std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    read(vars);
  } catch (const InputError& e) {
    return e.problems().front();
  }
  return "";
}

TEST(Nodelist, ExpandsRangesListsAndPlainNames) {
  EXPECT_EQ(expand_nodelist("node[01-04,07],gpu5"), (Strings{"node01", "node02", "node03", "node04", "node07", "gpu5"}));
  EXPECT_EQ(expand_nodelist("login1"), (Strings{"login1"}));
  EXPECT_EQ(expand_nodelist("a,b"), (Strings{"a", "b"}));
}

TEST(Nodelist, KeepsTheZeroPaddingWrittenAndCrossesDecades) {
  EXPECT_EQ(expand_nodelist("n[8-11]"), (Strings{"n8", "n9", "n10", "n11"}));
  EXPECT_EQ(expand_nodelist("n[098-101]"), (Strings{"n098", "n099", "n100", "n101"}));
}

TEST(Nodelist, MultipliesOutSeveralGroupsAndKeepsSuffixes) {
  EXPECT_EQ(expand_nodelist("r[1-2]n[1,3]"), (Strings{"r1n1", "r1n3", "r2n1", "r2n3"}));
  EXPECT_EQ(expand_nodelist("x[1,3]-ib,y"), (Strings{"x1-ib", "x3-ib", "y"}));
}

TEST(Nodelist, RejectsMalformedLists) {
  for (const char* bad : {"", "n[1-", "n]1[", "n[3-1]", "n[a]", "n[1-b]", "a,,b", "n[1[2]]", ",a", "n[]"})
    EXPECT_THROW(expand_nodelist(bad), std::invalid_argument) << bad;
}

TEST(LaunchEnv, OneProcessWithoutLauncherVariables) {
  const LaunchEnv env = read({{"PATH", "/usr/bin"}});
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.launcher, "");
}

TEST(LaunchEnv, ReadsTorchrunVariables) {
  const LaunchEnv env =
      read({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "host7"}, {"MASTER_PORT", "29400"}});
  EXPECT_TRUE(env.distributed());
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "host7");
  EXPECT_EQ(env.master_port, 29400);
  EXPECT_EQ(env.launcher, "torchrun");
  EXPECT_FALSE(env.store_served_by_launcher);  // torchrun of PyTorch 1.x: rank 0 serves the store
  EXPECT_EQ(env.restart_count, 0);
}

TEST(LaunchEnv, TorchrunsOwnStoreIsUsedWhenItSaysSo) {
  const LaunchEnv env = read({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29500"},
                              {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_TRUE(env.store_served_by_launcher);
  EXPECT_EQ(env.restart_count, 2);
  EXPECT_FALSE(read({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29500"},
                     {"TORCHELASTIC_USE_AGENT_STORE", "False"}})
                   .store_served_by_launcher);
}

TEST(LaunchEnv, TorchrunWorldOfOneNeedsNoRendezvous) {
  const LaunchEnv env = read({{"RANK", "0"}, {"WORLD_SIZE", "1"}});
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.local_rank, 0);
}

TEST(LaunchEnv, RejectsIncompleteOrInconsistentTorchrunVariables) {
  EXPECT_NE(error_of({{"RANK", "0"}}).find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(error_of({{"WORLD_SIZE", "2"}}).find("RANK"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}})
                .find("RANK=2 is not below WORLD_SIZE=2"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK=x"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "0"}}).find("WORLD_SIZE=0"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1234"}}).find("MASTER_ADDR"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
                .find("MASTER_PORT=70000"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "1 "}, {"WORLD_SIZE", "2"}}).find("RANK=1 "), std::string::npos);
}

TEST(LaunchEnv, ReadsSlurmVariablesWithTheFirstHostAsMaster) {
  const LaunchEnv env = read({{"SLURM_PROCID", "5"},
                              {"SLURM_NTASKS", "8"},
                              {"SLURM_LOCALID", "1"},
                              {"SLURM_JOB_NODELIST", "gpu[12-15]"},
                              {"SLURM_JOB_ID", "123456"}});
  EXPECT_EQ(env.launcher, "slurm");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "gpu12");
  EXPECT_EQ(env.master_port, 29500 + 123456 % 2000);  // the documented default
}

TEST(LaunchEnv, SlurmPrefersTheStepsNodesAndExplicitMaster) {
  std::map<std::string, std::string> vars = {{"SLURM_PROCID", "0"},
                                             {"SLURM_NTASKS", "2"},
                                             {"SLURM_JOB_NODELIST", "a[1-9]"},
                                             {"SLURM_STEP_NODELIST", "a[4-5]"}};
  EXPECT_EQ(read(vars).master_addr, "a4");
  EXPECT_EQ(read(vars).master_port, 29500);  // no job id
  vars["MASTER_ADDR"] = "10.0.0.9";
  vars["MASTER_PORT"] = "23456";
  EXPECT_EQ(read(vars).master_addr, "10.0.0.9");
  EXPECT_EQ(read(vars).master_port, 23456);
}

TEST(LaunchEnv, SlurmSingleTaskIsOneProcessAndTorchrunWins) {
  EXPECT_FALSE(read({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}).distributed());
  // sbatch's batch script has SLURM_NTASKS but no SLURM_PROCID: one process, not rank 0 of N.
  EXPECT_FALSE(read({{"SLURM_NTASKS", "4"}, {"SLURM_JOB_NODELIST", "a[1-4]"}}).distributed());
  const LaunchEnv env = read({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"RANK", "1"}, {"WORLD_SIZE", "2"},
                              {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}});
  EXPECT_EQ(env.launcher, "torchrun");
  EXPECT_EQ(env.rank, 1);
}

TEST(LaunchEnv, SlurmErrorsNameTheVariable) {
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_NODELIST", "n[1-"}})
                .find("SLURM_JOB_NODELIST=n[1-"),
            std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}).find("SLURM_JOB_NODELIST"), std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "4"}, {"SLURM_NTASKS", "4"}, {"SLURM_JOB_NODELIST", "a"}})
                .find("SLURM_PROCID=4 is not below SLURM_NTASKS=4"),
            std::string::npos);
}

TEST(LocalLaunch, RanksGetTheCommandLineWithoutNproc) {
  EXPECT_EQ(without_nproc({"entropix", "run", "s.yaml", "--nproc", "2", "--out", "x"}),
            (Strings{"entropix", "run", "s.yaml", "--out", "x"}));
  EXPECT_EQ(without_nproc({"entropix", "run", "--nproc=4", "s.yaml"}), (Strings{"entropix", "run", "s.yaml"}));
  EXPECT_EQ(without_nproc({"entropix", "run", "s.yaml"}), (Strings{"entropix", "run", "s.yaml"}));
}

TEST(LocalLaunch, FindsAFreePort) {
  const int port = free_local_port();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

}  // namespace
}  // namespace entropix::dist
