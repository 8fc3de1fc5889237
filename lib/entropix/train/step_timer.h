// The clocks of a training loop: the time inside optimizer steps since the last train record
// (ms/step, tokens/s), the steps and wall time of this process (the ETA), and the step time of this
// process (summary.json's tokens/s).
//
// The ETA counts only this process's steps and time: a run resumed at step 9000 of 10000 has no
// time of its own for the first 9000, and dividing the run's step by this process's time would
// make the ETA about 1000x too small.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>

namespace entropix {

class StepTimer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StepTimer(int64_t tokens_per_step) : tokens_per_step_(tokens_per_step) {}

  // Around one optimizer step (batches, forward, backward, update).
  void begin_step();
  void end_step();

  struct Window {
    double ms_per_step = 0;   // mean step time since the previous take_window()
    double tokens_per_s = 0;  // training tokens per second of step time over the same steps
  };
  // The window's figures; the next window starts here.
  Window take_window();

  // Seconds until `remaining_steps` more steps are done, at this process's pace so far: its wall
  // time from the start of its first step to now (evaluations, entropy records and checkpoints
  // included, as they will recur) per step it completed. Infinite before the first step ends.
  double eta_seconds(int64_t remaining_steps) const;
  double eta_seconds(int64_t remaining_steps, Clock::time_point now) const;

  // Tokens per second of step time over this process's steps (0 before any).
  double tokens_per_s() const;

 private:
  int64_t tokens_per_step_;
  std::optional<Clock::time_point> first_begin_;  // this process's first step
  Clock::time_point step_begin_;
  int64_t steps_ = 0;            // completed in this process
  double step_seconds_ = 0;      // inside them
  int64_t window_steps_ = 0;
  double window_seconds_ = 0;
};

}  // namespace entropix
