// The report's curves over training, runs overlaid (or, with --group-by, groups as mean +/- std):
// train loss raw and smoothed, learning rate, gradient norm, throughput, validation loss, and each
// layer's mean entropy with ln T and the uniform causal ceiling drawn as reference lines.
#pragma once
#include <vector>

#include "entropix/report/report.h"

namespace entropix::report {

// Smoothing of the train loss: s_1 = x_1, s_k = kEmaBeta s_(k-1) + (1 - kEmaBeta) x_k over the
// logged train records; a non-finite x_k leaves a gap and does not change s.
inline constexpr double kEmaBeta = 0.9;
std::vector<double> ema(const std::vector<double>& values, double beta = kEmaBeta);

Section training_section(const Report& r);        // train-loss, lr, grad-norm, tokens-per-s
Section val_loss_section(const Report& r);        // val-loss
Section layer_entropy_section(const Report& r);   // entropy-layer-L, one per layer

}  // namespace entropix::report
