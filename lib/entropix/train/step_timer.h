// The clocks of a training loop: the time inside optimizer steps since the last train record
// (ms/step, tokens/s) and the step time of this process (summary.json's tokens/s).
#pragma once
#include <chrono>
#include <cstdint>

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

  // Tokens per second of step time over this process's steps (0 before any).
  double tokens_per_s() const;

 private:
  int64_t tokens_per_step_;
  Clock::time_point step_begin_;
  int64_t steps_ = 0;            // completed in this process
  double step_seconds_ = 0;      // inside them
  int64_t window_steps_ = 0;
  double window_seconds_ = 0;
};

}  // namespace entropix
