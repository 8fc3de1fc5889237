#include "entropix/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace entropix {

double learning_rate(const TrainSpec& t, int64_t step) {
  if (step < t.warmup) return t.lr * static_cast<double>(step + 1) / static_cast<double>(t.warmup);
  const int64_t decay_steps = t.steps - t.warmup - 1;
  if (t.schedule == "constant" || decay_steps <= 0) return t.lr;
  const double progress = std::clamp(static_cast<double>(step - t.warmup) / decay_steps, 0.0, 1.0);
  const double min_lr = t.lr * t.min_lr_ratio;
  if (t.schedule == "cosine") return min_lr + 0.5 * (t.lr - min_lr) * (1.0 + std::cos(M_PI * progress));
  return t.lr - (t.lr - min_lr) * progress;  // linear
}

}  // namespace entropix
