// Graceful stop on SIGTERM, SIGINT and SIGUSR1 (Slurm sends one of them before a time limit):
// the first signal asks the training loop to finish its step, checkpoint and exit with code 4;
// a second one exits at once (128 + signal number). Files are written atomically, so exiting at
// any point leaves nothing half-written that a reader would take for complete.
#pragma once

namespace entropix {

class StopSignals {
 public:
  // Installs the handlers; the previous ones are restored by the destructor.
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The signal that asked for a stop, or 0.
  static int requested();
};

}  // namespace entropix
