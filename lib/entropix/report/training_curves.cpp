#include "entropix/report/training_curves.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "entropix/report/grouping.h"

namespace entropix::report {

namespace {

using Field = double TrainPoint::*;

Curve train_curve(const RunLogs& run, Field field) {
  Curve c;
  for (const auto& p : run.train) c.push_back({static_cast<double>(p.step), p.*field});
  return c;
}

charts::LineChart chart(const std::string& id, const std::string& title, const std::string& y_label) {
  charts::LineChart c;
  c.id = id;
  c.title = title;
  c.x_label = "step";
  c.y_label = y_label;
  return c;
}

// The note for runs that have no points in a chart.
void note_missing(Section& s, const Report& r, bool (*has)(const RunLogs&), const std::string& what) {
  for (size_t i = 0; i < r.runs.size(); ++i)
    if (!has(r.runs[i])) s.notes.push_back(run_label(r.runs[i], i) + ": no " + what + " in metrics.jsonl");
}

bool any_points(const std::vector<charts::Series>& series) {
  for (const auto& s : series)
    if (!s.x.empty()) return true;
  return false;
}

// Train loss: each run's raw values (thin, with markers) under their EMA (thick, no markers); with
// groups, the group mean with its band, and the EMA of the mean.
charts::LineChart loss_chart(const Report& r) {
  auto c = chart("train-loss", "Train loss", "train loss (nats/token)");
  auto raw = overlay(r.runs, r.groups, [](const RunLogs& run) { return train_curve(run, &TrainPoint::loss); }, "nats");
  for (auto& s : raw) {
    charts::Series smooth{s.name + " (EMA " + charts::fixed(kEmaBeta, 1) + ")", s.colour, s.x, ema(s.y)};
    smooth.markers = false;
    smooth.width = 2.5;
    smooth.marker = s.marker;
    for (size_t k = 0; k < s.tips.size(); ++k) s.tips[k] += "; EMA " + charts::fixed(smooth.y[k], 4);
    s.name += r.groups.empty() ? " (raw)" : " (raw mean)";
    s.width = 1;
    s.opacity = 0.55;
    c.series.push_back(s);
    c.series.push_back(smooth);
  }
  return c;
}

}  // namespace

std::vector<double> ema(const std::vector<double>& values, double beta) {
  std::vector<double> out;
  double s = std::nan("");
  for (double x : values) {
    if (!std::isfinite(x)) {
      out.push_back(std::nan(""));
      continue;
    }
    s = std::isfinite(s) ? beta * s + (1 - beta) * x : x;
    out.push_back(s);
  }
  return out;
}

Section training_section(const Report& r) {
  Section s{"training", "Training curves",
            std::string("From the train records (one every log.every steps), runs overlaid") +
                (r.groups.empty() ? "" : ", or with --group-by " + r.group_by + " each group's mean with a band of ± one sample standard deviation over its runs (at the steps all of them logged)") +
                ". Train loss is drawn raw (thin) and smoothed (thick): an exponential moving average with beta " +
                charts::fixed(kEmaBeta, 1) + " over the logged values. Hover over a point for its values.",
            {},
            {}};
  note_missing(s, r, [](const RunLogs& run) { return !run.train.empty(); }, "train records");
  const auto loss = loss_chart(r);
  if (any_points(loss.series))
    s.figures.push_back({loss.id, "Train loss of each step's batch, raw and smoothed.", charts::line_chart(loss)});
  struct Scalar {
    const char *id, *title, *y_label, *unit, *caption;
    Field field;
  };
  const Scalar scalars[] = {
      {"lr", "Learning rate", "learning rate", "", "Learning rate used at each logged step.", &TrainPoint::lr},
      {"grad-norm", "Gradient norm", "grad norm (before clipping)", "", "Global L2 norm of the gradient before clipping.", &TrainPoint::grad_norm},
      {"tokens-per-s", "Throughput", "tokens / s", "tokens/s", "Training tokens per second since the previous train record.", &TrainPoint::tokens_per_s}};
  for (const auto& sc : scalars) {
    auto c = chart(sc.id, sc.title, sc.y_label);
    c.y_from_zero = std::string(sc.id) == "tokens-per-s";
    const Field field = sc.field;
    c.series = overlay(r.runs, r.groups, [field](const RunLogs& run) { return train_curve(run, field); }, sc.unit);
    if (any_points(c.series)) s.figures.push_back({c.id, sc.caption, charts::line_chart(c)});
  }
  return s;
}

Section val_loss_section(const Report& r) {
  Section s{"val-loss", "Validation loss",
            std::string("Validation loss (nats per token) at every evaluation, all runs") +
                (r.groups.empty() ? "." : "; per group the mean ± one sample standard deviation."),
            {},
            {}};
  note_missing(s, r, [](const RunLogs& run) { return !run.evals.empty(); }, "eval records");
  auto c = chart("val-loss", "Validation loss", "val loss (nats/token)");
  c.series = overlay(r.runs, r.groups, [](const RunLogs& run) {
    Curve out;
    for (const auto& e : run.evals) out.push_back({static_cast<double>(e.step), e.val_loss});
    return out;
  }, "nats");
  if (any_points(c.series)) s.figures.push_back({c.id, "Validation loss against training step.", charts::line_chart(c)});
  return s;
}

Section layer_entropy_section(const Report& r) {
  Section s{"layer-entropy", "Per-layer entropy during training",
            "One chart per layer: the layer's mean headwise entropy at every entropy record, runs overlaid" +
                std::string(r.groups.empty() ? "" : " (groups as mean ± std)") +
                ". Dashed lines: ln T, the regulariser's reference, and the uniform causal ceiling (1/T) sum ln i, the "
                "entropy of a uniform causal head, the most a head reaches; a layer pressed against the ceiling is "
                "overloaded, one falling towards 0 collapses.",
            {},
            {}};
  size_t layers = 0;
  std::set<std::pair<double, std::string>> refs;
  for (size_t i = 0; i < r.runs.size(); ++i) {
    for (const auto& p : r.runs[i].entropy) {
      layers = std::max(layers, p.layerwise.size());
      refs.insert({p.max_entropy, "ln T = " + charts::fixed(p.max_entropy, 3)});
      refs.insert({p.causal_ceiling, "uniform causal ceiling = " + charts::fixed(p.causal_ceiling, 3)});
    }
  }
  note_missing(s, r, [](const RunLogs& run) { return !run.entropy.empty(); }, "entropy records");
  for (size_t l = 0; l < layers; ++l) {
    auto c = chart("entropy-layer-" + std::to_string(l), "Layer " + std::to_string(l) + ": mean entropy", "entropy (nats)");
    c.y_from_zero = true;
    c.reference_lines.assign(refs.begin(), refs.end());
    c.series = overlay(r.runs, r.groups, [l](const RunLogs& run) {
      Curve out;
      for (const auto& p : run.entropy)
        out.push_back({static_cast<double>(p.step), l < p.layerwise.size() ? p.layerwise[l] : std::nan("")});
      return out;
    }, "nats");
    s.figures.push_back({c.id, "Mean headwise entropy of layer " + std::to_string(l) + " against the step.", charts::line_chart(c)});
  }
  return s;
}

}  // namespace entropix::report
