#include "entropix/util/signals.h"

#include <unistd.h>

#include <csignal>

namespace entropix {
namespace {

volatile std::sig_atomic_t g_requested = 0;
const int kSignals[] = {SIGTERM, SIGINT, SIGUSR1};
struct sigaction g_previous[3];

void on_signal(int sig) {
  if (g_requested != 0) _exit(128 + sig);  // second signal: leave now (async-signal-safe)
  g_requested = sig;
}

}  // namespace

StopSignals::StopSignals() {
  g_requested = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

int StopSignals::requested() { return g_requested; }

}  // namespace entropix
