// `entropix run --nproc N`: the N ranks of a data-parallel job on this machine, started by
// entropix itself (what torchrun --standalone --nproc-per-node N would do).
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace entropix::dist {

// Runs /proc/self/exe with `argv` (argv[0] first, no --nproc) as ranks 0..nproc-1: each gets
// RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT,
// and OMP_NUM_THREADS = cores / nproc unless it is set. SIGINT, SIGTERM and SIGUSR1 sent to this
// process are passed on to every rank (which run in their own process group, so a terminal's Ctrl-C
// reaches them once, through here); ranks get SIGTERM if this process dies.
// When a rank fails (an exit code other than 0, 3 or 4, or a signal), the others are given
// `timeout` plus 30 s to notice and exit on their own, then killed.
// Returns rank 0's exit code when every rank ended alike; otherwise prints one line per rank that
// ended differently and returns rank 0's code, or 1 if rank 0 succeeded.
// InputError when this process is itself a rank of a torchrun or Slurm launch.
int run_local_ranks(int nproc, const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// `args` without "--nproc N" / "--nproc=N": the command line each rank is given.
std::vector<std::string> without_nproc(const std::vector<std::string>& args);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_local_port();

}  // namespace entropix::dist
