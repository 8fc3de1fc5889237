// Who this process is in a data-parallel job: rank, world size and where to meet the others,
// read from the variables torchrun or Slurm's srun set (docs/distributed.md).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace entropix::dist {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // rank among the processes on this machine (picks the CUDA device)
  std::string master_addr;   // host of rank 0, which serves the rendezvous store
  int master_port = 0;
  std::string launcher;      // "torchrun" (the torchrun variables), "slurm", or "" for one process
  // torchrun (PyTorch 2.x) serves the store itself at MASTER_ADDR:MASTER_PORT and says so with
  // TORCHELASTIC_USE_AGENT_STORE=True: then every rank, rank 0 too, connects to it as a client.
  bool store_served_by_launcher = false;
  int restart_count = 0;     // TORCHELASTIC_RESTART_COUNT: keeps keys of earlier attempts apart
  bool distributed() const { return world_size > 1; }
};

// Reads one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The torchrun variables win when RANK or WORLD_SIZE is set: RANK, WORLD_SIZE, LOCAL_RANK (default
// 0), MASTER_ADDR, MASTER_PORT (both required when WORLD_SIZE > 1), TORCHELASTIC_USE_AGENT_STORE
// and TORCHELASTIC_RESTART_COUNT (when torchrun sets them). Otherwise Slurm's, when
// SLURM_PROCID and SLURM_NTASKS are set: rank SLURM_PROCID, world SLURM_NTASKS, local rank
// SLURM_LOCALID; MASTER_ADDR if set, else the first host of SLURM_STEP_NODELIST (or
// SLURM_JOB_NODELIST, SLURM_NODELIST); MASTER_PORT if set, else slurm_default_port(SLURM_JOB_ID).
// Otherwise one process. A malformed or inconsistent value is an InputError naming the variable.
LaunchEnv read_launch_env(const EnvLookup& lookup);
LaunchEnv read_launch_env();  // from this process's environment

// 29500 + job id mod 2000: jobs sharing a node rarely collide, and the port stays below Linux's
// ephemeral range (32768 and up). 29500 without a job id.
int slurm_default_port(const std::optional<std::string>& job_id);

// Expands Slurm's compressed host list: "node[01-03,07],gpu5" -> node01 node02 node03 node07 gpu5.
// Top-level commas separate hosts; each [...] holds comma-separated numbers or lo-hi ranges,
// zero-padded to the width written; several bracket groups in one name multiply out, in order
// ("r[1-2]n[1-2]" -> r1n1 r1n2 r2n1 r2n2). std::invalid_argument on malformed lists.
std::vector<std::string> expand_nodelist(const std::string& list);

}  // namespace entropix::dist
