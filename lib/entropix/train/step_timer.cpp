#include "entropix/train/step_timer.h"

#include <limits>

namespace entropix {

void StepTimer::begin_step() {
  step_begin_ = Clock::now();
  if (!first_begin_) first_begin_ = step_begin_;
}

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

double StepTimer::eta_seconds(int64_t remaining_steps) const { return eta_seconds(remaining_steps, Clock::now()); }

double StepTimer::eta_seconds(int64_t remaining_steps, Clock::time_point now) const {
  if (steps_ == 0 || !first_begin_) return std::numeric_limits<double>::infinity();
  const double wall = std::chrono::duration<double>(now - *first_begin_).count();
  return static_cast<double>(remaining_steps) * wall / static_cast<double>(steps_);
}

double StepTimer::tokens_per_s() const {
  return step_seconds_ > 0 ? static_cast<double>(tokens_per_step_ * steps_) / step_seconds_ : 0.0;
}

}  // namespace entropix
