#include "entropix/train/step_timer.h"

namespace entropix {

void StepTimer::begin_step() { step_begin_ = Clock::now(); }

void StepTimer::end_step() {
  const double seconds = std::chrono::duration<double>(Clock::now() - step_begin_).count();
  ++steps_;
  step_seconds_ += seconds;
  ++window_steps_;
  window_seconds_ += seconds;
}

StepTimer::Window StepTimer::take_window() {
  Window w;
  if (window_steps_ > 0) {
    w.ms_per_step = 1000.0 * window_seconds_ / static_cast<double>(window_steps_);
    w.tokens_per_s = static_cast<double>(tokens_per_step_ * window_steps_) / window_seconds_;
  }
  window_steps_ = 0;
  window_seconds_ = 0;
  return w;
}

double StepTimer::tokens_per_s() const {
  return step_seconds_ > 0 ? static_cast<double>(tokens_per_step_ * steps_) / step_seconds_ : 0.0;
}

}  // namespace entropix
