#include "entropix/sweep/sweep_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "entropix/metrics/run_status.h"
#include "entropix/train/checkpoint.h"
#include "entropix/util/cpu_load.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/signals.h"

namespace entropix {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string run_state(const fs::path& run_dir) {
  std::error_code ec;
  if (!fs::exists(run_dir / "spec.yaml", ec) && !fs::exists(run_dir / "metrics.jsonl", ec)) return "new";
  return to_string(read_run_status(run_dir));
}

namespace {

struct Child {
  pid_t pid;
  size_t index;  // into plan.runs
  Clock::time_point started;
  int forwarded = 0;  // the signal passed on to it, once
};

// The child's argv: entropix run SPEC --set ... --out DIR --resume auto --quiet [--device D].
std::vector<std::string> run_arguments(const SweepPlan& plan, const SweepRun& run, const SweepOptions& options) {
  std::vector<std::string> args = {options.entropix_bin.string(), "run", plan.spec_file.string()};
  for (const auto& s : plan.common_sets) args.insert(args.end(), {"--set", s});
  for (const auto& [k, v] : run.overrides) args.insert(args.end(), {"--set", k + "=" + v});
  args.insert(args.end(), {"--set", "name=" + run.name, "--out", run.dir.string(), "--resume", "auto", "--quiet"});
  if (!options.device.empty()) args.insert(args.end(), {"--device", options.device});
  return args;
}

pid_t launch(const std::vector<std::string>& args, const fs::path& log, int threads) {
  fs::create_directories(log.parent_path());
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("cannot start a run: fork failed");
  if (pid == 0) {
    // Its own process group: a Ctrl-C in the terminal reaches only the sweep, which forwards
    // exactly one SIGTERM, so the run checkpoints instead of taking a second signal.
    setpgid(0, 0);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    if (!std::getenv("OMP_NUM_THREADS")) setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "cannot execute %s\n", argv[0]);
    _exit(127);
  }
  return pid;
}

std::string outcome_line(const fs::path& run_dir) {
  const std::string no_summary = "no summary (see " + (run_dir / "console.log").string() + ")";
  const RunStatus status = read_run_status(run_dir);
  if (status == RunStatus::unfinished) return no_summary;
  try {
    const auto s = nlohmann::json::parse(read_file(run_dir / "summary.json"));
    std::string line = to_string(status);
    if (s["final_val_loss"].is_number()) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), ", val loss %.4f (ppl %.2f)", s["final_val_loss"].get<double>(),
                    s["final_val_ppl"].get<double>());
      line += buf;
    }
    if (s.contains("message") && status != RunStatus::completed) line += ": " + s["message"].get<std::string>();
    return line;
  } catch (...) {
    return no_summary;
  }
}

}  // namespace

SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& opts) {
  SweepOptions options = opts;
  if (options.entropix_bin.empty()) options.entropix_bin = fs::read_symlink("/proc/self/exe");
  options.jobs = std::max(1, options.jobs);
  const int threads = std::max(1, available_cpus() / options.jobs);
  const size_t n = plan.runs.size();
  auto say = [&](size_t i, const std::string& what) {
    if (!options.quiet) std::cout << "[" << (i + 1) << "/" << n << "] " << plan.runs[i].name << ": " << what << std::endl;
  };

  SweepOutcome outcome;
  std::vector<size_t> todo;
  for (size_t i = 0; i < n; ++i) {
    const RunStatus status = read_run_status(plan.runs[i].dir);
    if (status == RunStatus::completed || status == RunStatus::diverged) {
      say(i, to_string(status) + " already; skipped");
      outcome.skipped.push_back(plan.runs[i].name);
      if (status == RunStatus::diverged) outcome.diverged.push_back(plan.runs[i].name);
    } else {
      todo.push_back(i);
    }
  }

  // TERM, INT, USR1: stop launching, pass one SIGTERM to each running child (which finishes its
  // step, checkpoints and exits 4), wait for them. QUIT: pass SIGQUIT on (they leave at once).
  StopSignals signals(QuitAction::record);
  std::vector<Child> running;
  size_t next = 0;
  for (;;) {
    const bool stop = StopSignals::requested() != 0 || StopSignals::leave_now();
    const int forward = StopSignals::leave_now() ? SIGQUIT : SIGTERM;
    // Every child gets the stop once (a child launched just before it arrived too); one that
    // was sent TERM still gets a later QUIT.
    for (auto& c : running)
      if (stop && c.forwarded != forward && c.forwarded != SIGQUIT) {
        kill(c.pid, forward);
        c.forwarded = forward;
      }
    if (running.empty() && (stop || next >= todo.size())) break;
    while (!stop && next < todo.size() && static_cast<int>(running.size()) < options.jobs) {
      const size_t i = todo[next++];
      const SweepRun& run = plan.runs[i];
      const std::string state = run_state(run.dir);
      say(i, state == "new" ? "starting" : "resuming (" + state + ")");
      try {
        running.push_back({launch(run_arguments(plan, run, options), run.dir / "console.log", threads), i, Clock::now()});
      } catch (const std::exception& e) {
        // E.g. a file where the run directory should be: this run fails, the others go on.
        say(i, std::string("failed to start: ") + e.what());
        outcome.failed.push_back(run.name);
      }
    }
    bool reaped = false;
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      if (waitpid(it->pid, &status, WNOHANG) != it->pid) {
        ++it;
        continue;
      }
      reaped = true;
      const SweepRun& run = plan.runs[it->index];
      const double seconds = std::chrono::duration<double>(Clock::now() - it->started).count();
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      char took[48];
      std::snprintf(took, sizeof(took), " (%.1f s)", seconds);
      say(it->index, outcome_line(run.dir) + took);
      // A child stopped by the signal passed on before its handlers were installed (or by QUIT)
      // wrote no checkpoint this time; the next sweep resumes it from its last one, as any
      // interrupted run.
      const bool stopped_by_us = it->forwarded != 0 && code == 128 + it->forwarded;
      if (code == kExitDiverged) outcome.diverged.push_back(run.name);
      else if (code == kExitInterrupted || stopped_by_us) outcome.interrupted.push_back(run.name);
      else if (code != kExitOk) outcome.failed.push_back(run.name);
      it = running.erase(it);
    }
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (; next < todo.size(); ++next) outcome.not_started.push_back(plan.runs[todo[next]].name);
  if (StopSignals::leave_now()) outcome.exit_code = 128 + SIGQUIT;
  else if (StopSignals::requested() || !outcome.interrupted.empty()) outcome.exit_code = kExitInterrupted;
  else if (!outcome.failed.empty()) outcome.exit_code = kExitFailure;
  return outcome;
}

}  // namespace entropix
