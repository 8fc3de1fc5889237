#include "entropix/report/findings.h"

#include <algorithm>
#include <cmath>

#include "entropix/report/charts.h"

namespace entropix::report {

namespace {

std::string layer_list(const std::vector<size_t>& layers) {
  std::string out = layers.size() == 1 ? "layer " : "layers ";
  for (size_t i = 0; i < layers.size(); ++i) out += (i ? ", " : "") + std::to_string(layers[i]);
  return out;
}

std::string flag(const std::string& what, const std::vector<size_t>& layers) {
  return layers.empty() ? "no " + what : what + " in " + layer_list(layers);
}

}  // namespace

Findings find_findings(const RunLogs& run, size_t index, const EntropyPoint* shown) {
  Findings f;
  if (shown) {
    const double m = shown->causal_ceiling;
    for (size_t l = 0; l < shown->headwise.size(); ++l) {
      size_t finite = 0, low = 0, high = 0;
      for (double v : shown->headwise[l]) {
        if (!std::isfinite(v)) continue;
        ++finite;
        low += v < m / 4;
        high += v >= 3 * m / 4;
      }
      if (finite == 0) continue;
      if (static_cast<double>(low) >= kLayerShare * static_cast<double>(finite)) f.collapse_layers.push_back(l);
      if (static_cast<double>(high) >= kLayerShare * static_cast<double>(finite)) f.overload_layers.push_back(l);
    }
  }
  std::vector<bool> nan;
  for (const auto& p : run.entropy) {
    const size_t layers = std::max(p.headwise.size(), p.nan_counts.size());
    if (nan.size() < layers) nan.resize(layers, false);
    for (size_t l = 0; l < layers; ++l) {
      bool bad = l < p.nan_counts.size() && (p.nan_counts[l] != 0 || !std::isfinite(p.nan_counts[l]));
      if (l < p.headwise.size())
        for (double v : p.headwise[l]) bad = bad || !std::isfinite(v);
      if (bad && f.first_nan_step < 0) f.first_nan_step = p.step;
      if (bad) nan[l] = true;
    }
  }
  for (size_t l = 0; l < nan.size(); ++l)
    if (nan[l]) f.nan_layers.push_back(l);

  f.text = run_label(run, index);
  if (shown) {
    f.text += ", step " + std::to_string(shown->step) + (shown->split.empty() ? "" : " (" + shown->split + " batch)") +
              ": " + flag("entropy collapse", f.collapse_layers) + "; " + flag("entropic overload", f.overload_layers);
  } else {
    f.text += ": no entropy records, so no collapse or overload to judge";
  }
  f.text += "; " + flag("non-finite attention", f.nan_layers);
  if (f.first_nan_step >= 0) f.text += " (from step " + std::to_string(f.first_nan_step) + ")";
  if (run.status == RunStatus::diverged) f.text += "; the run diverged";
  f.text += ".";
  return f;
}

std::string findings_intro(const std::vector<const EntropyPoint*>& shown) {
  std::string example;
  for (const auto* e : shown)
    if (e) {
      const double m = e->causal_ceiling;
      example = " (for the first run: m = " + charts::fixed(m, 3) + " nats, m/4 = " + charts::fixed(m / 4, 3) +
                ", 3m/4 = " + charts::fixed(3 * m / 4, 3) + ")";
      break;
    }
  return "At the entropy record drawn for each run, with m the uniform causal ceiling (1/T) sum ln i of that record" +
         example + ": a layer shows entropy collapse when at least " + charts::fixed(100 * kLayerShare, 0) +
         "% of its heads (with a finite entropy) are below m/4, and entropic overload when at least " +
         charts::fixed(100 * kLayerShare, 0) +
         "% are at or above 3m/4 (the bottom and top bins of docs/entropy.md on the causal scale). A layer has "
         "non-finite attention when any entropy record of the run has a non-zero nan_counts entry or a null head "
         "for it.";
}

}  // namespace entropix::report
