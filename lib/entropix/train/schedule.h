// Learning-rate schedule: linear warm-up, then linear / cosine decay or constant.
#pragma once
#include <cstdint>

#include "entropix/spec/spec.h"

namespace entropix {

// Learning rate for optimizer step `step` (0-based, 0 <= step < train.steps).
// Warm-up: lr * (step + 1) / warmup. Decay: from lr at step = warmup to lr * min_lr_ratio at the
// last step.
double learning_rate(const TrainSpec& train, int64_t step);

}  // namespace entropix
