#include "entropix/util/signals.h"

#include <unistd.h>

#include <csignal>

namespace entropix {
namespace {

volatile std::sig_atomic_t g_requested = 0;
volatile std::sig_atomic_t g_count = 0;
volatile std::sig_atomic_t g_quit = 0;
volatile std::sig_atomic_t g_quit_exits = 1;
const int kSignals[] = {SIGTERM, SIGINT, SIGUSR1, SIGQUIT};
constexpr int kHandled = sizeof(kSignals) / sizeof(kSignals[0]);
struct sigaction g_previous[kHandled];

// Only async-signal-safe calls here: write(2) and _exit(2).
void on_signal(int sig) {
  if (sig == SIGQUIT) {
    if (g_quit_exits) {
      static const char msg[] = "entropix: SIGQUIT: leaving at once, without a checkpoint\n";
      (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
      _exit(128 + SIGQUIT);
    }
    g_quit = 1;
    return;
  }
  g_count = g_count + 1;
  if (g_requested != 0) return;  // repeats (Slurm's TERM burst, a forwarded copy) change nothing
  g_requested = sig;
  static const char msg[] =
      "entropix: stop requested: finishing the current step and checkpointing it (exit 4); "
      "SIGQUIT (Ctrl-\\) leaves at once without a checkpoint\n";
  (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
}

}  // namespace

StopSignals::StopSignals(QuitAction quit) {
  g_requested = 0;
  g_count = 0;
  g_quit = 0;
  g_quit_exits = quit == QuitAction::exit_now ? 1 : 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  // Every handled signal is blocked while the handler runs, so two arriving together cannot
  // interleave their updates.
  for (int s : kSignals) sigaddset(&action.sa_mask, s);
  action.sa_flags = SA_RESTART;  // a slow write or read resumes instead of failing with EINTR
  for (int i = 0; i < kHandled; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

StopSignals::~StopSignals() {
  // After a stop request the process is on its way to exit 4: the rest of a signal burst (Slurm's
  // TERM to the group, the script's forwarded copy) may still be arriving, and the default action
  // would kill it with 128 + sig. Ignore the stop signals from here on instead of restoring them.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  for (int i = 0; i < kHandled; ++i) {
    const bool stop_signal = kSignals[i] != SIGQUIT;
    sigaction(kSignals[i], g_requested != 0 && stop_signal ? &ignore : &g_previous[i], nullptr);
  }
}

int StopSignals::requested() { return g_requested; }
int StopSignals::count() { return g_count; }
bool StopSignals::leave_now() { return g_quit != 0; }

}  // namespace entropix
