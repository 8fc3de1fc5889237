// The "Learned parameters" section: per-head parameters as heatmaps, per-layer ones as lines.
#include <algorithm>
#include <cmath>
#include <limits>

#include "entropix/entropy/attention_entropy.h"
#include "entropix/report/charts.h"
#include "entropix/report/learned.h"
#include "entropix/report/report_parts.h"

namespace entropix::report {

namespace {

// Narrowest colour scale of a learned-parameter heatmap: ten steps of its 0.01 annotations.
constexpr double kMinLearnedSpan = 0.1;

// Mean of the finite numbers anywhere in a JSON tree (NaN if there are none).
double tree_mean(const nlohmann::json& v) {
  double sum = 0;
  int64_t n = 0;
  auto walk = [&](const nlohmann::json& x, auto& self) -> void {
    if (x.is_number()) {
      const double d = x.get<double>();
      if (std::isfinite(d)) sum += d, ++n;
    } else if (x.is_array()) {
      for (const auto& y : x) self(y, self);
    }
  };
  walk(v, walk);
  return n ? sum / static_cast<double>(n) : kNaN;
}

// A learned parameter as logged: one entry per layer, each a number (a per-layer scalar) or an
// array (per head; deeper arrays, e.g. per head and query position, are averaged per head).
struct LearnedValues {
  bool per_head = false;
  bool averaged = false;                     // some per-head entries were arrays, drawn as their mean
  std::vector<std::vector<double>> matrix;   // per_head: [L][H]
  std::vector<double> per_layer;             // !per_head: [L]
};

LearnedValues learned_values(const nlohmann::json& value) {
  LearnedValues out;
  if (!value.is_array()) return out;
  for (const auto& layer : value) out.per_head = out.per_head || layer.is_array();
  for (const auto& layer : value) {
    if (!out.per_head) {
      out.per_layer.push_back(layer.is_number() ? layer.get<double>() : kNaN);
      continue;
    }
    std::vector<double> row;
    if (layer.is_array()) {
      for (const auto& head : layer) {
        out.averaged = out.averaged || head.is_array();
        row.push_back(tree_mean(head));
      }
    } else if (layer.is_number()) {
      row.push_back(layer.get<double>());
    }
    out.matrix.push_back(row);
  }
  return out;
}

}  // namespace

Section learned_section(const Report& r) {
  Section s{"learned", "Learned parameters",
            "Parameters the model learns, as logged in the entropy record drawn for each run. Per-head parameters "
            "are heatmaps (one colour scale per parameter across runs); per-layer parameters are one line per run.",
            {},
            {}};
  // What the components (and the regulariser) declare they log, in registry order.
  std::vector<LearnedValueInfo> present;
  for (const auto& v : learned_value_catalog()) {
    bool any = false;
    for (const auto* e : r.shown) any = any || (e && e->learned.contains(v.name));
    if (any) present.push_back(v);
  }
  for (const auto& info : present) {
    const std::string& name = info.name;
    const std::string description = info.meaning + " " + info.shape;
    std::vector<LearnedValues> values(r.runs.size());
    bool per_head = false;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < r.runs.size(); ++i) {
      if (!r.shown[i] || !r.shown[i]->learned.contains(name)) continue;
      values[i] = learned_values(r.shown[i]->learned[name]);
      per_head = per_head || values[i].per_head;
      lo = std::min(lo, min_finite(values[i].matrix));
      hi = std::max(hi, max_finite(values[i].matrix));
    }
    if (per_head) {
      // A scale at least kMinLearnedSpan wide: differences finer than the two-decimal annotations
      // (e.g. thresholds that moved by 1e-8) must not stretch over the whole colour range.
      if (!std::isfinite(lo)) lo = 0, hi = 0;
      if (hi - lo < kMinLearnedSpan) {
        const double mid = (lo + hi) / 2;
        lo = mid - kMinLearnedSpan / 2;
        hi = mid + kMinLearnedSpan / 2;
      }
      for (size_t i = 0; i < r.runs.size(); ++i) {
        if (!values[i].per_head) continue;
        charts::Heatmap h;
        h.id = "learned-" + name + "-" + std::to_string(i + 1);
        h.title = run_label(r, i) + ": " + name + ", " + step_text(*r.shown[i]);
        h.values = values[i].matrix;
        size_t heads = 0;
        for (const auto& row : h.values) heads = std::max(heads, row.size());
        h.row_labels = labels("L", h.values.size());
        h.col_labels = labels("h", heads);
        h.lo = lo;
        h.hi = hi;
        h.scale_label = name;
        s.figures.push_back({h.id,
                             description + " of " + run_label(r, i) +
                                 (values[i].averaged ? " (mean over query positions)" : "") + ".",
                             charts::heatmap(h)});
      }
    } else {
      charts::LineChart c;
      c.id = "learned-" + name;
      c.title = name + " per layer";
      c.x_label = "layer";
      c.y_label = name;
      c.integer_x = true;
      for (size_t i = 0; i < r.runs.size(); ++i) {
        if (!r.shown[i] || !r.shown[i]->learned.contains(name)) continue;
        charts::Series series{run_label(r, i) + " (step " + std::to_string(r.shown[i]->step) + ")",
                              colormap::categorical(static_cast<int>(i)), {}, {}};
        for (size_t l = 0; l < values[i].per_layer.size(); ++l) {
          series.x.push_back(static_cast<double>(l));
          series.y.push_back(values[i].per_layer[l]);
        }
        c.series.push_back(series);
      }
      s.figures.push_back({c.id, description + ".", charts::line_chart(c)});
    }
  }
  return s;
}

}  // namespace entropix::report
