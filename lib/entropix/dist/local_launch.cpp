#include "entropix/dist/local_launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>  // also environ

#include <algorithm>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "entropix/dist/launch_env.h"
#include "entropix/util/cpu_load.h"
#include "entropix/util/error.h"

namespace entropix::dist {
namespace {

using Clock = std::chrono::steady_clock;

// SIGQUIT too: the ranks' "leave now" (docs/reliability.md, "Preemption and signals").
const int kForwarded[] = {SIGINT, SIGTERM, SIGUSR1, SIGQUIT};
constexpr int kNumForwarded = 4;
volatile std::sig_atomic_t g_received[kNumForwarded] = {0, 0, 0, 0};

void count_signal(int sig) {
  for (int i = 0; i < kNumForwarded; ++i)
    if (kForwarded[i] == sig) g_received[i] = g_received[i] + 1;
}

// Installs count_signal for the forwarded signals; restores the previous handlers when destroyed.
class ForwardedSignals {
 public:
  ForwardedSignals() {
    for (int i = 0; i < kNumForwarded; ++i) g_received[i] = 0;
    struct sigaction action {};
    action.sa_handler = count_signal;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < kNumForwarded; ++i) sigaction(kForwarded[i], &action, &previous_[i]);
  }
  ~ForwardedSignals() {
    for (int i = 0; i < kNumForwarded; ++i) sigaction(kForwarded[i], &previous_[i], nullptr);
  }
  // Sends every signal received since the last call to each pid, once per receipt.
  void forward(const std::vector<pid_t>& pids) {
    for (int i = 0; i < kNumForwarded; ++i)
      for (; sent_[i] < g_received[i]; ++sent_[i])
        for (pid_t pid : pids) ::kill(pid, kForwarded[i]);
  }

 private:
  struct sigaction previous_[kNumForwarded];
  int sent_[kNumForwarded] = {0, 0, 0};
};

// This process's environment with the rank's variables in place of any inherited ones.
std::vector<std::string> rank_environment(int rank, int nproc, int port) {
  static const std::set<std::string> replaced = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                                                 "MASTER_ADDR", "MASTER_PORT"};
  std::vector<std::string> env;
  bool threads_set = false;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (replaced.count(name)) continue;
    if (name == "OMP_NUM_THREADS") threads_set = true;
    env.push_back(entry);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(nproc));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back("MASTER_PORT=" + std::to_string(port));
  // N ranks each using every core would oversubscribe the machine (torchrun sets 1 here).
  if (!threads_set) env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1, available_cpus() / nproc)));
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks and execs one rank. Between fork and exec only async-signal-safe calls.
pid_t start_rank(std::vector<std::string> argv, std::vector<std::string> env) {
  std::vector<char*> argv_c = c_strings(argv), env_c = c_strings(env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("--nproc: cannot start a rank: fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);                       // out of the terminal's group: signals come through the launcher
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);    // the launcher died: stop as a signal would
    if (::getppid() != parent) ::_exit(1); // ... even if it died before prctl
    ::execve("/proc/self/exe", argv_c.data(), env_c.data());
    const char msg[] = "error: --nproc: cannot execute /proc/self/exe\n";
    (void)!::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  return pid;
}

struct Rank {
  pid_t pid = -1;
  bool running = true;
  int code = 0;         // exit code, or 128 + signal
  std::string outcome;  // "exited with code N" or "was killed by signal N"
};

void record_exit(Rank& r, int status) {
  r.running = false;
  if (WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
    r.outcome = "exited with code " + std::to_string(r.code);
  } else {
    const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    r.code = 128 + sig;
    r.outcome = "was killed by signal " + std::to_string(sig);
  }
}

// Exit codes every rank reaches together (docs/cli.md): success, diverged, interrupted.
bool agreed_outcome(int code) { return code == kExitOk || code == kExitDiverged || code == kExitInterrupted; }

}  // namespace

std::vector<std::string> without_nproc(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("--nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error(std::string("--nproc: cannot find a free port: ") + std::strerror(errno));
  return ntohs(addr.sin_port);
}

int run_local_ranks(int nproc, const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  const LaunchEnv outer = read_launch_env();
  if (outer.distributed())
    throw InputError("--nproc: this process is already rank " + std::to_string(outer.rank) + " of " +
                     std::to_string(outer.world_size) + " of a " + outer.launcher +
                     " launch; drop --nproc (the launcher starts the ranks)");
  const int port = free_local_port();
  ForwardedSignals signals;
  std::vector<Rank> ranks(nproc);
  for (int r = 0; r < nproc; ++r) ranks[r].pid = start_rank(argv, rank_environment(r, nproc, port));

  std::optional<Clock::time_point> kill_at;  // set when a rank fails
  int running = nproc;
  while (running > 0) {
    std::vector<pid_t> live;
    for (const auto& r : ranks)
      if (r.running) live.push_back(r.pid);
    signals.forward(live);
    for (auto& r : ranks) {
      int status = 0;
      if (!r.running || ::waitpid(r.pid, &status, WNOHANG) != r.pid) continue;
      record_exit(r, status);
      --running;
      if (!agreed_outcome(r.code) && !kill_at) kill_at = Clock::now() + timeout + std::chrono::seconds(30);
    }
    if (kill_at && Clock::now() >= *kill_at) {
      for (auto& r : ranks)
        if (r.running) ::kill(r.pid, SIGKILL);
      for (auto& r : ranks) {
        int status = 0;
        if (r.running && ::waitpid(r.pid, &status, 0) == r.pid) record_exit(r, status), --running;
      }
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  bool alike = true;
  for (int r = 1; r < nproc; ++r)
    if (ranks[r].code != ranks[0].code) {
      alike = false;
      std::cerr << "error: rank " << r << " " << ranks[r].outcome << " (rank 0 " << ranks[0].outcome << ")\n";
    }
  if (alike) return ranks[0].code;
  return ranks[0].code != 0 ? ranks[0].code : kExitFailure;
}

}  // namespace entropix::dist
