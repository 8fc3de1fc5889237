// Stop requests by signal (docs/reliability.md, "Preemption and signals").
//
// SIGTERM, SIGINT and SIGUSR1 ask for a clean stop: the training loop finishes its step,
// checkpoints it, writes summary.json (status interrupted) and exits with code 4. Any number of
// them, in any mix and at any spacing, means the same thing: Slurm sends USR1 early, then TERM to
// every process of the job while the batch script forwards it too, and all of that must end in
// one clean stop, not an abrupt exit.
//
// Leaving at once is a separate, deliberate request: SIGQUIT (Ctrl-\ in a terminal). With
// QuitAction::exit_now (training) the handler exits immediately with 128 + SIGQUIT = 131,
// writing nothing more (no checkpoint, no summary; the run dir keeps only whole files, and a
// temporary file cut short is removed on the next resume). With QuitAction::record (the sweep,
// which must pass it on to its children) it is only recorded.
#pragma once

namespace entropix {

enum class QuitAction { exit_now, record };

class StopSignals {
 public:
  // Installs the handlers; the destructor restores the previous ones (after a stop request it ignores
  // TERM/INT/USR1 instead, so the rest of a burst cannot kill a process on its way to exit 4). The first stop
  // signal also prints one line on stderr saying what happens next and how to leave at once.
  explicit StopSignals(QuitAction quit = QuitAction::exit_now);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The first signal that asked for a clean stop, or 0.
  static int requested();
  // How many stop signals (TERM, INT, USR1) arrived.
  static int count();
  // Whether SIGQUIT arrived (only ever true with QuitAction::record).
  static bool leave_now();
};

}  // namespace entropix
